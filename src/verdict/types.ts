/**
 * The verdict contract shared by the verdict engine (src/verdict/), the renderers (src/report/) and the
 * launcher. Plain data; times are ms since the Unix epoch (UTC) unless named otherwise.
 */

export type VerdictKind = 'livelock' | 'deadlock' | 'stall' | 'busy' | 'healthy' | 'inconclusive';

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
}
