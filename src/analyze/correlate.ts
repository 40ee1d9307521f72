/**
 * Host meets guest: one timeline of virtiofsd traffic and guest milestones, PID names, and the one sentence that
 * says whether (and since when) the guest stopped progressing while the host kept serving. Pure.
 */
import { groupDigits } from './group-digits.js';
import type { GuestResult, Milestone } from './guest-session.js';
import type { TimelineBucket } from './postmortem.js';
import { type InputAnalysis, stepMs } from './virtiofsd-analysis.js';

export interface TimelineRow {
  /** Start of the row, ms since the epoch. */
  t: number;
  seconds: number;
  requests: number;
  perSec: number;
  errors: number;
  topOpcode: string | null;
  topPid: number | null;
  topPidLabel: string | null;
  /** Guest milestones in this row (all counted; the first few kept). */
  guestCount: number;
  guest: { text: string; kind: string; isProgress: boolean }[];
}

export interface Correlation {
  lastProgress: Milestone | null;
  /** Host traffic after the guest's last progress (null when the guest kept progressing to the end). */
  afterLastProgress: {
    seconds: number;
    requests: number;
    meanPerSec: number;
    topPid: number | null;
    topPidLabel: string | null;
    /** Share of those requests from the top PID: a lower bound (summed from each second's top PID). */
    topPidShareAtLeast: number;
  } | null;
  summary: string;
  timeline: { rowSec: number; rows: TimelineRow[] };
}

/** `"1180 (systemd-journald)"`, or `"1180"` when unnamed; PID 0 is the kernel. */
export function labelPid(pid: number, names?: Record<string, string>): string {
  const n = names?.[String(pid)] ?? (pid === 0 ? 'kernel' : undefined);
  return n === undefined ? String(pid) : `${pid} (${n})`;
}

