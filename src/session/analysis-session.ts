/**
 * One analysis session: the single place where the verdict engine, the guest session and the virtiofsd analysis
 * are wired together, for every command. Events and guest lines in; `status(now)` / `currentVerdict(now)` while
 * it runs; `finish()` and `document()` for the result.
 *
 * - Live (`--follow`, `run`): bytes of the growing virtiofsd log, console and journal in (`virtiofsd()`,
 *   `console()`, `journal()`), guest lines timed by their arrival.
 * - Post-mortem (`vfs-analyze LOG`): the file reader (worker threads or one pass) feeds `events` in file order and
 *   hands over its analysis (`postMortem()`); guest lines come from the already read guest inputs, on the clock
 *   the session estimates.
 *
 * Either way the result is the same analysis document. Pure apart from `Date.now()` being passed in: no IO here.
 *
 * Host time of guest lines: lines carrying no host stamp (a raw `console.txt`) get their arrival time on the host,
 * which is accurate while following live (the follower reads within a few hundred ms). Journal records keep their
 * `__REALTIME_TIMESTAMP` (the guest's clock, set from the host's at boot).
 */

import { type Correlation, correlate } from '../analyze/correlate.js';
import { type GuestResult, GuestSession } from '../analyze/guest-session.js';
import { PostMortemReducer } from '../analyze/postmortem.js';
import type { ProgressClock } from '../analyze/progress.js';
import type { UniqueHit } from '../analyze/unique-join.js';
import { hostClockFacts, type InputAnalysis, VirtiofsdAnalysis } from '../analyze/virtiofsd-analysis.js';
import { LineSplitter } from '../io/follow.js';
import { createConsoleParser } from '../parse/console.js';
import { replayBatch } from '../parse/event-batch.js';
import type { GuestLine, GuestSource } from '../parse/guest-events.js';
import { createJournalParser } from '../parse/journal.js';
import type { VirtiofsdSink } from '../parse/virtiofsd.js';
import { WARM_UP_CAPS, WARM_UP_THRESHOLDS, warmUpBatches } from '../parse/warm-up.js';
import { analysisDocument } from '../report/json.js';
import { VerdictEngine, type VerdictEngineOptions } from '../verdict/engine.js';
import type { VerdictThresholdsInput } from '../verdict/thresholds.js';
import type { Verdict } from '../verdict/types.js';

export interface AnalysisSessionOptions {
  /** Names used in evidence pointers and the analysis document. */
  files?: { virtiofsd?: string; console?: string; journal?: string };
  /** Regular expressions for guest lines that count as progress and as the goal. */
  progressPatterns?: RegExp[];
  /** Goal units (default: multi-user / graphical / default.target). `[]` leaves power-off and patterns. */
  goalUnits?: string[];
  thresholds?: VerdictThresholdsInput;
  /** Host clock, injectable for tests (default Date.now). */
  now?: () => number;
  /** Post-mortem: the guest session already filled from the guest input files (names, milestones, clock). */
  guest?: GuestSession;
  /** File names the verdict's evidence pointers carry (default: `files`). */
  evidenceFiles?: { virtiofsd?: string; console?: string; journal?: string };
}

/** The post-mortem result of one virtiofsd log with the session's guest inputs. */
export interface PostMortemResult {
  analysis: InputAnalysis;
  guest: GuestResult | null;
  correlation: Correlation | null;
  verdict: Verdict | null;
}

export interface LiveStatus {
  /** Requests so far. */
  requests: number;
  /** Requests per second over the last few seconds of host time (arrival). */
  ratePerSec: number;
  /** Latest guest line that was a progress beacon (or any guest line when none was). */
  lastMilestone: { text: string; source: GuestSource; hostTime: number | null } | null;
  /** Goal reached: what and when (host ms). */
  goal: { goal: string; hostTime: number | null; text: string } | null;
  /** The daemon's session ended (Rust `Client disconnected`, C `virtio_loop: Exit`) or DESTROY was seen. */
  sessionEnded: boolean;
  /** The guest unmounted the share (DESTROY) in the current session. */
  unmounted: boolean;
  verdict: Verdict;
  guestLines: number;
  /** Host arrival time of the latest guest line of any kind; null before any. */
  lastGuestLineAt: number | null;
  /** First kernel `Linux version X` seen on the console/journal. */
  kernel: string | null;
}

export interface LiveResults {
  analysis: InputAnalysis;
  guest: GuestResult | null;
  correlation: Correlation | null;
}

// Unanchored: the first kernel line can share a console line with the firmware's last output (SeaBIOS "Probing EDD").
const KERNEL_RE = /Linux version (\S+)/;
const RATE_WINDOW_MS = 3000;

