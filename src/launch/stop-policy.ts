/**
 * When to stop a run, and what it amounted to: pure, fed one poll (about once a second) at a time.
 *
 * - goal reached (multi-user.target, power-off, a progress pattern, the end of `--execute`) → `healthy`, at once;
 * - a livelock / deadlock / stall verdict seen in `confirmPolls` consecutive polls (default 2) → stop early with
 *   that outcome. A `stall` (traffic stopped, nothing outstanding) additionally needs the guest to have been silent
 *   for the engine's quiet period: a guest that keeps printing while its file system is idle runs from its page
 *   cache (cache=metadata/auto), it is not stalled (systemd's job spinner lines do not count: they say it waits);
 * - the timeout → the verdict at that moment (`busy` / `inconclusive` when nothing was confirmed);
 * - bcvk exited by itself → `healthy` when the goal was reached or the daemon shut down cleanly with a healthy
 *   verdict and bcvk exited 0, else `error` (a crash of the child is an infrastructure failure);
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

  /** bcvk exited on its own (after the last bytes were read): goal, clean end, or an infrastructure error. */
  exited(f: PollFacts, exit: { exitCode: number | null; signal: string | null }): StopDecision {
    const how =
      exit.exitCode !== null
        ? `exit code ${exit.exitCode}`
        : exit.signal
          ? `signal ${exit.signal}`
          : 'unknown status';
    if (f.goal) return goalReached(f, f.goal, `bcvk exited (${how})`);
    if (exit.exitCode === 0 && f.verdict.kind === 'healthy') {
      return {
        reason: 'goal',
        outcome: 'healthy',
        verdict: f.verdict,
        knownAt: f.now,
        decidedAt: f.now,
        note: `bcvk exited 0 and the daemon shut down cleanly (${f.verdict.title})`,
      };
    }
    return {
      reason: 'error',
      outcome: 'error',
      verdict: f.verdict,
      knownAt: f.now,
      decidedAt: f.now,
      note: `bcvk exited by itself (${how}) before the outcome was known; verdict then: ${f.verdict.title}`,
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
