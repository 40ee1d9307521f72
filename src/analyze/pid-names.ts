/**
 * Incremental PID → process-name map, fed from journal records (`_PID`, `_COMM`, `SYSLOG_IDENTIFIER`,
 * `_SYSTEMD_UNIT`) and `name[pid]:` console lines, used to label the `pid=` of virtiofsd requests.
 *
 * - A PID can change name over time (exec: pid 1 is busybox `init` in the initramfs, then `systemd`; or reuse), so
 *   each PID keeps a list of (name, first seen, last seen) entries; {@link PidNames.nameAt} picks the entry active at
 *   a given host time.
 * - `_COMM` is truncated to 15 characters (`systemd-journal`): when `SYSLOG_IDENTIFIER` or the unit name is a
 *   longer form of the same prefix (`systemd-journald`, `systemd-journald.service`) that longer form is used.
 * - virtiofsd logs the FUSE request's pid, which is the guest TASK id (a thread id for multi-threaded programs);
 *   the journal only knows process ids. An id never seen is unknown: `nameAt` returns undefined, it never guesses
 *   from nearby ids.
 */

import type { GuestLine } from '../parse/guest-events.js';

/** Linux TASK_COMM_LEN - 1. */
export const COMM_MAX = 15;

export interface PidNameEntry {
  pid: number;
  name: string;
  /** Host time (ms since epoch) of the first and last observation; undefined when observed without a time. */
  firstMs?: number;
  lastMs?: number;
  /** Number of observations merged into this entry. */
  count: number;
}

export interface PidObservation {
  pid: number;
  comm?: string;
  /** SYSLOG_IDENTIFIER, or the `name` of a console `name[pid]:` line. */
  ident?: string;
  /** `_SYSTEMD_UNIT` of the process. */
  unit?: string;
  hostTime?: number;
  uptime?: number;
}

export interface PidNamesOptions {
  /** Converts guest uptime (s) to host time (ms) for observations that only have an uptime (console lines). */
  uptimeToHostMs?: (uptimeS: number) => number;
}

function unitBase(unit: string): string {
  return unit.replace(/\.(service|scope|socket|mount|timer|slice)$/, '');
}

/** True if `a` and `b` name the same program, allowing for `_COMM` truncation. */
function sameProgram(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length === COMM_MAX && b.startsWith(a)) return true;
  if (b.length === COMM_MAX && a.startsWith(b)) return true;
  return false;
}

/** Pick the best name from one observation. */
export function resolveName(o: Pick<PidObservation, 'comm' | 'ident' | 'unit'>): string | undefined {
  const { comm, ident, unit } = o;
  if (comm) {
    if (comm.length === COMM_MAX) {
      if (ident && ident.length > COMM_MAX && ident.startsWith(comm)) return ident;
      if (unit) {
        const base = unitBase(unit);
        if (base.length > COMM_MAX && base.startsWith(comm)) return base;
      }
    }
    return comm;
  }
  return ident || undefined;
}

export class PidNames {
  private readonly byPid = new Map<number, PidNameEntry[]>();
  private readonly toHost?: (uptimeS: number) => number;

  constructor(opts: PidNamesOptions = {}) {
    this.toHost = opts.uptimeToHostMs;
  }

  /** Record one observation. Observations may arrive out of time order (journal first, then console). */
  observe(o: PidObservation): void {
    // PID 0 is the kernel (FUSE INIT/FORGET/DESTROY); console lines like `IOAPIC[0]: ...` are not processes.
    if (!Number.isInteger(o.pid) || o.pid <= 0) return;
    const name = resolveName(o);
    if (!name) return;
    let t = o.hostTime;
    if (t === undefined && o.uptime !== undefined && this.toHost) t = this.toHost(o.uptime);
    let list = this.byPid.get(o.pid);
    if (!list) {
      list = [];
      this.byPid.set(o.pid, list);
    }
    const e = list.length ? this.activeEntry(list, t) : undefined;
    if (e && sameProgram(e.name, name)) {
      if (name.length > e.name.length) e.name = name;
      e.count++;
      if (t !== undefined) {
        e.firstMs = e.firstMs === undefined ? t : Math.min(e.firstMs, t);
        e.lastMs = e.lastMs === undefined ? t : Math.max(e.lastMs, t);
      }
      return;
    }
    const ne: PidNameEntry = { pid: o.pid, name, count: 1 };
    if (t !== undefined) {
      ne.firstMs = t;
      ne.lastMs = t;
    }
    list.push(ne);
    list.sort((a, b) => (a.firstMs ?? Number.NEGATIVE_INFINITY) - (b.firstMs ?? Number.NEGATIVE_INFINITY));
  }

  /** Observe a guest event: journal records with a pid, console `name[pid]:` lines. */
  observeLine(ev: GuestLine): void {
    if (ev.pid === undefined) return;
    if (ev.source === 'journal') {
      this.observe({
        pid: ev.pid,
        comm: ev.comm,
        ident: ev.ident,
        unit: ev.unit,
        hostTime: ev.hostTime,
        uptime: ev.uptime,
      });
    } else if (ev.comm) {
      // Console `name[pid]:` prints the syslog identifier (untruncated).
      this.observe({ pid: ev.pid, ident: ev.comm, hostTime: ev.hostTime, uptime: ev.uptime });
    }
  }

  private activeEntry(list: PidNameEntry[], t: number | undefined): PidNameEntry {
    if (t === undefined) return list[list.length - 1];
    let best: PidNameEntry | undefined;
    for (const e of list) if ((e.firstMs ?? Number.NEGATIVE_INFINITY) <= t) best = e;
    // Before the first sighting: the first known holder (the process usually exists before it first logs).
    return best ?? list[0];
  }

  /**
   * Name of `pid` at host time `hostTimeMs` (ms since epoch), or the most recent name without a time.
   * pid 0 is the kernel (FUSE requests the kernel makes itself: INIT, FORGET, DESTROY). Unknown → undefined.
   */
  nameAt(pid: number, hostTimeMs?: number): string | undefined {
    const list = this.byPid.get(pid);
    if (!list || list.length === 0) return pid === 0 ? 'kernel' : undefined;
    return this.activeEntry(list, hostTimeMs).name;
  }

  /** `"1180 (systemd-journald)"`, or `"1180"` when unknown. */
  label(pid: number, hostTimeMs?: number): string {
    const n = this.nameAt(pid, hostTimeMs);
    return n === undefined ? String(pid) : `${pid} (${n})`;
  }

  /** All entries of one PID (time order), or of all PIDs (by PID, then time). */
  entries(pid?: number): PidNameEntry[] {
    if (pid !== undefined) return [...(this.byPid.get(pid) ?? [])];
    return [...this.byPid.keys()].sort((a, b) => a - b).flatMap((p) => this.byPid.get(p) ?? []);
  }

  get size(): number {
    return this.byPid.size;
  }
}
