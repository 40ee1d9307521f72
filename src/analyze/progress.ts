/**
 * ProgressClock: fed guest events (console, journal, debug port), tracks when the guest last made visible boot
 * progress, what it is waiting for (systemd start-job spinners = hang indicators) and whether the boot reached
 * its goal (default: multi-user.target / graphical.target / default.target reached, a login prompt, power-off).
 *
 * "Last" is decided by time when two events share a time axis (both hostTime, else both uptime), otherwise by
 * feed order. Raw console status lines have no time at all, so feed each source in file order.
 * The console mirrors PID 1's messages twice before journald runs (kmsg `systemd[1]: Started X` and the
 * `[  OK  ] Started X` status line), so `progressCount` counts events, not distinct unit transitions.
 */

import type { GuestLine, GuestSource, ProgressKind } from '../parse/guest-events.js';

export interface ProgressPoint {
  kind: ProgressKind;
  subject: string;
  unit?: string;
  text: string;
  source: GuestSource;
  line: number;
  uptime?: number;
  hostTime?: number;
}

export interface HangIndicator {
  kind: 'start-job-waiting' | 'stop-job-waiting';
  subject: string;
  unit?: string;
  /** Spinner frames seen for this job. */
  count: number;
  first: ProgressPoint;
  last: ProgressPoint;
  /** Largest "running (Ns / limit)" seen, seconds. */
  maxWaitedS?: number;
  /** Job timeout, seconds; null = no limit. */
  limitS?: number | null;
}

export interface GoalReached extends ProgressPoint {
  /** The goal that matched: a unit name, `login-prompt`, `poweroff`, or a pattern's source. */
  goal: string;
}

export interface ProgressClockOptions {
  /** Targets whose `Reached target` ends the boot. Default multi-user.target, graphical.target, default.target. */
  goalUnits?: string[];
  /** Extra goal patterns, tested against every event's text. */
  goalPatterns?: RegExp[];
  /** Power-off counts as a goal (default true: the lab's healthy runs end with it). */
  poweroffIsGoal?: boolean;
  /** A login prompt counts as a goal (default true). */
  loginIsGoal?: boolean;
}

export interface ProgressSummary {
  events: number;
  progressCount: number;
  lastEvent?: ProgressPoint;
  lastProgress?: ProgressPoint;
  goalReached?: GoalReached;
  hangIndicators: HangIndicator[];
  /** Hang indicators seen after the last progress event (the guest is waiting on these right now). */
  waitingNow: HangIndicator[];
  failures: ProgressPoint[];
  byKind: Partial<Record<ProgressKind, number>>;
}

const DEFAULT_GOALS = ['multi-user.target', 'graphical.target', 'default.target'];

function pointOf(ev: GuestLine, kind: ProgressKind, subject: string): ProgressPoint {
  const p: ProgressPoint = { kind, subject, text: ev.text, source: ev.source, line: ev.line };
  if (ev.progress?.unit) p.unit = ev.progress.unit;
  if (ev.uptime !== undefined) p.uptime = ev.uptime;
  if (ev.hostTime !== undefined) p.hostTime = ev.hostTime;
  return p;
}

/** True if `a` is at least as late as `b` on a shared time axis; true when there is none (feed order). */
function notEarlier(
  a: { hostTime?: number; uptime?: number },
  b: { hostTime?: number; uptime?: number },
): boolean {
  if (a.hostTime !== undefined && b.hostTime !== undefined) return a.hostTime >= b.hostTime;
  if (a.uptime !== undefined && b.uptime !== undefined) return a.uptime >= b.uptime;
  return true;
}

export class ProgressClock {
  private readonly goals: string[];
  private readonly goalPatterns: RegExp[];
  private readonly poweroffIsGoal: boolean;
  private readonly loginIsGoal: boolean;
  private nEvents = 0;
  private nProgress = 0;
  private last?: ProgressPoint;
  private lastAny?: ProgressPoint;
  private goal?: GoalReached;
  private readonly hangs = new Map<string, HangIndicator>();
  private readonly fails: ProgressPoint[] = [];
  private readonly kinds: Partial<Record<ProgressKind, number>> = {};

  constructor(opts: ProgressClockOptions = {}) {
    this.goals = opts.goalUnits ?? DEFAULT_GOALS;
    this.goalPatterns = opts.goalPatterns ?? [];
    this.poweroffIsGoal = opts.poweroffIsGoal ?? true;
    this.loginIsGoal = opts.loginIsGoal ?? true;
  }

