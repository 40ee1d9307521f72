/**
 * Guest-uptime ↔ host-UTC clock: `hostMs = uptimeS * 1000 + offsetMs`.
 *
 * Methods, in order of preference ({@link chooseClock}):
 * - `manual`: the user knows the offset.
 * - `host-stamped`: lines carrying both a host stamp and a guest uptime (the lab's stamped console) measure the
 *   offset directly (plus serial/reader latency, tens of ms).
 * - `journal`: every journal record has `__REALTIME_TIMESTAMP` and `__MONOTONIC_TIMESTAMP`; their difference is the
 *   guest's own wall-clock offset. Median over records, spread as uncertainty, plus the RTC term: the guest wall
 *   clock starts from QEMU's RTC read at one-second resolution, so it may differ from host UTC by up to ~1 s
 *   unless NTP synced (a step would show up in the spread).
 * - `anchors`: pairs (host time of a virtiofsd event, guest uptime of the matching guest line), typically FUSE
 *   INIT: virtiofsd logs it (Rust: whole seconds, C ≥ 6.1: µs), and the guest sends it during the virtiofs mount.
 *   See {@link guestMountWindow} and {@link fuseInitAnchor}.
 */

import type { GuestLine } from '../parse/guest-events.js';

export type ClockMethod = 'manual' | 'fuse-unique' | 'host-stamped' | 'journal' | 'anchors';

export interface ClockEstimate {
  /** hostMs = uptimeS * 1000 + offsetMs. */
  offsetMs: number;
  /** Half-width of the plausible range, ms. */
  uncertaintyMs: number;
  method: ClockMethod;
  /** Number of samples/anchors used. */
  samples: number;
  detail?: string;
}

export function uptimeToHostMs(clock: Pick<ClockEstimate, 'offsetMs'>, uptimeS: number): number {
  return uptimeS * 1000 + clock.offsetMs;
}

export function hostMsToUptime(clock: Pick<ClockEstimate, 'offsetMs'>, hostMs: number): number {
  return (hostMs - clock.offsetMs) / 1000;
}