export class AnalysisSession {
  private eng: VerdictEngine;
  private liveAnalysis: VirtiofsdAnalysis | null = null;
  readonly session: GuestSession;
  /** Same goal definition as the engine's (the engine keeps its own private). */
  get progress(): ProgressClock {
    return this.session.progress;
  }
  private readonly engineOptions: VerdictEngineOptions;
  private readonly now: () => number;
  private readonly consoleParser;
  private readonly journalParser;
  private readonly consoleLines: LineSplitter;
  private readonly journalLines: LineSplitter;
  private consoleEvents = 0;
  private journalEvents = 0;
  private guestCount = 0;
  private lastAny: GuestLine | null = null;
  private lastProgress: GuestLine | null = null;
  private kernel: string | null = null;
  private lastArrival: number | null = null;
  private inputsAdded = false;
  private readonly samples: { t: number; requests: number }[] = [];
  private readonly files: Required<NonNullable<AnalysisSessionOptions['files']>>;

  constructor(opts: AnalysisSessionOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.files = {
      virtiofsd: opts.files?.virtiofsd ?? 'virtiofsd.log',
      console: opts.files?.console ?? 'console.txt',
      journal: opts.files?.journal ?? 'journal.json',
    };
    const patterns = opts.progressPatterns ?? [];
    const progress = { goalPatterns: patterns, ...(opts.goalUnits ? { goalUnits: opts.goalUnits } : {}) };
    // One progress clock for the live status and the guest result: the session's.
    this.session = opts.guest ?? new GuestSession(progress);
    this.engineOptions = {
      thresholds: opts.thresholds,
      // paired by the post-mortem that reads the same events (this.analysis live; the file reader post-mortem)
      pairing: 'shared',
      // probe names first (it sees every task), then journal and console
      pidNames: { nameAt: (pid, t) => this.session.nameAt(pid, t) },
      progress,
      files: opts.evidenceFiles ?? {
        virtiofsd: this.files.virtiofsd,
        console: this.files.console,
        journal: this.files.journal,
      },
    };
    this.eng = new VerdictEngine(this.engineOptions);
    this.consoleParser = createConsoleParser({ progressPatterns: patterns });
    this.journalParser = createJournalParser({ progressPatterns: patterns });
    this.consoleLines = new LineSplitter((line, n) => {
      const at = this.now();
      for (const ev of this.consoleParser.push(line, n)) {
        this.consoleEvents++;
        this.guestLine(ev.hostTime === undefined ? { ...ev, hostTime: at } : ev);
      }
    });
    this.journalLines = new LineSplitter((line, n) => {
      const ev = this.journalParser.pushLine(line, n);
      if (!ev) return;
      this.journalEvents++;
      this.guestLine(ev.hostTime === undefined ? { ...ev, hostTime: this.now() } : ev);
    });
  }

  /**
   * The session's own reader of the virtiofsd log (live: `run`, `--follow`), made on first use: the post-mortem
   * reads the file elsewhere (a worker) and only feeds `events`, so it never builds one.
   */
  get analysis(): VirtiofsdAnalysis {
    if (this.liveAnalysis === null)
      this.liveAnalysis = new VirtiofsdAnalysis(this.files.virtiofsd, { extraSink: this.eng });
    return this.liveAnalysis;
  }

  get engine(): VerdictEngine {
    return this.eng;
  }

  /** Where the virtiofsd events go, in file order: the engine (which also tells the session's end, see status). */
  get events(): VirtiofsdSink {
    return this.eng;
  }

  /**
   * Called by the file reader once a worker reads a large log, while this thread waits for its first events: the
   * warm-up events (parse/warm-up.ts) go through a throwaway engine built as `events` is, so V8 optimizes the
   * engine's hot code with feedback for its rare branches (a loop episode, a gap, a disconnect) and does not throw
   * that code away when the log first takes one.
   */
  warmUp(): void {
    const pairing = new PostMortemReducer({ recent: 1, unansweredListed: 0, ...WARM_UP_CAPS });
    const thresholds = { ...this.engineOptions.thresholds, ...WARM_UP_THRESHOLDS };
    const engine = new VerdictEngine({ ...this.engineOptions, thresholds });
    warmUpBatches(pairing, (b) => replayBatch(b, engine, 0));
    engine.usePairing(pairing);
  }

  /**
   * A fresh engine for the file reader's second attempt (a worker failed after part of the log was replayed):
   * returns the new `events` sink. Only before any guest line was fed.
   */
  restartEvents(): VirtiofsdSink {
    this.eng = new VerdictEngine(this.engineOptions);
    return this.eng;
  }

