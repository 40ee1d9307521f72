/**
 * Everything the guest side contributes, gathered in one streaming pass over guest events (console, debug port,
 * journal): PID names, progress beacons, clock samples and anchors, and a bounded list of milestones. Pure.
 */
import type { GuestLine, GuestSource } from '../parse/guest-events.js';
import { ProbeParser, type ProbeRecord } from '../parse/probe.js';
import type { Verdict } from '../verdict/types.js';
import {
  type ClockAnchor,
  type ClockEstimate,
  chooseClock,
  estimateFromAnchors,
  fuseInitAnchor,
  guestMountWindow,
  manualClock,
  OffsetSampler,
  uptimeToHostMs,
} from './clock.js';
import { PidNames } from './pid-names.js';
import { ProbeFacts, type ProbeOverhead } from './probe-facts.js';
import { ProgressClock as Clock, type ProgressClock, type ProgressPoint } from './progress.js';
import { joinUniques, type UniqueHit, type UniqueJoin } from './unique-join.js';

export interface GuestSessionOptions {
  /** Milestones kept for timelines and reports (the newest win once full). */
  maxMilestones?: number;
  goalPatterns?: RegExp[];
  /** Units whose start/target counts as the goal (default: multi-user/graphical/default.target). */
  goalUnits?: string[];
}

export interface Milestone {
  /** Host time, ms since the epoch, once the clock is known. */
  time: number | null;
  uptime: number | null;
  text: string;
  kind: string;
  isProgress: boolean;
  source: GuestSource;
  line: number;
}

export interface GuestInputSummary {
  file: string;
  source: GuestSource;
  events: number;
  stats: unknown;
}

export interface HostClockFacts {
  /** Host time of the first FUSE INIT request (ms), when the virtiofsd log has one. */
  initTs: number | null;
  /** Host timestamp resolution in ms (Rust 1000, C 0.001). */
  resolutionMs: number;
}

export interface GuestResult {
  inputs: GuestInputSummary[];
  /** The guest probe's records, when any guest input carried them (probe/vfs-probe.sh). */
  probe: {
    records: number;
    truncated: number;
    fuseTracepoints: string | null;
    overhead: ProbeOverhead | null;
    /** The join of the probe's fuse_request_send lines with virtiofsd's log by FUSE unique (tracepoints on). */
    fuseJoin: Omit<UniqueJoin, 'anchors'> | null;
  } | null;
  clock: ClockEstimate | null;
  /** Latest known name per PID (thread ids of virtiofsd's `pid=` that are not journal PIDs stay unnamed). */
  pidNames: Record<string, string>;
  progress: {
    events: number;
    progressCount: number;
    last: Milestone | null;
    goalReached: Milestone | null;
    waitingNow: { subject: string; kind: string; count: number; maxWaitedS?: number }[];
    failures: Milestone[];
  };
  milestones: Milestone[];
}

export class GuestSession {
  readonly pidNames = new PidNames();
  readonly progress: ProgressClock;
  private readonly journalSampler = new OffsetSampler('journal');
  private readonly stampedSampler = new OffsetSampler('host-stamped');
  private readonly anchors: GuestLine[] = [];
  private readonly milestones: GuestLine[] = [];
  /** The latest guest line of any kind (so a consumer knows guest output existed and when it last spoke). */
  private lastLine: GuestLine | undefined;
  private readonly max: number;
  readonly inputs: GuestInputSummary[] = [];
  readonly probe = new ProbeFacts();
  private fuseJoin: UniqueJoin | undefined;
  readonly probeParser = new ProbeParser();

  constructor(opts: GuestSessionOptions = {}) {
    this.max = opts.maxMilestones ?? 5000;
    this.progress = new Clock({ goalPatterns: opts.goalPatterns, goalUnits: opts.goalUnits });
  }

  feed(ev: GuestLine): void {
    if (ev.text.includes('"vfsprobe":')) {
      const rec: ProbeRecord | null = this.probeParser.push(ev.text, ev.line);
      if (rec) this.probe.feed(rec, ev.hostTime);
      return; // probe records are data, not guest messages
    }
    if (ev.hostTime !== undefined || ev.uptime !== undefined) {
      const prev = this.lastLine;
      if (!prev || (ev.hostTime ?? 0) >= (prev.hostTime ?? 0)) this.lastLine = ev;
    }
    this.pidNames.observeLine(ev);
    this.progress.feed(ev);
    if (ev.hostTime !== undefined && ev.uptime !== undefined) {
      if (ev.source === 'journal') this.journalSampler.add(ev);
      else this.stampedSampler.add(ev);
    }
    if (ev.anchor && this.anchors.length < 64) this.anchors.push(ev);
    if (ev.progress) {
      this.milestones.push(ev);
      if (this.milestones.length > this.max * 2) this.milestones.splice(0, this.milestones.length - this.max);
    }
  }

  addInput(summary: GuestInputSummary): void {
    this.inputs.push(summary);
  }

