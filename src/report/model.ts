/**
 * Input types of the renderers (HTML, Markdown, JUnit): the `--json` analysis document, optionally enriched per input
 * with the verdict and guest-side facts, and a minimal comparison result. All fields added to the analysis document
 * are optional, so a plain {@link AnalysisDocument} is always a valid {@link ReportDocument}.
 */
import { labelPid } from '../analyze/correlate.js';
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';
import { median as sampleMedian, wilson as wilsonInterval } from '../compare/stats.js';
import {
  type Culprit,
  HANG_KINDS,
  isHang,
  type LoopEpisodeReport,
  type Verdict,
  type VerdictKind,
  type WaitingOn,
} from '../verdict/types.js';
import { duration, utc } from './format.js';
import type { AnalysisDocument } from './json.js';

/** A guest-side event placed on the host time axis (ms since the epoch, UTC). */
export interface GuestMilestone {
  time: number;
  text: string;
  /** A ProgressKind (`unit-started`, `login-prompt`, `poweroff`, …) or any other short tag. */
  kind: string;
}

export interface ReportInput extends InputAnalysis {
  verdict?: Verdict;
  milestones?: GuestMilestone[];
  /** PID (as a decimal string) → process name. */
  pidNames?: Record<string, string>;
}

export interface ReportDocument extends Omit<AnalysisDocument, 'inputs'> {
  inputs: ReportInput[];
}

/** Verdict kinds that mean "the boot is hung": a CI failure (the verdict contract's list). */
export const PROBLEM_KINDS = HANG_KINDS;
export const isProblem = isHang;

export function pidLabel(pid: number | null, names?: Record<string, string>): string {
  return pid === null ? '—' : labelPid(pid, names);
}

/** `1180 (systemd-journald)`: the name the verdict carries, else the PID-name map's. */
export function culpritLabel(c: Pick<Culprit, 'pid' | 'name'>, names?: Record<string, string>): string {
  return c.name ? `${c.pid} (${c.name})` : pidLabel(c.pid, names);
}

/** `inferred: unit foo.service` when the verdict inferred the culprit's unit (never a fact), else ''. */
export function inferredUnitText(c: Pick<Culprit, 'inferredUnit'>): string {
  return c.inferredUnit ? `inferred: unit ${c.inferredUnit}` : '';
}

/** What followed a loop episode, in a few words: `progress at 16:19:23: Started X`, `still running at the end`. */
export function episodeFollowed(e: LoopEpisodeReport, sameDayAs?: number | null): string {
  const at = e.after ? ` at ${utc(e.after.time, sameDayAs)}` : '';
  switch (e.outcome) {
    case 'progress':
      return e.after ? `progress${at}: ${e.after.text}` : 'progress';
    case 'goal':
      return e.after ? `goal reached${at}: ${e.after.text}` : 'goal reached';
    case 'traffic-stopped':
      return 'traffic stopped';
    case 'running':
      return 'still running at the end';
    default:
      return 'ended (nothing else known)';
  }
}

/** `start job for Foo (foo.service): waited 1 min 54 s, no limit, last seen 16:20:00`. */
export function waitingText(w: WaitingOn, sameDayAs?: number | null): string {
  const unit = w.unit && w.unit !== w.subject ? ` (${w.unit})` : '';
  const waited = w.waitedSec === null ? '' : `waited ${duration(w.waitedSec)}`;
  const limit = w.limitSec === null ? 'no limit' : `limit ${duration(w.limitSec)}`;
  const seen = w.lastSeen === null ? '' : `last seen ${utc(w.lastSeen, sameDayAs)}`;
  return `${w.job} job for ${w.subject}${unit}: ${[waited, limit, seen].filter((x) => x).join(', ')}`;
}

/** Milestone kinds that mean "the guest finished booting". */
const BOOTED_KINDS = new Set(['login-prompt', 'boot-complete', 'booted']);
const BOOT_TARGET = /\b(multi-user|graphical|default)\.target\b|\b(Multi-User System|Graphical Interface)\b/;

/**
 * Seconds from the first guest milestone (or the first virtiofsd timestamp, whichever is earlier) to the guest's
 * "booted" milestone: a `login-prompt` (or `boot-complete`/`booted`) milestone, else a `target-reached` milestone for
 * multi-user/graphical/default target. Null when the guest never got there or no milestones are known.
 */