  /**
   * Post-mortem: the reader fed `events` the whole log and gives its analysis. The guest inputs (if any) are put
   * on the host clock — the FUSE unique join first, when the probe's hits are given — and fed to the engine; the
   * verdict is finished and annotated. Without `withVerdict` the engine's verdict is left out.
   */
  postMortem(
    analysis: InputAnalysis,
    opts: {
      withVerdict: boolean;
      hasGuest: boolean;
      fuseHits?: ReadonlyMap<number, UniqueHit>;
      manualOffsetMs?: number;
      endOfLog?: 'running' | 'stopped';
    },
  ): PostMortemResult {
    let guest: GuestResult | null = null;
    let correlation: Correlation | null = null;
    const facts = hostClockFacts(analysis);
    if (opts.hasGuest) {
      if (opts.fuseHits) this.session.joinFuse(opts.fuseHits, facts.resolutionMs);
      const clock = this.session.clock(facts, opts.manualOffsetMs);
      guest = this.session.result(clock);
      correlation = correlate(analysis, guest);
      if (opts.withVerdict) for (const ev of this.session.timedLines(clock)) this.eng.guest(ev);
    }
    let verdict: Verdict | null = null;
    if (opts.withVerdict) {
      verdict = this.eng.finish({ endOfLog: opts.endOfLog ?? 'running' });
      if (opts.hasGuest) verdict = this.session.annotate(verdict);
    }
    return { analysis, guest, correlation, verdict };
  }

  private guestLine(ev: GuestLine): void {
    this.guestCount++;
    // systemd's job spinner ("A start job is running for X") says the guest is waiting: not a sign of life for
    // the stall guard.
    const k = ev.progress?.kind;
    if (k !== 'start-job-waiting' && k !== 'stop-job-waiting') this.lastArrival = this.now();
    this.session.feed(ev);
    this.eng.guest(ev);
    this.lastAny = ev;
    if (ev.progress?.isProgress) this.lastProgress = ev;
    if (this.kernel === null) {
      const m = KERNEL_RE.exec(ev.text);
      if (m) this.kernel = m[1];
    }
  }

  /** New bytes of the virtiofsd debug log. */
  virtiofsd(chunk: Buffer): void {
    this.analysis.push(chunk);
  }

  /** New bytes of the serial console (raw or host-stamped). */
  console(chunk: Buffer): void {
    this.consoleLines.push(chunk);
  }

  /** New bytes of the `journalctl -o json` stream. */
  journal(chunk: Buffer): void {
    this.journalLines.push(chunk);
  }

  /** The virtiofsd log was truncated or replaced: its half-written last line is dropped, not glued to the next. */
  virtiofsdTruncated(): void {
    this.analysis.truncated();
  }

  /** The console file was truncated: restart line numbering. */
  consoleTruncated(): void {
    this.consoleLines.reset();
  }

  journalTruncated(): void {
    this.journalLines.reset();
  }

  /** All inputs are complete: flush partial last lines. */
  end(): void {
    this.analysis.end();
    this.consoleLines.end();
    this.journalLines.end();
  }

  get requests(): number {
    return this.eng.requests;
  }

  /** The state right now (call about once a second: it runs the verdict engine). */
  status(nowMs: number = this.now()): LiveStatus {
    const requests = this.eng.requests;
    this.samples.push({ t: nowMs, requests });
    while (this.samples.length > 2 && nowMs - this.samples[1].t >= RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const dt = (nowMs - first.t) / 1000;
    const ratePerSec = dt > 0 ? (requests - first.requests) / dt : 0;
    const g = this.progress.goalReached;
    const last = this.lastProgress ?? this.lastAny;
    return {
      requests,
      ratePerSec,
      lastMilestone: last ? { text: last.text, source: last.source, hostTime: last.hostTime ?? null } : null,
      goal: g ? { goal: g.goal, hostTime: g.hostTime ?? null, text: g.text } : null,
      sessionEnded: this.eng.sessionEnded,
      unmounted: this.eng.unmounted,
      verdict: this.session.annotate(this.eng.currentVerdict(nowMs)),
      guestLines: this.guestCount,
      lastGuestLineAt: this.lastArrival,
      kernel: this.kernel,
    };
  }

  /** Post-mortem view of what was followed: the analysis, guest result and correlation. */
  results(): LiveResults {
    const a = this.analysis.result();
    if (this.guestCount === 0) return { analysis: a, guest: null, correlation: null };
    if (this.inputsAdded) return this.withGuest(a);
    this.inputsAdded = true;
    this.session.addInput({
      file: this.files.console,
      source: 'console',
      events: this.consoleEvents,
      stats: this.consoleParser.stats,
    });
    this.session.addInput({
      file: this.files.journal,
      source: 'journal',
      events: this.journalEvents,
      stats: this.journalParser.stats,
    });
    return this.withGuest(a);
  }

  private withGuest(a: InputAnalysis): LiveResults {
    const clock = this.session.clock(hostClockFacts(a));
    const guest = this.session.result(clock);
    return { analysis: a, guest, correlation: correlate(a, guest) };
  }

  /** The `--json` analysis document of the followed inputs, with the given verdict. */
  document(toolVersion: string, verdict: Verdict | null, results: LiveResults = this.results()) {
    const { analysis, guest, correlation } = results;
    return analysisDocument(toolVersion, [analysis], [], guest, [correlation], [verdict]);
  }

  /** First kernel `Linux version X` seen in the guest output. */
  get kernelVersion(): string | null {
    return this.kernel;
  }
}