  /** PID names for the verdict and tables: the probe first (it sees every task), then journal and console. */
  nameAt(pid: number, hostMs?: number): string | undefined {
    return this.probe.nameAt(pid, hostMs) ?? this.pidNames.nameAt(pid, hostMs);
  }

  /**
   * Add what the guest probe saw of each culprit and loop episode to the verdict: "state R, 99% CPU, in syscall
   * newfstatat (262)".
   */
  annotate(v: Verdict): Verdict {
    const w = { fromMs: v.window?.start, toMs: v.window?.end };
    for (const c of v.culprits) {
      const d = this.probe.describe(c.pid, w);
      if (d && !c.detail?.includes(d)) c.detail = c.detail ? `${c.detail}; ${d}` : d;
      c.name ??= this.nameAt(c.pid, v.onset ?? undefined);
    }
    for (const e of v.episodes ?? []) {
      const d = this.probe.describe(e.pid, { fromMs: e.start, toMs: e.end });
      if (d) e.detail = d;
      e.name ??= this.nameAt(e.pid, e.start);
    }
    return v;
  }

  /** Uniques of the probe's fuse_request_send lines: what to look for in virtiofsd's log. */
  fuseUniques(): Set<number> {
    return this.probe.fuseUniques();
  }

  /** Join the probe's fuse sends with virtiofsd's requests (from a UniqueWatch over the log). */
  joinFuse(hits: ReadonlyMap<number, UniqueHit>, hostResolutionMs: number): UniqueJoin {
    this.fuseJoin = joinUniques(this.probe.fuseSendsFirst(), hits, {
      hostResolutionMs,
      traceClock: this.probe.traceClock,
    });
    return this.fuseJoin;
  }

  /**
   * Best clock estimate: manual override, the FUSE unique join (the same requests on both clocks), host-stamped lines,
   * journal realtime/monotonic, then the FUSE INIT anchor. A unique join whose anchors disagree (no common offset)
   * ranks with the INIT anchor instead, the tighter of the two winning.
   */
  clock(host: HostClockFacts | null, manualOffsetMs?: number): ClockEstimate | undefined {
    const manual = manualOffsetMs === undefined ? undefined : manualClock(manualOffsetMs);
    let fuseUnique: ClockEstimate | undefined;
    let fuseFallback: ClockEstimate | undefined;
    const j = this.fuseJoin;
    if (j && j.anchors.length > 0) {
      const e = estimateFromAnchors(j.anchors);
      const inconsistent = e?.detail?.includes('inconsistent') ?? false;
      if (e) {
        const est: ClockEstimate = {
          ...e,
          method: 'fuse-unique',
          detail: `${j.matched} requests joined by FUSE unique${inconsistent ? ', inconsistent' : ''}`,
        };
        if (inconsistent) fuseFallback = est;
        else fuseUnique = est;
      }
    }
    let anchors: ClockEstimate | undefined;
    const window = guestMountWindow(this.anchors);
    if (host?.initTs !== null && host?.initTs !== undefined && window) {
      const a: ClockAnchor = fuseInitAnchor(host.initTs, host.resolutionMs, window);
      anchors = estimateFromAnchors([a]);
    }
    if (fuseFallback && (!anchors || fuseFallback.uncertaintyMs < anchors.uncertaintyMs))
      anchors = fuseFallback;
    return chooseClock({
      manual,
      fuseUnique,
      hostStamped: this.stampedSampler.estimate(),
      journal: this.journalSampler.estimate({ extraUncertaintyMs: 1000 }),
      anchors,
    });
  }

  /** Guest milestones (and the last guest line) with host times (from the clock for uptime-only lines). */
  timedLines(clock: ClockEstimate | undefined): GuestLine[] {
    const out: GuestLine[] = [];
    const lines =
      this.lastLine && !this.lastLine.progress ? [...this.milestones, this.lastLine] : this.milestones;
    for (const ev of lines) {
      if (ev.hostTime !== undefined) out.push(ev);
      else if (ev.uptime !== undefined && clock)
        out.push({ ...ev, hostTime: uptimeToHostMs(clock, ev.uptime) });
    }
    return out;
  }

