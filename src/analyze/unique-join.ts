/**
 * The exact join between guest and host: the guest probe forwards `fuse_request_send` tracepoint lines (guest task,
 * trace clock, FUSE `unique`), and virtiofsd logs every request with the same `unique`. Pure: a sink that remembers the
 * host side of the wanted uniques during the one pass over the log, and a function that pairs them with the guest side.
 *
 * Each pair is a clock anchor (the same request seen by both clocks): host stamp ± its resolution, guest trace time
 * ± the transit from the guest's send to virtiofsd's log line. Their intersection fixes the guest→host offset to a few
 * milliseconds even with whole-second Rust stamps, and it says which guest task sent each request (the host's `pid`
 * is the FUSE header's, 0 for requests the kernel makes itself).
 */

import type { DaemonCode, VirtiofsdSink } from '../parse/virtiofsd.js';
import type { ClockAnchor } from './clock.js';
import type { FuseSend } from './probe-facts.js';

export interface UniqueHit {
  unique: number;
  /** Host time of the request line, ms since the epoch. */
  hostMs: number;
  /** `pid` of the FUSE header in virtiofsd's log (-1 when the line has none). */
  hostPid: number;
  opcode: number;
}

/** Remembers the first request of each wanted unique (a FUSE session numbers its requests once; INIT restarts). */
export class UniqueWatch implements VirtiofsdSink {
  private readonly found = new Map<number, UniqueHit>();

  constructor(
    private readonly wanted: ReadonlySet<number>,
    /** Upper bound of hits kept (the probe forwards ≤ 16 sends per second). */
    private readonly max = 200_000,
  ) {}

  request(
    ts: number,
    _line: number,
    opcode: number,
    _node: number,
    unique: number,
    pid: number,
    _d: DaemonCode,
  ): void {
    if (unique < 0 || !this.wanted.has(unique) || this.found.has(unique) || this.found.size >= this.max)
      return;
    this.found.set(unique, { unique, hostMs: ts, hostPid: pid, opcode });
  }
  reply(): void {}
  entry(): void {}

  get hits(): ReadonlyMap<number, UniqueHit> {
    return this.found;
  }
}

export interface UniqueJoin {
  /** fuse_request_send lines the probe forwarded (distinct uniques). */
  guestSends: number;
  /** Of those, found in the virtiofsd log with the same unique and opcode. */
  matched: number;
  /** Found with the same unique but another opcode (a different FUSE session, not joined). */
  opcodeMismatch: number;
  /** Matched requests whose FUSE header pid equals the sending guest task. */
  samePid: number;
  /** Host-side pid → guest tasks that sent the requests logged under it (when they differ). */
  pidRemap: { hostPid: number; guestTid: number; guestComm: string; requests: number }[];
  /** Clock anchors, one per matched request. */
  anchors: ClockAnchor[];
}

/** Guest-side send → host-side request: at most this long under TCG (virtqueue kick, daemon thread wakeup, logging). */
export const TRANSIT_UNCERTAINTY_S = 0.05;

export function joinUniques(
  sends: Iterable<FuseSend>,
  hits: ReadonlyMap<number, UniqueHit>,
  opts: {
    hostResolutionMs: number /** The probe's trace clock: `boot` is exactly the uptime clock. */;
    traceClock?: string;
  },
): UniqueJoin {
  // other trace clocks (`local` = sched_clock) count from a slightly different start than /proc/uptime
  const uptimeUnc = opts.traceClock === 'boot' ? 0.000_001 : 0.5;
  let guestSends = 0;
  let matched = 0;
  let opcodeMismatch = 0;
  let samePid = 0;
  const anchors: ClockAnchor[] = [];
  const remap = new Map<string, { hostPid: number; guestTid: number; guestComm: string; requests: number }>();
  const res = Math.max(opts.hostResolutionMs, 0.001);
  for (const s of sends) {
    guestSends++;
    const h = hits.get(s.unique);
    if (!h) continue;
    if (h.opcode !== s.opcode) {
      opcodeMismatch++;
      continue;
    }
    matched++;
    if (h.hostPid === s.tid) samePid++;
    else {
      const k = `${h.hostPid}:${s.tid}`;
      const r = remap.get(k) ?? { hostPid: h.hostPid, guestTid: s.tid, guestComm: s.comm, requests: 0 };
      r.requests++;
      remap.set(k, r);
    }
    // the host logs after the guest sent: host ∈ [send, send + transit]; its stamp is truncated to `res`
    anchors.push({
      label: 'FUSE unique',
      hostMs: h.hostMs + res / 2 - (TRANSIT_UNCERTAINTY_S * 1000) / 2,
      hostUncertaintyMs: res / 2 + (TRANSIT_UNCERTAINTY_S * 1000) / 2,
      uptimeS: s.ts,
      uptimeUncertaintyS: uptimeUnc,
    });
  }
  const pidRemap = [...remap.values()].sort((a, b) => b.requests - a.requests).slice(0, 20);
  return { guestSends, matched, opcodeMismatch, samePid, pidRemap, anchors };
}