export function manualClock(offsetMs: number, uncertaintyMs = 0): ClockEstimate {
  return { offsetMs, uncertaintyMs, method: 'manual', samples: 0, detail: 'given by the user' };
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Collects `hostTime - uptime*1000` samples from events that have both, per journal boot. Holds one number per
 * event, not the events.
 */
export class OffsetSampler {
  private readonly byKey = new Map<string, number[]>();
  private lastKey?: string;

  constructor(private readonly method: 'journal' | 'host-stamped') {}

  add(ev: Pick<GuestLine, 'hostTime' | 'uptime' | 'bootId'>): void {
    if (ev.hostTime === undefined || ev.uptime === undefined) return;
    const key = ev.bootId ?? '';
    let arr = this.byKey.get(key);
    if (!arr) {
      arr = [];
      this.byKey.set(key, arr);
    }
    arr.push(ev.hostTime - ev.uptime * 1000);
    this.lastKey = key;
  }

  get boots(): string[] {
    return [...this.byKey.keys()];
  }

  /**
   * Estimate for one boot (default: the last one seen). `extraUncertaintyMs` is added to the spread (journal: the
   * RTC term, default 1000 ms; host-stamped: 0).
   */
  estimate(opts: { bootId?: string; extraUncertaintyMs?: number } = {}): ClockEstimate | undefined {
    const key = opts.bootId ?? this.lastKey;
    if (key === undefined) return undefined;
    const xs = this.byKey.get(key);
    if (!xs || xs.length === 0) return undefined;
    const s = [...xs].sort((a, b) => a - b);
    const med = quantile(s, 0.5);
    const extra = opts.extraUncertaintyMs ?? (this.method === 'journal' ? 1000 : 0);
    // Robust spread: 10th–90th percentile half-width (a wall-clock step shows up here).
    const spread = (quantile(s, 0.9) - quantile(s, 0.1)) / 2;
    return {
      offsetMs: med,
      uncertaintyMs: spread + extra,
      method: this.method,
      samples: s.length,
      detail: `median of ${s.length} ${this.method === 'journal' ? 'realtime-monotonic' : 'host-uptime'} samples${
        key ? ` (boot ${key.slice(0, 8)})` : ''
      }, range ${(s[s.length - 1] - s[0]).toFixed(0)} ms`,
    };
  }
}

/** Median of realtime−monotonic over journal events (last boot unless `bootId`). */
export function estimateFromJournal(
  lines: Iterable<GuestLine>,
  opts: { bootId?: string; rtcUncertaintyMs?: number } = {},
): ClockEstimate | undefined {
  const s = new OffsetSampler('journal');
  for (const ev of lines) if (ev.source === 'journal') s.add(ev);
  return s.estimate({ bootId: opts.bootId, extraUncertaintyMs: opts.rtcUncertaintyMs });
}

/** Median of host stamp − uptime over host-stamped console/debug-port events. */
export function estimateFromHostStamped(lines: Iterable<GuestLine>): ClockEstimate | undefined {
  const s = new OffsetSampler('host-stamped');
  for (const ev of lines) if (ev.source !== 'journal') s.add(ev);
  return s.estimate();
}

export interface ClockAnchor {
  label: string;
  /** Host time of the event, ms since epoch (best estimate, e.g. the middle of a whole-second stamp). */
  hostMs: number;
  hostUncertaintyMs: number;
  /** Guest uptime of the same event, seconds. */
  uptimeS: number;
  uptimeUncertaintyS: number;
}

/**
 * Combine anchors: each gives the interval offset ∈ [host − uptime ± (hostUnc + uptimeUnc)]. The intersection is
 * used when non-empty; otherwise (inconsistent anchors) the median with the larger of the spread and the widest
 * single uncertainty.
 */
export function estimateFromAnchors(anchors: ClockAnchor[]): ClockEstimate | undefined {
  const valid = anchors.filter(
    (a) =>
      Number.isFinite(a.hostMs) &&
      Number.isFinite(a.uptimeS) &&
      a.hostUncertaintyMs >= 0 &&
      a.uptimeUncertaintyS >= 0,
  );
  if (valid.length === 0) return undefined;
  const iv = valid.map((a) => {
    const o = a.hostMs - a.uptimeS * 1000;
    const u = a.hostUncertaintyMs + a.uptimeUncertaintyS * 1000;
    return { lo: o - u, hi: o + u, o, u };
  });
  const lo = Math.max(...iv.map((x) => x.lo));
  const hi = Math.min(...iv.map((x) => x.hi));
  const labels = valid.map((a) => a.label).join(', ');
  if (lo <= hi) {
    return {
      offsetMs: (lo + hi) / 2,
      uncertaintyMs: (hi - lo) / 2,
      method: 'anchors',
      samples: valid.length,
      detail: labels,
    };
  }
  const os = iv.map((x) => x.o).sort((a, b) => a - b);
  return {
    offsetMs: quantile(os, 0.5),
    uncertaintyMs: Math.max((os[os.length - 1] - os[0]) / 2, ...iv.map((x) => x.u)),
    method: 'anchors',
    samples: valid.length,
    detail: `${labels} (inconsistent anchors)`,
  };
}

export interface GuestMountWindow {
  /** Best guess of the guest uptime at which FUSE INIT was sent. */
  uptimeS: number;
  uptimeUncertaintyS: number;
  /** Latest lower-bound line (fuse module init / virtiofs probe) before the mount, if seen. */
  lower?: { uptimeS: number; line: number; text: string };
  /** First `virtiofs-mounted` line, if seen. */
  mounted?: { uptimeS: number; line: number; text: string };
}

/** Uncertainty when only a lower bound (fuse/virtiofs probe) is known: the mount may come ~1 s later (6.12). */
const LOWER_ONLY_UNCERTAINTY_S = 1.5;
/** Lab `[guest U]` stamps are centiseconds; allow a little for the asynchronous INIT. */
const MOUNTED_MIN_UNCERTAINTY_S = 0.05;

/**
 * Where in guest uptime the (first) FUSE INIT was sent, from the anchor lines of the console/journal.
 * The kernel queues INIT asynchronously inside mount(2), so it reaches virtiofsd right around the guest's
 * "mounted" line (C walk fixture: INIT 15–25 ms after `[guest 1.79] mounted virtiofs`). Lower bounds
 * (`fuse: init`, `virtiofs virtio0:`) only say the driver exists: with fuse built in (6.12) they come ~1 s earlier.
 * Result: uptime = the mounted line, uncertainty = distance to the lower bound (capped at 1 s); or, without a
 * mounted line, the lower bound + half of {@link LOWER_ONLY_UNCERTAINTY_S}.
 */
export function guestMountWindow(lines: Iterable<GuestLine>): GuestMountWindow | undefined {
  let lower: GuestMountWindow['lower'];
  let mounted: GuestMountWindow['mounted'];
  for (const ev of lines) {
    if (!ev.anchor || ev.uptime === undefined) continue;
    const rec = { uptimeS: ev.uptime, line: ev.line, text: ev.text };
    if (ev.anchor === 'virtiofs-mounted') {
      if (!mounted) mounted = rec;
    } else if (!mounted || ev.uptime <= mounted.uptimeS) {
      if (!lower || ev.uptime >= lower.uptimeS) lower = rec;
    }
  }
  if (mounted) {
    const gap = lower && lower.uptimeS <= mounted.uptimeS ? mounted.uptimeS - lower.uptimeS : 1;
    const w: GuestMountWindow = {
      uptimeS: mounted.uptimeS,
      uptimeUncertaintyS: Math.max(MOUNTED_MIN_UNCERTAINTY_S, Math.min(gap, 1)),
      mounted,
    };
    if (lower) w.lower = lower;
    return w;
  }
  if (lower) {
    return {
      uptimeS: lower.uptimeS + LOWER_ONLY_UNCERTAINTY_S / 2,
      uptimeUncertaintyS: LOWER_ONLY_UNCERTAINTY_S / 2,
      lower,
    };
  }
  return undefined;
}

/**
 * Anchor from the virtiofsd log's FUSE INIT time and the guest mount window. `hostResolutionMs`: 1000 for Rust
 * virtiofsd (whole seconds, truncated: the event is in [t, t+1 s)), 0.001 for C ≥ 6.1 (µs), 10 for C 6.0.
 */
export function fuseInitAnchor(
  initHostMs: number,
  hostResolutionMs: number,
  guest: GuestMountWindow,
): ClockAnchor {
  return {
    label: 'FUSE INIT',
    hostMs: initHostMs + hostResolutionMs / 2,
    hostUncertaintyMs: hostResolutionMs / 2,
    uptimeS: guest.uptimeS,
    uptimeUncertaintyS: guest.uptimeUncertaintyS,
  };
}

/**
 * Pick the best available estimate: manual, the FUSE unique join (the same requests seen by both clocks), host-stamped,
 * journal, anchors.
 */
export function chooseClock(c: {
  manual?: ClockEstimate;
  fuseUnique?: ClockEstimate;
  hostStamped?: ClockEstimate;
  journal?: ClockEstimate;
  anchors?: ClockEstimate;
}): ClockEstimate | undefined {
  return c.manual ?? c.fuseUnique ?? c.hostStamped ?? c.journal ?? c.anchors;
}
