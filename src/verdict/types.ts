/**
 * The verdict contract shared by the verdict engine (src/verdict/), the renderers (src/report/) and the
 * launcher. Plain data; times are ms since the Unix epoch (UTC) unless named otherwise.
 */

/** Every verdict kind: the one list the CLI, the reports, the gate and the launcher read. */
export const VERDICT_KINDS = ['livelock', 'deadlock', 'stall', 'busy', 'healthy', 'inconclusive'] as const;
export type VerdictKind = (typeof VERDICT_KINDS)[number];

/** The kinds that mean "the boot is hung": a CI failure, a run stopped early. */
export const HANG_KINDS: readonly VerdictKind[] = ['livelock', 'deadlock', 'stall'];

export function isHang(kind: string | null | undefined): boolean {
  return kind !== null && kind !== undefined && (HANG_KINDS as readonly string[]).includes(kind);
}

/** The outcome of a run: a verdict kind, or `error` when the run gave none. */
export const OUTCOME_KINDS = [...VERDICT_KINDS, 'error'] as const;

/** Outcomes from worst to best (an index page lists the worst first). */
export const OUTCOME_SEVERITY: readonly string[] = [
  'livelock',
  'deadlock',
  'stall',
  'error',
  'inconclusive',
  'busy',
  'healthy',
];

/** Where a piece of evidence sits in an input: which input and which 1-based line(s). */
export interface EvidencePointer {
  input: 'virtiofsd' | 'console' | 'journal' | 'debug-port' | 'probe';
  file?: string;
  line: number;
  lineEnd?: number;
  what: string;
}

export interface LoopSignature {
  /** Abstract tokens of one period, e.g. ["Lookup(1)", "Getattr(new)", "Forget(new)"]. */
  tokens: string[];
  period: number;
  repetitions: number;
  /** Iterations per second while looping. */
  ratePerSec: number;
  /** Share of all requests in the verdict window that belong to the loop. */
  share: number;
}

export interface Culprit {
  pid: number;
  /** Process name when known (journal, console, probe). */
  name?: string;
  requests: number;
  share: number;
  /** Extra facts, e.g. from the guest probe: "state R, 99% CPU, in syscall newfstatat". */
  detail?: string;
  /**
   * The systemd unit the PID most likely belongs to when no guest line names it: the unit whose start job was
   * running when the loop began (from the console's job spinner). Always an inference, never a fact.
   */
  inferredUnit?: string;
}

/** What the guest says it is waiting on: systemd's job spinner (`A start job is running for X (1min 2s / no limit)`). */
export interface WaitingOn {
  /** Unit name when printed (`Job X/start running`), else the unit's description. */
  subject: string;
  unit?: string;
  job: 'start' | 'stop';
  /** Longest time the job had run, as printed by systemd (s). */
  waitedSec: number | null;
  /** The job's timeout (s); null = no limit. */
  limitSec: number | null;
  firstSeen: number | null;
  lastSeen: number | null;
  pointer: EvidencePointer;
}

/**
 * A loop that was seen, whatever the verdict: a transient loop that ended (and what followed it), or the one still
 * running at the end. Healthy boots show some (udev coldplug, systemd loading units); long ones are worth knowing.
 */
export interface LoopEpisodeReport {
  pid: number;
  name?: string;
  /** What the guest probe saw of the PID during the episode (state, CPU share, syscall). */
  detail?: string;
  tokens: string[];
  period: number;
  repetitions: number;
  /** Requests of the PID inside the loop's token set. */
  requests: number;
  start: number;
  end: number;
  durationSec: number;
  /** Requests per second inside the loop. */
  ratePerSec: number;
  /**
   * Longest stretch inside the episode with no guest progress line (s); null without guest input. A livelock
   * needs `minLoopSec` of this at the end of the evidence: this shows how close a transient loop came.
   */
  longestNoProgressSec: number | null;
  /**
   * What followed: `progress` (a guest progress line), `goal` (the guest reached its goal), `traffic-stopped`,
   * `running` (still running at the end of the evidence), `ended` (the PID moved on; nothing else known).
   */
  outcome: 'progress' | 'goal' | 'traffic-stopped' | 'running' | 'ended';
  /** The first guest progress (or goal) after the loop ended. */
  after?: { time: number; text: string; pointer: EvidencePointer };
  /** One line: "transient loop: pid 1 (systemd) Ioctl(1) ×2.6k for 3 s, then progress (Started X)". */
  summary: string;
  evidence: EvidencePointer[];
}

export interface Verdict {
  kind: VerdictKind;
  /** 0..1 */
  confidence: number;
  /** Stable one-line title for CI, e.g. "livelock: pid 1180 (systemd-journald) Lookup(1)→Lookup(139) ×88k since 16:19:20". */
  title: string;
  /** Why this kind, in a sentence or two. */
  reason: string;
  /** Start of the condition and how it was found. */
  onset: number | null;
  onsetMethod?: string;
  /** Seconds the condition lasted until the end of the evidence. */
  durationSec: number | null;
  culprits: Culprit[];
  loop?: LoopSignature;
  /** Last guest progress before onset, and the first looping request. */
  criticalTransition?: {
    lastProgress?: { time: number | null; text: string; pointer?: EvidencePointer };
    firstLoopRequest?: { time: number | null; pointer?: EvidencePointer };
  };
  evidence: EvidencePointer[];
  /** True when no guest input was available: the verdict rests on the virtiofsd log alone. */
  hostOnly: boolean;
  /** Window the verdict covers (for shading in plots). */
  window?: { start: number; end: number };
  /** Loop episodes seen in the run, longest first (the engine always fills it; capped by maxEpisodes). */
  episodes?: LoopEpisodeReport[];
  /** The systemd job(s) the guest was waiting on at the end, from its console (stall, livelock, inconclusive). */
  waitingOn?: WaitingOn[];
}
