/**
 * When to stop a run, and what it amounted to: pure, fed one poll (about once a second) at a time.
 *
 * - goal reached (multi-user.target, power-off, a progress pattern, the end of `--execute`) → `healthy`, at once;
 * - a livelock / deadlock / stall verdict seen in `confirmPolls` consecutive polls (default 2) → stop early with
 *   that outcome. A `stall` (traffic stopped, nothing outstanding) additionally needs the guest to have been silent
 *   for the engine's quiet period: a guest that keeps printing while its file system is idle runs from its page
 *   cache (cache=metadata/auto), it is not stalled (systemd's job spinner lines do not count: they say it waits);
 * - the timeout → the verdict at that moment (`busy` / `inconclusive` when nothing was confirmed);
 * - bcvk exited by itself → `healthy` when the goal was reached, or bcvk exited 0 after the guest unmounted the share
 *   (DESTROY) with a healthy verdict; else `error`, named: a VM that crashed (QEMU killed, bcvk exit ≠ 0 or a signal)
 *   or ended without reaching its goal (QEMU exits 0 on SIGTERM) is an infrastructure failure, and a `healthy` /
 *   `busy` live verdict ("guest progressing") becomes `inconclusive` naming the crash: the run never got to show
 *   whether the boot would have finished;
 * - interrupted (Ctrl-C, SIGTERM) → `interrupted`.
 */

import type { Verdict, VerdictKind } from '../verdict/types.js';
import type { OutcomeKind, StopReason } from './run-record.js';

export const STOPPING_VERDICTS: ReadonlySet<VerdictKind> = new Set<VerdictKind>([
  'livelock',
  'deadlock',
  'stall',
]);

export interface PollFacts {
  now: number;
  verdict: Verdict;
  goal: { goal: string; hostTime: number | null } | null;
  /** Host time of the latest guest line (arrival) other than a systemd job spinner, null when none yet. */
  lastGuestLineAt: number | null;
  /** The guest unmounted the share (DESTROY) in the current session. */
  unmounted?: boolean;
}

export interface StopDecision {
  reason: StopReason;
  outcome: OutcomeKind;
  /** The verdict the decision rests on. */
  verdict: Verdict;
  /** When the outcome became known (goal time, first poll of a confirmed verdict's streak, timeout, exit). */
  knownAt: number;
  /** When the decision was taken (this poll). */
  decidedAt: number;
  /** Polls the verdict was seen in a row (early stops). */
  polls?: number;
  note?: string;
  /** The outcome's title when it is not the verdict's (a crashed VM). */
  title?: string;
}

export interface StopPolicyOptions {
  startedAt: number;
  timeoutMs: number;
  /** Consecutive polls a stopping verdict must hold (default 2). */
  confirmPolls?: number;
  /** The engine's quiet period (s) for the stall guard (default 10). */
  quietSec?: number;
}

function outcomeOf(kind: VerdictKind): OutcomeKind {
  return kind;
}

export class StopPolicy {
  private streakKind: VerdictKind | null = null;
  private streak = 0;
  private streakStart = 0;
  private readonly confirm: number;
  private readonly quietMs: number;

  constructor(private readonly opts: StopPolicyOptions) {
    this.confirm = Math.max(1, opts.confirmPolls ?? 2);
    this.quietMs = (opts.quietSec ?? 10) * 1000;
  }

  /** Whether a stopping verdict counts now (the stall guard). */
  private counts(f: PollFacts): boolean {
    const k = f.verdict.kind;
    if (!STOPPING_VERDICTS.has(k)) return false;
    if (k !== 'stall') return true;
    return f.lastGuestLineAt === null || f.now - f.lastGuestLineAt >= this.quietMs;
  }

  /** One poll while the run goes on: a decision, or null to keep going. */
  poll(f: PollFacts): StopDecision | null {
    if (f.goal) return goalReached(f, f.goal);
    if (this.counts(f)) {
      const k = f.verdict.kind;
      if (k === this.streakKind) this.streak++;
      else {
        this.streakKind = k;
        this.streak = 1;
        this.streakStart = f.now;
      }
      if (this.streak >= this.confirm) {
        return {
          reason: k as StopReason,
          outcome: outcomeOf(k),
          verdict: f.verdict,
          knownAt: this.streakStart,
          decidedAt: f.now,
          polls: this.streak,
        };
      }
    } else {
      this.streakKind = null;
      this.streak = 0;
    }
    if (f.now - this.opts.startedAt >= this.opts.timeoutMs) return this.timeout(f);
    return null;
  }

