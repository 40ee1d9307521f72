/**
 * Tunable thresholds of the verdict engine, with their defaults and a documentation table (for the README and
 * `--help`). Every field is optional in {@link VerdictThresholdsInput}; missing ones take the default.
 */

export interface VerdictThresholds {
  /** Longest loop period (tokens per iteration) searched. The lab's 3-path loop needs 17. */
  maxPeriod: number;
  /** Repetitions of one period, back to back, before a PID's stream counts as looping. */
  minRepetitions: number;
  /**
   * Seconds a loop still running at the end of the evidence must have held, with no guest progress, to be a
   * livelock. Above every loop-like burst of a healthy systemd boot measured in the lab (README, "Verdicts").
   */
  minLoopSec: number;
  /** Seconds a loop must last to be reported as an episode. */
  minEpisodeSec: number;
  /** A finished loop episode at least this long matches `--fail-on long-episode`. */
  longEpisodeSec: number;
  /** Requests/s the looping PID must sustain (loop requests over the loop's duration). */
  minLoopRate: number;
  /**
   * Share of all requests during a loop that must be the loop's: a spinning guest. A PID walking paths into /sys
   * or /run while the rest of the boot works (udev, journald, systemd) is a few percent of the traffic.
   */
  minLoopShare: number;
  /** A loop broken for at most this long and resumed with the same signature is the same episode (s). */
  loopGapSec: number;
  /** An inode (re)introduced within this many requests is abstracted to `new` (Rust's fresh nodeids, C reuse). */
  freshSpan: number;
  /** Seconds without traffic (live: against the wall clock) before traffic counts as stopped. */
  quietSec: number;
  /** A second with fewer requests than this is quiet: heartbeat polling (systemd watching the console), not traffic. */
  quietRate: number;
  /** Guest progress within this many seconds after a loop's onset does not break it (second-resolution stamps). */
  progressGraceSec: number;
  /** Requests/s that count as heavy traffic (for `busy`). */
  busyRate: number;
  /** Consecutive heavy seconds that make a run `busy` rather than just `healthy`. */
  busyMinSec: number;
  /** Fewer requests than this, and no guest goal, is thin evidence (`inconclusive`). */
  minRequests: number;
  /** Caps that bound memory regardless of log length. */
  maxPids: number;
  maxTrackedInodes: number;
  maxPending: number;
  maxProgressPoints: number;
  maxEpisodes: number;
}

export type VerdictThresholdsInput = Partial<VerdictThresholds>;

export const DEFAULT_THRESHOLDS: Readonly<VerdictThresholds> = Object.freeze({
  maxPeriod: 32,
  minRepetitions: 50,
  minLoopSec: 20,
  minEpisodeSec: 2,
  longEpisodeSec: 30,
  minLoopRate: 100,
  minLoopShare: 0.5,
  loopGapSec: 2,
  freshSpan: 256,
  quietSec: 10,
  quietRate: 20,
  progressGraceSec: 1,
  busyRate: 1000,
  busyMinSec: 3,
  minRequests: 5,
  maxPids: 512,
  maxTrackedInodes: 100_000,
  maxPending: 65_536,
  maxProgressPoints: 4096,
  maxEpisodes: 32,
});

const DOCS: Record<keyof VerdictThresholds, { unit: string; meaning: string }> = {
  maxPeriod: { unit: 'tokens', meaning: 'longest loop period searched per PID (1..N tokens per iteration)' },
  minRepetitions: { unit: 'iterations', meaning: 'back-to-back repetitions before a PID counts as looping' },
  minLoopSec: {
    unit: 's',
    meaning:
      'a loop still running at the end of the evidence must have held this long with no guest progress to be a livelock',
  },
  minEpisodeSec: { unit: 's', meaning: 'a loop must last this long to be reported as an episode' },
  longEpisodeSec: { unit: 's', meaning: 'a finished loop episode this long matches --fail-on long-episode' },
  minLoopRate: { unit: 'req/s', meaning: "looping PID's sustained request rate (loop and episode)" },
  minLoopShare: {
    unit: 'fraction',
    meaning:
      "the loop's share of all requests while it ran (loop and episode): a spinning guest, not one PID among many",
  },
  loopGapSec: { unit: 's', meaning: 'a loop interrupted this briefly and resumed is one episode' },
  freshSpan: {
    unit: 'requests',
    meaning: 'an inode first seen (or re-allocated) within this many requests is abstracted to "new"',
  },
  quietSec: {
    unit: 's',
    meaning:
      'only quiet seconds for this long, followed by later evidence, = traffic stopped (live: wall clock)',
  },
  quietRate: {
    unit: 'req/s',
    meaning: 'a second with fewer requests is quiet (heartbeat polling, not traffic)',
  },
  progressGraceSec: { unit: 's', meaning: 'guest progress this soon after a loop onset does not clear it' },
  busyRate: { unit: 'req/s', meaning: 'heavy traffic (busy) threshold' },
  busyMinSec: { unit: 's', meaning: 'consecutive heavy seconds for a busy verdict' },
  minRequests: { unit: 'requests', meaning: 'fewer (and no guest goal) = inconclusive' },
  maxPids: { unit: 'PIDs', meaning: 'per-PID loop trackers kept (least recently active dropped)' },
  maxTrackedInodes: { unit: 'inodes', meaning: 'inode ages kept for the new/stable abstraction' },
  maxPending: { unit: 'requests', meaning: 'outstanding requests (the latest) taken as deadlock evidence' },
  maxProgressPoints: { unit: 'lines', meaning: 'guest progress times kept' },
  maxEpisodes: { unit: 'episodes', meaning: 'finished loop episodes kept (largest first)' },
};