  result(clock: ClockEstimate | undefined): GuestResult {
    const toMs = (ev: { hostTime?: number; uptime?: number }): number | null => {
      if (ev.hostTime !== undefined) return ev.hostTime;
      if (ev.uptime !== undefined && clock) return uptimeToHostMs(clock, ev.uptime);
      return null;
    };
    const fromLine = (ev: GuestLine): Milestone => ({
      time: toMs(ev),
      uptime: ev.uptime ?? null,
      text: ev.text,
      kind: ev.progress?.kind ?? 'line',
      isProgress: ev.progress?.isProgress ?? false,
      source: ev.source,
      line: ev.line,
    });
    const fromPoint = (p: ProgressPoint | undefined): Milestone | null =>
      p
        ? {
            time: toMs(p),
            uptime: p.uptime ?? null,
            text: p.text,
            kind: p.kind,
            isProgress: true,
            source: p.source,
            line: p.line,
          }
        : null;
    const s = this.progress.summary();
    // One name per PID for whole-log tables: the most observed holder (PID 1 is "systemd", not the
    // systemd-shutdown it execs at the very end); per-time names stay available from pidNames.nameAt().
    const names: Record<string, string> = {};
    for (const pid of this.probe.taskIds) {
      const n = this.probe.nameAt(pid);
      if (n !== undefined) names[String(pid)] = n;
    }
    const best = new Map<number, { name: string; count: number }>();
    for (const e of this.pidNames.entries()) {
      const b = best.get(e.pid);
      if (!b || e.count > b.count) best.set(e.pid, { name: e.name, count: e.count });
    }
    // The probe saw every task; the journal and console name only processes that log.
    for (const [pid, b] of best) names[String(pid)] ??= b.name;
    names['0'] ??= 'kernel'; // FUSE requests the kernel makes itself (INIT, FORGET, RELEASE, DESTROY)
    const ms = dedupeMilestones(this.milestones.slice(-this.max).map((ev) => ({ ev, m: fromLine(ev) })));
    const ps = this.probeParser.stats;
    return {
      inputs: this.inputs,
      probe:
        ps.records + ps.truncated > 0
          ? {
              records: ps.records,
              truncated: ps.truncated,
              fuseTracepoints: this.probe.fuseStatus ?? null,
              overhead: this.probe.overhead() ?? null,
              fuseJoin: this.fuseJoin
                ? {
                    guestSends: this.fuseJoin.guestSends,
                    matched: this.fuseJoin.matched,
                    opcodeMismatch: this.fuseJoin.opcodeMismatch,
                    samePid: this.fuseJoin.samePid,
                    pidRemap: this.fuseJoin.pidRemap,
                  }
                : null,
            }
          : null,
      clock: clock ?? null,
      pidNames: names,
      progress: {
        events: s.events,
        progressCount: s.progressCount,
        last: fromPoint(s.lastProgress),
        goalReached: fromPoint(s.goalReached),
        waitingNow: s.waitingNow.map((h) => ({
          subject: h.subject,
          kind: h.kind,
          count: h.count,
          ...(h.maxWaitedS !== undefined ? { maxWaitedS: h.maxWaitedS } : {}),
        })),
        failures: s.failures.map((p) => fromPoint(p)!),
      },
      milestones: ms,
    };
  }
}

/** Same systemd subject, allowing for the status line's `…` cut (`system-modpr…lice - Slice /system/modprobe.`). */
function sameSubject(a: string, b: string): boolean {
  const x = a.replace(/\.$/, '');
  const y = b.replace(/\.$/, '');
  if (x === y) return true;
  for (const [cut, full] of [
    [x, y],
    [y, x],
  ]) {
    const i = cut.indexOf('…');
    if (i < 0) continue;
    const pre = cut.slice(0, i);
    // After the `…` of a cut unit name an ANSI remnant may remain (`modprobe@configfs…m - Load …`): compare from
    // the description on.
    const rest = cut.slice(i + 1);
    const dash = rest.indexOf(' - ');
    const post = dash >= 0 && dash <= 4 ? rest.slice(dash) : rest;
    if (full.length >= pre.length + post.length && full.startsWith(pre) && full.endsWith(post)) return true;
  }
  return false;
}

/** Two sources printing the same milestone this close together are one milestone. */
const SAME_MILESTONE_MS = 3000;

/**
 * One milestone per unit transition: the console mirrors PID 1's messages (`systemd[1]: Started X - D.` on kmsg and
 * the `[  OK  ] Started X…` status line) and the journal carries them again. Keep the most complete text (no `…`,
 * then the longest) of each group of the same kind and subject within {@link SAME_MILESTONE_MS}; sorted by time.
 */
export function dedupeMilestones(items: { ev: GuestLine; m: Milestone }[]): Milestone[] {
  items.sort((a, b) => (a.m.time ?? 0) - (b.m.time ?? 0) || a.m.line - b.m.line);
  const kept: { ev: GuestLine; m: Milestone }[] = [];
  const score = (x: { ev: GuestLine; m: Milestone }) =>
    (x.ev.progress?.subject.includes('…') ? 0 : 1_000_000) + x.m.text.length;
  for (const it of items) {
    const subj = it.ev.progress?.subject;
    let dup = -1;
    if (subj !== undefined && it.m.time !== null) {
      for (let k = kept.length - 1; k >= 0; k--) {
        const o = kept[k];
        if (o.m.time === null || it.m.time - o.m.time > SAME_MILESTONE_MS) break;
        if (o.m.kind === it.m.kind && o.ev.progress && sameSubject(o.ev.progress.subject, subj)) {
          dup = k;
          break;
        }
      }
    }
    if (dup < 0) kept.push(it);
    else if (score(it) > score(kept[dup])) kept[dup] = it;
  }
  return kept.map((x) => x.m).sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || a.line - b.line);
}