  feed(ev: GuestLine): void {
    this.nEvents++;
    const pr = ev.progress;
    const any = pointOf(ev, pr?.kind ?? 'pattern', pr?.subject ?? ev.text);
    if (!this.lastAny || notEarlier(any, this.lastAny)) this.lastAny = any;

    if (pr) {
      this.kinds[pr.kind] = (this.kinds[pr.kind] ?? 0) + 1;
      const p = pointOf(ev, pr.kind, pr.subject);
      if (pr.isProgress) {
        this.nProgress++;
        if (!this.last || notEarlier(p, this.last)) this.last = p;
        if (pr.isFailure) this.fails.push(p);
      } else if (pr.kind === 'start-job-waiting' || pr.kind === 'stop-job-waiting') {
        const key = `${pr.kind}\u0000${pr.unit ?? pr.subject}`;
        const h = this.hangs.get(key);
        if (!h) {
          const nh: HangIndicator = { kind: pr.kind, subject: pr.subject, count: 1, first: p, last: p };
          if (pr.unit) nh.unit = pr.unit;
          if (pr.waitedS !== undefined) nh.maxWaitedS = pr.waitedS;
          if (pr.limitS !== undefined) nh.limitS = pr.limitS;
          this.hangs.set(key, nh);
        } else {
          h.count++;
          if (notEarlier(p, h.last)) h.last = p;
          if (pr.waitedS !== undefined) h.maxWaitedS = Math.max(h.maxWaitedS ?? 0, pr.waitedS);
          if (pr.limitS !== undefined) h.limitS = pr.limitS;
        }
      }
    }
    if (!this.goal) {
      const g = this.goalOf(ev);
      if (g) this.goal = { ...pointOf(ev, pr?.kind ?? 'pattern', pr?.subject ?? ev.text), goal: g };
    }
  }

  private goalOf(ev: GuestLine): string | undefined {
    const pr = ev.progress;
    if (pr?.kind === 'target-reached') {
      for (const g of this.goals) {
        if (pr.unit === g || pr.subject === g || pr.subject.startsWith(`${g} `)) return g;
      }
    }
    if (pr?.kind === 'poweroff' && this.poweroffIsGoal) return 'poweroff';
    if (pr?.kind === 'login-prompt' && this.loginIsGoal) return 'login-prompt';
    for (const re of this.goalPatterns) {
      re.lastIndex = 0;
      if (re.test(ev.text)) return re.source;
    }
    return undefined;
  }

  get events(): number {
    return this.nEvents;
  }
  get progressCount(): number {
    return this.nProgress;
  }
  get lastProgress(): ProgressPoint | undefined {
    return this.last;
  }
  /** The latest event of any kind (progress or noise). */
  get lastEvent(): ProgressPoint | undefined {
    return this.lastAny;
  }
  get goalReached(): GoalReached | undefined {
    return this.goal;
  }
  get hangIndicators(): HangIndicator[] {
    return [...this.hangs.values()];
  }
  get failures(): ProgressPoint[] {
    return [...this.fails];
  }
  /** Hang indicators last seen after the last progress event. */
  get waitingNow(): HangIndicator[] {
    const last = this.last;
    if (!last) return this.hangIndicators;
    return this.hangIndicators.filter((h) => isAfter(h.last, last));
  }

  summary(): ProgressSummary {
    const s: ProgressSummary = {
      events: this.nEvents,
      progressCount: this.nProgress,
      hangIndicators: this.hangIndicators,
      waitingNow: this.waitingNow,
      failures: this.failures,
      byKind: { ...this.kinds },
    };
    if (this.lastAny) s.lastEvent = this.lastAny;
    if (this.last) s.lastProgress = this.last;
    if (this.goal) s.goalReached = this.goal;
    return s;
  }
}

/** Strictly after, by shared time axis, else by source line within the same source. */
function isAfter(a: ProgressPoint, b: ProgressPoint): boolean {
  if (a.hostTime !== undefined && b.hostTime !== undefined) return a.hostTime > b.hostTime;
  if (a.uptime !== undefined && b.uptime !== undefined) return a.uptime > b.uptime;
  if (a.source === b.source) return a.line > b.line;
  return false;
}