/**
 * Accepted range of each threshold: a value outside it is a usage error, never silently another verdict
 * (`maxPeriod=0` would find no loop; `maxPeriod=1e9` would cost a billion steps per request).
 */
const RANGES: Record<keyof VerdictThresholds, { min: number; max: number; integer?: boolean }> = {
  maxPeriod: { min: 1, max: 256, integer: true },
  minRepetitions: { min: 2, max: 1_000_000, integer: true },
  minLoopSec: { min: 1, max: 86_400 },
  minEpisodeSec: { min: 0, max: 86_400 },
  longEpisodeSec: { min: 1, max: 604_800 },
  minLoopRate: { min: 1, max: 10_000_000 },
  minLoopShare: { min: 0, max: 1 },
  loopGapSec: { min: 0, max: 3600 },
  freshSpan: { min: 1, max: 10_000_000, integer: true },
  quietSec: { min: 1, max: 86_400 },
  quietRate: { min: 1, max: 10_000_000 },
  progressGraceSec: { min: 0, max: 3600 },
  busyRate: { min: 1, max: 10_000_000 },
  busyMinSec: { min: 1, max: 86_400 },
  minRequests: { min: 1, max: 1_000_000_000, integer: true },
  maxPids: { min: 1, max: 1_000_000, integer: true },
  maxTrackedInodes: { min: 1, max: 100_000_000, integer: true },
  maxPending: { min: 1, max: 10_000_000, integer: true },
  maxProgressPoints: { min: 1, max: 1_000_000, integer: true },
  maxEpisodes: { min: 1, max: 10_000, integer: true },
};

function rangeText(k: keyof VerdictThresholds): string {
  const r = RANGES[k];
  return `${r.integer ? 'an integer' : 'a number'} from ${r.min} to ${r.max}`;
}

export function resolveThresholds(input: VerdictThresholdsInput = {}): VerdictThresholds {
  const t: VerdictThresholds = { ...DEFAULT_THRESHOLDS };
  for (const k of Object.keys(DEFAULT_THRESHOLDS) as (keyof VerdictThresholds)[]) {
    const v = input[k];
    if (v === undefined) continue;
    const r = RANGES[k];
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      v < r.min ||
      v > r.max ||
      (r.integer === true && !Number.isInteger(v))
    ) {
      throw new RangeError(`threshold ${k} must be ${rangeText(k)}, got ${String(v)}`);
    }
    t[k] = v;
  }
  return t;
}

export interface ThresholdRow {
  name: keyof VerdictThresholds;
  default: number;
  unit: string;
  /** Accepted values, e.g. "1–256 (integer)". */
  range: string;
  meaning: string;
}

/** One row per threshold: name, default, unit, meaning (for the README and `--help`). */
export function describeThresholds(): ThresholdRow[] {
  return (Object.keys(DEFAULT_THRESHOLDS) as (keyof VerdictThresholds)[]).map((name) => ({
    name,
    default: DEFAULT_THRESHOLDS[name],
    unit: DOCS[name].unit,
    range: `${RANGES[name].min}–${RANGES[name].max}${RANGES[name].integer ? ' (integer)' : ''}`,
    meaning: DOCS[name].meaning,
  }));
}

/** The same table as Markdown. */
export function thresholdsMarkdown(): string {
  const rows = describeThresholds().map(
    (r) => `| \`${r.name}\` | ${r.default} | ${r.unit} | ${r.range} | ${r.meaning} |`,
  );
  return ['| threshold | default | unit | range | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