  /** The timeout hit: the verdict at that moment. */
  timeout(f: PollFacts): StopDecision {
    const k = f.verdict.kind;
    const outcome: OutcomeKind = k === 'healthy' && !f.goal ? 'inconclusive' : outcomeOf(k);
    return {
      reason: 'timeout',
      outcome,
      verdict: f.verdict,
      knownAt: f.now,
      decidedAt: f.now,
      note: `timeout after ${Math.round((f.now - this.opts.startedAt) / 1000)} s; verdict then: ${f.verdict.title}`,
    };
  }

  /**
   * bcvk exited on its own (after the last bytes were read): goal, clean end, or an infrastructure error. `detail`:
   * bcvk's own last error line (`Error: QEMU exited with non-zero status: …`), when it printed one.
   */
  exited(
    f: PollFacts,
    exit: { exitCode: number | null; signal: string | null },
    detail?: string,
  ): StopDecision {
    const how =
      exit.exitCode !== null
        ? `exit code ${exit.exitCode}`
        : exit.signal
          ? `signal ${exit.signal}`
          : 'unknown status';
    if (f.goal) return goalReached(f, f.goal, `bcvk exited (${how})`);
    if (exit.exitCode === 0 && f.unmounted && f.verdict.kind === 'healthy') {
      return {
        reason: 'goal',
        outcome: 'healthy',
        verdict: f.verdict,
        knownAt: f.now,
        decidedAt: f.now,
        note: `bcvk exited 0 after the guest unmounted the share (${f.verdict.title})`,
      };
    }
    const crashed = exit.exitCode !== 0;
    const what = crashed
      ? `the VM crashed before reaching its goal (bcvk ${how}${detail ? `: ${detail}` : ''})`
      : 'the VM ended before reaching its goal (bcvk exit code 0, no goal, no unmount: QEMU stopped from outside?)';
    const verdict = endedVerdict(f.verdict, what);
    return {
      reason: 'error',
      outcome: 'error',
      verdict,
      knownAt: f.now,
      decidedAt: f.now,
      // a rewritten verdict's earlier title ("healthy: guest progressing") stays in the note and the verdict's reason
      title:
        verdict.kind === f.verdict.kind
          ? `error: ${what}; verdict then: ${f.verdict.title}`
          : `error: ${what}`,
      note: `${what}; the live verdict then: ${f.verdict.title}`,
    };
  }

  /** Interrupted by the user. */
  interrupted(f: PollFacts, signal: string): StopDecision {
    return {
      reason: 'interrupted',
      outcome: 'interrupted',
      verdict: f.verdict,
      knownAt: f.now,
      decidedAt: f.now,
      note: `interrupted by ${signal}; verdict then: ${f.verdict.title}`,
    };
  }
}

/** The guest reached its goal: a healthy run, known when the goal line arrived. */
function goalReached(f: PollFacts, goal: NonNullable<PollFacts['goal']>, extra?: string): StopDecision {
  return {
    reason: 'goal',
    outcome: 'healthy',
    verdict: f.verdict,
    knownAt: goal.hostTime ?? f.now,
    decidedAt: f.now,
    note: `goal reached: ${goal.goal}${extra ? `; ${extra}` : ''}`,
  };
}

/**
 * The verdict of a run whose VM went away before its goal. A `healthy` or `busy` live verdict ("guest progressing")
 * only said the boot was still moving, and an `inconclusive` one had not decided: both become `inconclusive`, titled
 * with the crash. A hang verdict (livelock, deadlock, stall) is evidence gathered before the crash and keeps its kind;
 * its reason says what came after.
 */
export function endedVerdict(v: Verdict, what: string): Verdict {
  if (STOPPING_VERDICTS.has(v.kind)) return { ...v, reason: `${v.reason} Then ${what}.` };
  return {
    ...v,
    kind: 'inconclusive',
    confidence: Math.min(v.confidence, 0.3),
    title: `inconclusive: ${what}`,
    reason: `${what[0].toUpperCase()}${what.slice(1)}; until then the live verdict was "${v.title}" (${v.reason}) — the run cannot say whether the boot would have finished.`,
    onset: null,
    durationSec: null,
  };
}