export function bootSeconds(input: Pick<ReportInput, 'milestones' | 'time'>): number | null {
  const ms = input.milestones;
  if (!ms || ms.length === 0) return null;
  const booted =
    ms.find((m) => BOOTED_KINDS.has(m.kind)) ??
    ms.find((m) => m.kind === 'target-reached' && BOOT_TARGET.test(m.text));
  if (!booted) return null;
  let start = Math.min(...ms.map((m) => m.time));
  if (input.time.first !== null && input.time.first < start) start = input.time.first;
  return Math.max(0, (booted.time - start) / 1000);
}

// ---------------------------------------------------------------------------------------------------------------
// Comparisons. Minimal shape until src/compare/ exists; the renderers only read these fields.

/** One run of a variant in a comparison. */
export interface ComparisonRun {
  id: string;
  /**
   * Verdict kind, or `error` when the launcher/infrastructure failed and there is no verdict, or `interrupted` when
   * the user stopped the run. Both are left out of outcome rates.
   */
  outcome: VerdictKind | 'error' | 'interrupted';
  title?: string;
  requests?: number;
  ratePerSec?: number;
  bootSec?: number | null;
  /** Launcher or infrastructure problem (QEMU failed to start, timeout of the harness, …). */
  error?: string;
}

export interface ComparisonVariant {
  name: string;
  /** Free-form description: daemon version, cache mode, kernel, … */
  description?: string;
  runs: ComparisonRun[];
}

export interface ComparisonResult {
  title?: string;
  /** Outcome whose rate is charted (default `livelock`; `problem` = livelock, deadlock or stall). */
  outcome?: VerdictKind | 'problem';
  variants: ComparisonVariant[];
}

export interface Proportion {
  k: number;
  n: number;
  rate: number;
  low: number;
  high: number;
}

/** k of n with its Wilson score interval (compare/stats: the one implementation). n = 0 gives [0, 1]. */
export function wilson(k: number, n: number): Proportion {
  const { lo, hi } = wilsonInterval(k, n);
  return { k, n, rate: n > 0 ? k / n : 0, low: lo, high: hi };
}

export function outcomeMatches(outcome: string, focus: VerdictKind | 'problem'): boolean {
  return focus === 'problem' ? isProblem(outcome) : outcome === focus;
}

export interface VariantSummary {
  name: string;
  description?: string;
  runs: number;
  /** Runs that produced a verdict (not `error`). */
  valid: number;
  outcomes: Record<string, number>;
  focus: Proportion;
  medianRequests: number | null;
  medianRatePerSec: number | null;
  medianBootSec: number | null;
  errors: string[];
}

/** Median of the finite values, null when there are none (a report cell shows "—"). */
export function median(values: number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? null : sampleMedian(v);
}

export function summarizeVariant(v: ComparisonVariant, focus: VerdictKind | 'problem'): VariantSummary {
  const outcomes: Record<string, number> = {};
  for (const r of v.runs) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const valid = v.runs.filter((r) => r.outcome !== 'error' && r.outcome !== 'interrupted');
  const k = valid.filter((r) => outcomeMatches(r.outcome, focus)).length;
  return {
    name: v.name,
    description: v.description,
    runs: v.runs.length,
    valid: valid.length,
    outcomes,
    focus: wilson(k, valid.length),
    medianRequests: median(valid.flatMap((r) => (r.requests === undefined ? [] : [r.requests]))),
    medianRatePerSec: median(valid.flatMap((r) => (r.ratePerSec === undefined ? [] : [r.ratePerSec]))),
    medianBootSec: median(
      valid.flatMap((r) => (r.bootSec === undefined || r.bootSec === null ? [] : [r.bootSec])),
    ),
    errors: v.runs.flatMap((r) => (r.error ? [`${r.id}: ${r.error}`] : [])),
  };
}

/** One emoji per verdict / run outcome, for Markdown and text listings. */
export const OUTCOME_ICON: Readonly<Record<string, string>> = {
  livelock: '🔴',
  deadlock: '🔴',
  stall: '🟠',
  busy: '🔵',
  healthy: '🟢',
  inconclusive: '⚪',
  error: '⚠️',
  interrupted: '⏹️',
};