export function pidLabeler(guest: GuestResult | null): (pid: number) => string {
  return (pid: number) => labelPid(pid, guest?.pidNames);
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export function correlate(a: InputAnalysis, guest: GuestResult, maxRows = 40): Correlation {
  const label = pidLabeler(guest);
  const buckets = a.timeline.buckets;
  const bucketMs = a.timeline.bucketSec * 1000;
  const last = guest.progress.last;
  const hostEnd = a.time.last;
  let after: Correlation['afterLastProgress'] = null;
  if (last?.time !== null && last?.time !== undefined && hostEnd !== null && hostEnd - last.time >= 2000) {
    let requests = 0;
    const byPid = new Map<number, number>();
    for (const b of buckets) {
      if (b.t + bucketMs <= last.time) continue;
      // The bucket holding the progress line counts only its part after it (proportionally).
      const frac = b.t >= last.time ? 1 : (b.t + bucketMs - last.time) / bucketMs;
      requests += b.requests * frac;
      if (b.topPid !== null) byPid.set(b.topPid, (byPid.get(b.topPid) ?? 0) + b.topPidRequests * frac);
    }
    let topPid: number | null = null;
    let topN = 0;
    for (const [pid, n] of byPid) {
      if (n > topN) {
        topPid = pid;
        topN = n;
      }
    }
    const seconds = Math.max(0.001, (hostEnd - last.time + stepMs(a.clock.resolution)) / 1000);
    after = {
      seconds,
      requests: Math.round(requests),
      meanPerSec: requests / seconds,
      topPid,
      topPidLabel: topPid === null ? null : label(topPid),
      topPidShareAtLeast: requests > 0 ? topN / requests : 0,
    };
  }
  return {
    lastProgress: last,
    afterLastProgress: after,
    summary: sentence(a, guest, after),
    timeline: merge(buckets, a.timeline.bucketSec, guest.milestones, label, maxRows),
  };
}

function sentence(a: InputAnalysis, guest: GuestResult, after: Correlation['afterLastProgress']): string {
  const last = guest.progress.last;
  const goal = guest.progress.goalReached;
  if (!last) {
    return guest.progress.events > 0
      ? 'no guest progress line found (no unit started, no target reached)'
      : 'no guest events found';
  }
  const at = last.time === null ? `uptime ${last.uptime?.toFixed(1) ?? '?'} s` : hhmmss(last.time);
  if (after && after.requests > 0) {
    const share =
      after.topPid !== null && after.topPidShareAtLeast > 0
        ? `, ≥${Math.floor(after.topPidShareAtLeast * 100)}% from PID ${after.topPidLabel}`
        : '';
    return `guest last progressed at ${at} (${last.text}); host kept serving ${groupDigits(Math.round(after.meanPerSec))} req/s for ${Math.round(after.seconds)} s after it${share}`;
  }
  if (goal) {
    const gt = goal.time === null ? '' : ` at ${hhmmss(goal.time)}`;
    return `guest reached its goal${gt} (${goal.text}); last progress at ${at} (${last.text})`;
  }
  const hostEnd = a.time.last;
  if (after && after.requests === 0 && hostEnd !== null) {
    return `guest last progressed at ${at} (${last.text}); host traffic stopped too (nothing served after it)`;
  }
  return `guest was still progressing at the end of the logs (last: ${at}, ${last.text})`;
}

function merge(
  buckets: TimelineBucket[],
  bucketSec: number,
  milestones: Milestone[],
  label: (pid: number) => string,
  maxRows: number,
): { rowSec: number; rows: TimelineRow[] } {
  const times: number[] = [];
  if (buckets.length > 0) times.push(buckets[0].t, buckets[buckets.length - 1].t + bucketSec * 1000);
  for (const m of milestones) if (m.time !== null) times.push(m.time);
  if (times.length === 0) return { rowSec: bucketSec, rows: [] };
  const lo = Math.floor(Math.min(...times) / 1000) * 1000;
  const hi = Math.max(...times);
  const spanSec = Math.max(1, Math.ceil((hi - lo) / 1000));
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  const rowSec = steps.find((s) => s >= bucketSec && spanSec / s <= maxRows) ?? Math.ceil(spanSec / maxRows);
  const n = Math.max(1, Math.ceil(spanSec / rowSec));
  const rows = Array.from({ length: n }, (_, i) => ({
    t: lo + i * rowSec * 1000,
    requests: 0,
    errors: 0,
    ops: new Map<string, number>(),
    pids: new Map<number, number>(),
    guest: [] as Milestone[],
    guestCount: 0,
  }));
  const idx = (t: number) => Math.min(n - 1, Math.max(0, Math.floor((t - lo) / (rowSec * 1000))));
  for (const b of buckets) {
    const r = rows[idx(b.t)];
    r.requests += b.requests;
    r.errors += b.errors;
    for (const [op, c] of Object.entries(b.opcodes)) r.ops.set(op, (r.ops.get(op) ?? 0) + c);
    if (b.topPid !== null) r.pids.set(b.topPid, (r.pids.get(b.topPid) ?? 0) + b.topPidRequests);
  }
  for (const m of milestones) {
    if (m.time === null) continue;
    const r = rows[idx(m.time)];
    r.guestCount++;
    if (r.guest.length < 3) r.guest.push(m);
  }
  const top = <K>(m: Map<K, number>): K | null => {
    let best: K | null = null;
    let bn = -1;
    for (const [k, v] of m) if (v > bn) [best, bn] = [k, v];
    return best;
  };
  return {
    rowSec,
    rows: rows.map((r) => {
      const pid = top(r.pids);
      return {
        t: r.t,
        seconds: rowSec,
        requests: r.requests,
        perSec: r.requests / rowSec,
        errors: r.errors,
        topOpcode: top(r.ops),
        topPid: pid,
        topPidLabel: pid === null ? null : label(pid),
        guestCount: r.guestCount,
        guest: r.guest.map((m) => ({ text: m.text, kind: m.kind, isProgress: m.isProgress })),
      };
    }),
  };
}
