/**
 * The verdict engine: livelock vs deadlock vs stall vs busy vs healthy, with onset, culprit and evidence.
 *
 * A {@link VirtiofsdSink} (feed it the parser's events) that also takes guest lines ({@link VerdictEngine.guest},
 * with `hostTime` already on the host clock: host-stamped consoles carry it, the caller converts uptimes with
 * `src/analyze/clock.ts`) and daemon lifecycle markers ({@link VerdictEngine.lifecycle}). From bytes it is fed
 * as the `extraSink` of a `VirtiofsdAnalysis`, in the same pass as the post-mortem. Pure and incremental:
 * {@link VerdictEngine.currentVerdict} can be called at any moment (`nowMs` = wall clock while live),
 * {@link VerdictEngine.finish} gives the post-mortem answer.
 * Memory is bounded by the thresholds' caps (per-PID rings, inode ages, progress points), not by log length.
 * Replies are paired with requests once, by the post-mortem reducer that reads the same events (`paired`,
 * `usePairing`); its outstanding requests are the deadlock evidence.
 *
 * A verdict says how the run ended (README "Verdicts"). Decision order:
 * 1. a loop still running at the end of the evidence (its PID still in the cycle, no guest progress or DESTROY
 *    after its last request) → **livelock** once it has held `minLoopSec` with no guest progress, else
 *    **inconclusive** (too short to tell from a burst) unless the goal was reached after the loop began;
 * 2. traffic stopped — a positive sign only: quiet seconds (< `quietRate`) for `quietSec` followed by later
 *    evidence (a daemon line, a guest line, the wall clock while live), or `endOfLog: 'stopped'`; the end of the
 *    file alone is not one — with no goal, no DESTROY and no guest progress in the last `quietSec`
 *    → **deadlock** when requests are outstanding, else **stall** (naming the systemd job the guest waits on);
 * 3. the goal reached, or a DESTROY → **busy** (a heavy stretch ≥ `busyRate` for `busyMinSec` while the guest
 *    progressed) or **healthy**;
 * 4. otherwise **inconclusive** (fewer than `minRequests`, a VM gone mid-traffic, a log cut while running).
 * Loops that ended are reported as episodes on every verdict. A loop is seeded by exact repetitions of a cycle of
 * abstracted tokens and held by membership ({@link PidLoop}); it must revisit a stable inode, run at
 * `minLoopRate` and make up `minLoopShare` of all requests while it runs.
 */

import { IntMap } from '../analyze/bounded.js';
import { PidNames } from '../analyze/pid-names.js';
import { PostMortemReducer } from '../analyze/postmortem.js';
import { ProgressClock, type ProgressClockOptions } from '../analyze/progress.js';
import { type EventRows, newBatch, type RowSink } from '../parse/event-batch.js';
import type { GuestLine, GuestSource } from '../parse/guest-events.js';
import { OP, opcodeName } from '../parse/opcodes.js';
import type { DaemonCode, OutstandingRequest, Pairing } from '../parse/virtiofsd.js';
import { compactCount, hhmmss, pidLabel, shortSignature } from './format.js';
import {
  episodeReps,
  formatToken,
  InodeAges,
  isProductive,
  type LoopEpisode,
  makeToken,
  PidLoop,
  revisitsStableSet,
} from './loop.js';
import { LoopSearchMemory } from './loop-search.js';
import { resolveThresholds, type VerdictThresholds, type VerdictThresholdsInput } from './thresholds.js';
import type { Culprit, EvidencePointer, LoopEpisodeReport, Verdict, WaitingOn } from './types.js';

export interface PidNameSource {
  nameAt(pid: number, hostTimeMs?: number): string | undefined;
}

export interface VerdictEngineOptions {
  thresholds?: VerdictThresholdsInput;
  /** Names for PIDs; default: learned from the guest lines fed to {@link VerdictEngine.guest}. */
  pidNames?: PidNameSource;
  /** Goal definition for the guest (default: multi-user/graphical/default.target, login prompt, power-off). */
  progress?: ProgressClockOptions;
  /** File names for evidence pointers. */
  files?: Partial<Record<EvidencePointer['input'], string>>;
  /**
   * Who pairs replies with requests. `own` (default, an engine fed on its own): a post-mortem reducer of the
   * engine's, fed the same events first. `shared`: the post-mortem that reads the same events pairs them — it
   * calls `paired` after each reply it matched (directly, or through the worker's event batches) and hands its
   * outstanding requests over with `usePairing` (VirtiofsdAnalysis, io/parallel.ts); one pairing step for both.
   */
  pairing?: 'own' | 'shared';
}

export interface FinishOptions {
  /**
   * How the virtiofsd log ended. `running` (default): the end of the file is not evidence that traffic stopped —
   * the log may have been copied while virtiofsd still answered (the bcvk #90 workflow), or the VM was killed
   * mid-traffic; traffic stopped only when a quiet stretch is followed by later evidence. `stopped`: the user
   * knows the daemon stopped answering where the log ends (frozen or killed), so the end of the log is a stop.
   */
  endOfLog?: 'running' | 'stopped';
}

export type LifecycleEvent = 'disconnect' | 'exit';

type Pending = OutstandingRequest;

interface ProgressMark {
  t: number;
  text: string;
  line: number;
  source: GuestSource;
}

interface HeavyStretch {
  start: number;
  end: number;
  peak: number;
}

const READ_LIKE = new Set<number>([OP.READ, OP.READDIR, OP.READDIRPLUS]);

/** Internal sizes, for memory-boundedness tests and `VFS_DEBUG`. */
export interface EngineSizes {
  pids: number;
  ringTokens: number;
  inodeAges: number;
  /** Typed-array pages holding the tracked inodes' ages (each 2^14 inodes). */
  inodePages: number;
  pending: number;
  progressMarks: number;
  episodes: number;
  heavyStretches: number;
}

export class VerdictEngine implements RowSink {
  readonly thresholds: VerdictThresholds;
  /** The one-row scratch `request` and `reply` fill (see `requestAt`). */
  private readonly row: EventRows = newBatch(1);
  private readonly ages: InodeAges;
  private readonly pids = new IntMap<PidLoop>();
  /** The tracker of the latest request (`stream`), whose PID most requests and replies repeat. */
  private lastStream: PidLoop | null = null;
  /** Where the trackers keep their rings and runs (WebAssembly; null: the TypeScript search). */
  private readonly loopMemory = LoopSearchMemory.create();
  /** Eviction candidates, oldest first, with the `lastSeq` each had when listed (see `leastRecent`). */
  private lru: PidLoop[] = [];
  private lruSeq: number[] = [];
  private lruHead = 0;
  private readonly finished: LoopEpisode[] = [];
  private readonly names: PidNameSource;
  private readonly ownNames: PidNames | undefined;
  private readonly clock: ProgressClock;
  private readonly files: Partial<Record<EvidencePointer['input'], string>>;

  private seq = 0;
  private firstTs = Number.NaN;
  private maxTs = Number.NaN;
  private lastReqTs = Number.NaN;
  private lastReqLine = 0;
  /** Latest request in a second with at least `quietRate` requests (traffic, not heartbeat polling). */
  private lastLoudTs = Number.NaN;
  private lastLine = 0;
  /** The engine's own pairing (`pairing: 'own'`), fed each event before the engine. */
  private readonly own: PostMortemReducer | null;
  /** Where the outstanding requests are: the own pairing, or the one handed over (`usePairing`). */
  private pairing: Pairing | null;
  private readonly repliedOps = new Set<number>();
  private destroy: { ts: number; line: number } | undefined;
  private ended: { ts: number; line: number; what: LifecycleEvent } | undefined;

  // Per-second rate and heavy stretches.
  private curSec = Number.NaN;
  private curSecCount = 0;
  private peakRate = 0;
  private heavy: HeavyStretch | undefined;
  private readonly heavyStretches: HeavyStretch[] = [];

  // Guest side.
  private guestLines = 0;
  private lastGuestTs = Number.NaN;
  private lastGuestLine: { source: GuestSource; line: number; text: string } | undefined;
  private readonly marks: ProgressMark[] = [];

  constructor(opts: VerdictEngineOptions = {}) {
    this.thresholds = resolveThresholds(opts.thresholds);
    this.ages = new InodeAges(this.thresholds.freshSpan, this.thresholds.maxTrackedInodes);
    this.own =
      opts.pairing === 'shared'
        ? null
        : new PostMortemReducer({ maxPending: this.thresholds.maxPending, recent: 1, unansweredListed: 0 });
    this.pairing = this.own;
    if (opts.pidNames) {
      this.names = opts.pidNames;
    } else {
      this.ownNames = new PidNames();
      this.names = this.ownNames;
    }
    this.clock = new ProgressClock(opts.progress);
    this.files = opts.files ?? {};
  }

  // ------------------------------------------------------------------------------------------------ feeding

  request(
    ts: number,
    line: number,
    opcode: number,
    nodeid: number,
    unique: number,
    pid: number,
    daemon: DaemonCode,
  ): void {
    const r = this.row;
    r.ts[0] = ts;
    r.line[0] = line;
    r.a[0] = opcode;
    r.b[0] = nodeid;
    r.c[0] = unique;
    r.d[0] = pid;
    r.e[0] = daemon;
    this.requestAt(r, 0);
  }

  /**
   * The request in row `i` of event columns (a replayed batch, see replayBatch). `request` fills a one-row scratch
   * and comes here too: one body, and the time is read here rather than passed (a heap number per call).
   */
  requestAt(rows: EventRows, i: number): void {
    const ts = rows.ts[i];
    const line = rows.line[i];
    const opcode = rows.a[i];
    const nodeid = rows.b[i];
    const pid = rows.d[i];
    this.own?.requestAt(rows, i);
    const seq = ++this.seq;
    this.lastLine = line;
    if (Number.isFinite(ts)) {
      if (Number.isNaN(this.firstTs)) this.firstTs = ts;
      if (!(ts <= this.maxTs)) this.maxTs = ts;
      if (!(ts <= this.lastReqTs)) this.lastReqTs = ts;
      this.countSecond(ts);
      if (this.curSecCount >= this.thresholds.quietRate && !(ts <= this.lastLoudTs)) this.lastLoudTs = ts;
    }
    this.lastReqLine = line;

    if (opcode === OP.INIT) {
      this.ended = undefined;
      this.destroy = undefined;
    } else if (opcode === OP.DESTROY) {
      this.destroy = { ts, line };
    } else if (opcode === OP.FORGET) {
      this.ages.forget(nodeid);
    }

    if (pid > 0 && opcode !== OP.FORGET && opcode !== OP.BATCH_FORGET) {
      const cls = this.ages.classify(nodeid, seq);
      this.stream(pid).pushAt(makeToken(opcode, cls), rows, i, seq);
    }
  }

  reply(ts: number, line: number, unique: number, error: number, len: number): void {
    const r = this.row;
    r.ts[0] = ts;
    r.line[0] = line;
    r.a[0] = unique;
    r.b[0] = error;
    r.c[0] = len;
    this.replyAt(r, 0);
  }

  /** The reply in row `i` of event columns (see `requestAt`). */
  replyAt(rows: EventRows, i: number): void {
    const ts = rows.ts[i];
    this.lastLine = rows.line[i];
    if (Number.isFinite(ts) && !(ts <= this.maxTs)) this.maxTs = ts;
    const own = this.own;
    if (own !== null) {
      own.replyAt(rows, i);
      if (own.pairedOpcode >= 0) this.answered(own.pairedPid, own.pairedOpcode, rows.b[i]);
    }
  }

  /** The reply just given answered this PID's request (see VirtiofsdSink.paired); an engine that pairs on its own
   * (`pairing: 'own'`) goes by its own pairing only. */
  paired(pid: number, opcode: number, error: number): void {
    if (this.own === null) this.answered(pid, opcode, error);
  }

  private answered(pid: number, opcode: number, error: number): void {
    // A C/libfuse DESTROY is answered, but the verdict never waits for one (it ends the session).
    if (opcode === OP.DESTROY) return;
    // mostly the latest request's PID (89% of the bench log's replies, all of a real capture's): no lookup then
    const last = this.lastStream;
    const ep = (last !== null && last.pid === pid ? last : this.pids.get(pid))?.episode;
    if (ep?.running) {
      ep.replies++;
      if (error !== 0) ep.errors++;
    }
    if (opcode === OP.READ || opcode === OP.READDIR || opcode === OP.READDIRPLUS) this.repliedOps.add(opcode);
  }

  /** The post-mortem that pairs these events (`pairing: 'shared'`): its outstanding requests are the verdict's. */
  usePairing(pairing: Pairing): void {
    if (this.own === null) this.pairing = pairing;
  }

  entry(_ts: number, _line: number, _parent: number, _name: string, child: number): void {
    // A C lookup result: the nodeid was (re)allocated now, whatever it meant before.
    this.ages.introduce(child, this.seq);
  }

  /** Daemon lifecycle: Rust `Client disconnected, shutting down`, C `virtio_loop: Exit`. */
  lifecycle(ts: number, line: number, what: LifecycleEvent): void {
    this.lastLine = line;
    if (Number.isFinite(ts) && !(ts <= this.maxTs)) this.maxTs = ts;
    this.ended = { ts: Number.isFinite(ts) ? ts : this.maxTs, line, what };
  }

  /** One guest line (console, debug port, journal); `hostTime` must already be on the host clock. */
  guest(ev: GuestLine): void {
    this.guestLines++;
    this.clock.feed(ev);
    this.ownNames?.observeLine(ev);
    const t = ev.hostTime;
    if (t !== undefined && Number.isFinite(t)) {
      if (!(t <= this.lastGuestTs)) {
        this.lastGuestTs = t;
        this.lastGuestLine = { source: ev.source, line: ev.line, text: ev.text };
      }
      if (ev.progress?.isProgress) this.addMark({ t, text: ev.text, line: ev.line, source: ev.source });
    }
  }

  private addMark(m: ProgressMark): void {
    const a = this.marks;
    let i = a.length;
    while (i > 0 && a[i - 1].t > m.t) i--;
    a.splice(i, 0, m);
    if (a.length > this.thresholds.maxProgressPoints) a.shift();
  }

  private stream(pid: number): PidLoop {
    // A tracker's `pid` is the key it is kept under: an evicted tracker is recycled at once for the new PID (see
    // newStream), so the latest one, if its PID matches, is the one the table would give.
    const last = this.lastStream;
    if (last !== null && last.pid === pid) return last;
    const s = this.pids.get(pid) ?? this.newStream(pid);
    this.lastStream = s;
    return s;
  }

  /**
   * A tracker for a PID not tracked yet. Apart from `stream`, which runs for every request: a function that holds an
   * arrow function capturing `this` makes V8 allocate a context each time it runs, whether the arrow is made or not
   * (~33 bytes per request here, and the main thread's replay 40% slower on the bench log).
   */
  private newStream(pid: number): PidLoop {
    let recycled: PidLoop | undefined;
    if (this.pids.size >= this.thresholds.maxPids) {
      const victim = this.leastRecent();
      if (victim) {
        victim.close();
        this.pids.delete(victim.pid);
        recycled = victim;
      }
    }
    const s = recycled
      ? recycled.reuse(pid)
      : new PidLoop(pid, this.thresholds, (e) => this.keepEpisode(e), this.loopMemory);
    this.pids.set(pid, s);
    return s;
  }

  /**
   * The tracker with the smallest `lastSeq` (exact LRU) in amortised O(log maxPids): one scan keeps the oldest
   * quarter sorted with the `lastSeq` each had. A candidate whose `lastSeq` is unchanged is still the oldest of
   * all — every tracker outside the list had a larger `lastSeq` at the scan, and `lastSeq` only grows.
   */
  private leastRecent(): PidLoop | undefined {
    for (;;) {
      while (this.lruHead < this.lru.length) {
        const c = this.lru[this.lruHead];
        const seq = this.lruSeq[this.lruHead++];
        if (this.pids.get(c.pid) === c && c.lastSeq === seq) return c;
      }
      if (this.pids.size === 0) return undefined;
      const all = [...this.pids.values()].sort((a, b) => a.lastSeq - b.lastSeq);
      this.lru = all.slice(0, Math.max(1, all.length >> 2));
      this.lruSeq = this.lru.map((c) => c.lastSeq);
      this.lruHead = 0;
    }
  }

  private keepEpisode(e: LoopEpisode): void {
    if (!this.sustained(e)) return;
    this.finished.push(e);
    if (this.finished.length > this.thresholds.maxEpisodes) {
      this.finished.sort((a, b) => b.lastTs - b.onsetTs - (a.lastTs - a.onsetTs));
      this.finished.length = this.thresholds.maxEpisodes;
    }
  }

  private countSecond(ts: number): void {
    const sec = Math.floor(ts / 1000);
    if (sec === this.curSec || sec < this.curSec) {
      this.curSecCount++;
      return;
    }
    if (!Number.isNaN(this.curSec)) this.closeSecond(this.curSec, this.curSecCount, sec);
    this.curSec = sec;
    this.curSecCount = 1;
  }

  private closeSecond(sec: number, count: number, nextSec: number): void {
    if (count > this.peakRate) {
      this.peakRate = count;
    }
    const heavy = count >= this.thresholds.busyRate;
    if (heavy) {
      if (this.heavy && this.heavy.end === sec * 1000) {
        this.heavy.end = (sec + 1) * 1000;
        this.heavy.peak = Math.max(this.heavy.peak, count);
      } else {
        this.flushHeavy();
        this.heavy = { start: sec * 1000, end: (sec + 1) * 1000, peak: count };
      }
    }
    if (!heavy || nextSec > sec + 1) this.flushHeavy();
  }

  private flushHeavy(): void {
    const h = this.heavy;
    this.heavy = undefined;
    if (!h || h.end - h.start < this.thresholds.busyMinSec * 1000) return;
    this.heavyStretches.push(h);
    if (this.heavyStretches.length > this.thresholds.maxEpisodes) {
      this.heavyStretches.sort((a, b) => b.end - b.start - (a.end - a.start));
      this.heavyStretches.length = this.thresholds.maxEpisodes;
    }
  }

  // ------------------------------------------------------------------------------------------------ queries

  get sizes(): EngineSizes {
    let ring = 0;
    for (const s of this.pids.values()) ring += s.ringSize;
    return {
      pids: this.pids.size,
      ringTokens: ring,
      inodeAges: this.ages.size,
      inodePages: this.ages.pageCount,
      pending: this.pairing?.outstandingCount ?? 0,
      progressMarks: this.marks.length,
      episodes: this.finished.length,
      heavyStretches: this.heavyStretches.length,
    };
  }

  get requests(): number {
    return this.seq;
  }

  /** Latest time seen in any input (virtiofsd or guest), ms since the epoch; NaN before any. */
  get lastEventTs(): number {
    return this.seq === 0 && this.guestLines === 0 ? Number.NaN : this.endOfEvidence();
  }

  /** The guest unmounted the share (DESTROY) in the current session (since the latest INIT). */
  get unmounted(): boolean {
    return this.destroy !== undefined;
  }

  /** The current session ended: a DESTROY, or the daemon's `Client disconnected` / `virtio_loop: Exit`. */
  get sessionEnded(): boolean {
    return this.destroy !== undefined || this.ended !== undefined;
  }

  /** Latest virtiofsd time seen; NaN before any. */
  get lastDaemonTs(): number {
    return this.maxTs;
  }

  /** The verdict right now. `nowMs` (wall clock, live) is evidence too: no traffic for `quietSec` by it is a stop. */
  currentVerdict(nowMs?: number): Verdict {
    const end = this.endOfEvidence();
    const now = nowMs === undefined ? end : Math.max(nowMs, end);
    return this.judge(now, 'running', nowMs !== undefined);
  }

  /** The post-mortem verdict once every input has been read. */
  finish(opts: FinishOptions = {}): Verdict {
    return this.judge(this.endOfEvidence(), opts.endOfLog ?? 'running', false);
  }

  private endOfEvidence(): number {
    const a = this.maxTs;
    const b = this.lastGuestTs;
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : b;
    if (Number.isNaN(b)) return a;
    return Math.max(a, b);
  }

  /** The shape of a loop worth reporting: long and fast enough, a stable working set, not making progress. */
  private sustained(e: LoopEpisode): boolean {
    const th = this.thresholds;
    if (episodeReps(e) < th.minRepetitions) return false;
    const durMs = e.lastTs - e.onsetTs;
    // Written to be false for NaN: a log without time stamps cannot show a loop held for a time.
    if (!(durMs >= th.minEpisodeSec * 1000)) return false;
    if (!(e.inLoop / Math.max(1, durMs / 1000) >= th.minLoopRate)) return false;
    if (e.inLoop / Math.max(1, e.lastSeq - e.onsetSeq + 1) < th.minLoopShare) return false;
    return revisitsStableSet(e.tokens) && !isProductive(e.tokens);
  }

  private progressDuring(from: number, to: number): ProgressMark[] {
    return this.marks.filter((m) => m.t > from && m.t <= to);
  }

  private firstProgressFrom(t: number): ProgressMark | undefined {
    for (const m of this.marks) if (m.t >= t) return m;
    return undefined;
  }

  private lastProgressBefore(t: number): ProgressMark | undefined {
    let best: ProgressMark | undefined;
    for (const m of this.marks) if (m.t <= t) best = m;
    return best;
  }

  private outstanding(): Pending[] {
    const out: Pending[] = [];
    let all = (this.pairing?.outstanding() ?? []).filter((p) => p.opcode !== OP.DESTROY);
    // at most maxPending, the latest (as a table of that size would have kept them)
    if (all.length > this.thresholds.maxPending) all = all.slice(all.length - this.thresholds.maxPending);
    for (const p of all) {
      // READ-like requests count only once this daemon has been seen to answer that opcode (C successful READ
      // and Rust ≤ 1.6 successful READ/READDIR/READDIRPLUS get no reply line).
      if (READ_LIKE.has(p.opcode) && !this.repliedOps.has(p.opcode)) continue;
      out.push(p);
    }
    return out;
  }

  private allEpisodes(): LoopEpisode[] {
    const out = [...this.finished];
    const running: LoopEpisode[] = [];
    for (const s of this.pids.values()) if (s.episode && this.sustained(s.episode)) running.push(s.episode);
    running.sort((a, b) => a.onsetSeq - b.onsetSeq);
    out.push(...running);
    return out;
  }

  private ptr(
    input: EvidencePointer['input'],
    line: number,
    what: string,
    lineEnd?: number,
  ): EvidencePointer {
    const p: EvidencePointer = { input, line, what };
    const f = this.files[input];
    if (f) p.file = f;
    if (lineEnd !== undefined && lineEnd !== line) p.lineEnd = lineEnd;
    return p;
  }

  private markPtr(m: ProgressMark, what: string): EvidencePointer {
    return this.ptr(m.source, m.line, what);
  }

  /** When traffic (not heartbeat polling) was last seen: the last request of a second with ≥ quietRate requests. */
  private trafficStopAt(): number {
    return Number.isFinite(this.lastLoudTs) ? this.lastLoudTs : this.lastReqTs;
  }

  /**
   * The loop still running at the end of the evidence, if any (the longest-running one): its PID is still in it,
   * its last request is among the last ones, and neither guest progress nor a DESTROY came after it.
   */
  private loopAtEnd(): LoopEpisode | undefined {
    const gap = this.thresholds.loopGapSec * 1000;
    let best: LoopEpisode | undefined;
    for (const s of this.pids.values()) {
      const e = s.episode;
      if (!e?.running || !this.sustained(e) || e.lastTs < this.lastReqTs - gap) continue;
      if (this.destroy && this.destroy.ts >= e.lastTs) continue;
      // Whole-second stamps: a guest line within the loop's last stamped second may precede its last request.
      const after = e.lastTs + (this.stepOf(e.lastTs) ? 0 : 1000);
      if (this.marks.length > 0 && this.marks[this.marks.length - 1].t > after) continue;
      if (!best || e.onsetTs < best.onsetTs || (e.onsetTs === best.onsetTs && e.onsetSeq < best.onsetSeq))
        best = e;
    }
    return best;
  }

  /** What the guest's console says it is waiting on now (job spinners after the last progress). */
  private waitingOn(): WaitingOn[] {
    return this.clock.waitingNow.slice(0, 3).map((h) => {
      const w: WaitingOn = {
        subject: h.subject,
        job: h.kind === 'stop-job-waiting' ? 'stop' : 'start',
        waitedSec: h.maxWaitedS ?? null,
        limitSec: h.limitS ?? null,
        firstSeen: h.first.hostTime ?? null,
        lastSeen: h.last.hostTime ?? null,
        pointer: this.ptr(h.last.source, h.last.line, `guest waiting: ${h.subject}`),
      };
      if (h.unit) w.unit = h.unit;
      return w;
    });
  }

  private episodeReport(e: LoopEpisode, running: boolean, stoppedAt: number | undefined): LoopEpisodeReport {
    const name = this.names.nameAt(e.pid, e.onsetTs);
    const reps = episodeReps(e);
    const durMs = Math.max(0, e.lastTs - e.onsetTs);
    const sig = e.tokens.map(formatToken);
    const r: LoopEpisodeReport = {
      pid: e.pid,
      tokens: sig,
      period: e.period,
      repetitions: reps,
      requests: e.inLoop,
      start: e.onsetTs,
      end: e.lastTs,
      durationSec: durMs / 1000,
      ratePerSec: Math.round(e.inLoop / Math.max(1, durMs / 1000)),
      longestNoProgressSec:
        this.guestLines === 0 ? null : Math.round(this.longestNoProgress(e.onsetTs, e.lastTs) / 100) / 10,
      outcome: 'ended',
      summary: '',
      evidence: [
        this.ptr('virtiofsd', e.onsetLine, `first looping request (pid ${e.pid})`),
        this.ptr('virtiofsd', e.lastLine, 'last looping request'),
      ],
    };
    if (name) r.name = name;
    const who = `${pidLabel(e.pid, name)} ${shortSignature(sig, TITLE_TOKENS)} ×${compactCount(reps)}`;
    const dur = durMs < 10_000 ? `${Math.round(durMs / 100) / 10} s` : `${Math.round(durMs / 1000)} s`;
    if (running) {
      r.outcome = 'running';
      r.summary = `loop still running at the end: ${who} for ${dur}`;
      return r;
    }
    // Second-resolution stamps: progress stamped within the loop's last second can follow it.
    const next = this.firstProgressFrom(e.lastTs - (this.stepOf(e.lastTs) ? 0 : 999));
    const goal = this.clock.goalReached;
    if (next) {
      const isGoal = goal !== undefined && goal.line === next.line && goal.source === next.source;
      r.outcome = isGoal ? 'goal' : 'progress';
      r.after = {
        time: next.t,
        text: next.text,
        pointer: this.markPtr(next, 'guest progress after the loop'),
      };
      r.evidence.push(r.after.pointer);
      r.summary = `transient loop: ${who} for ${dur}, then ${isGoal ? `the goal (${goal?.goal})` : `progress (${next.text})`}`;
    } else if (stoppedAt !== undefined && stoppedAt <= e.lastTs + this.thresholds.loopGapSec * 1000) {
      r.outcome = 'traffic-stopped';
      r.summary = `loop: ${who} for ${dur}, then traffic stopped`;
    } else {
      r.summary = `transient loop: ${who} for ${dur}, then it ended`;
    }
    return r;
  }

  /** Longest stretch of [from, to] with no guest progress mark, ms. */
  private longestNoProgress(from: number, to: number): number {
    let prev = from;
    let best = 0;
    for (const m of this.marks) {
      if (m.t <= from) continue;
      if (m.t > to) break;
      best = Math.max(best, m.t - prev);
      prev = m.t;
    }
    return Math.max(best, to - prev);
  }

  /** True when a time carries sub-second precision (C stamps, host-stamped guest lines); Rust stamps whole seconds. */
  private stepOf(t: number): boolean {
    return t % 1000 !== 0;
  }

  private judge(now: number, endOfLog: 'running' | 'stopped', live: boolean): Verdict {
    const th = this.thresholds;
    const hostOnly = this.guestLines === 0;
    const goal = this.clock.goalReached;
    const conf = (withGuest: number) => (hostOnly ? Math.max(0.1, withGuest - 0.2) : withGuest);

    if (this.seq === 0 && this.guestLines === 0) {
      return {
        hostOnly,
        culprits: [],
        evidence: [],
        episodes: [],
        kind: 'inconclusive',
        confidence: 0,
        title: 'inconclusive: no input yet',
        reason: 'No virtiofsd request and no guest line has been seen yet.',
        onset: null,
        durationSec: null,
      };
    }

    // Traffic stopped needs a positive sign: quiet seconds for quietSec followed by later evidence (a daemon line,
    // a guest line, the wall clock while live), or the user's word that the daemon stopped at the end of the log.
    const tStop = this.trafficStopAt();
    let stopped = false;
    let stopHow = '';
    if (this.seq > 0 && Number.isFinite(tStop)) {
      const gapS = Math.round((now - tStop) / 1000);
      if (endOfLog === 'stopped' && !live) {
        stopped = true;
        stopHow = 'the daemon stopped answering where its log ends (--stopped-at-end)';
      } else if (now - tStop >= th.quietSec * 1000) {
        stopped = true;
        stopHow = live
          ? `no traffic for ${gapS} s by the wall clock`
          : `no traffic for ${gapS} s before the last line of evidence (${this.lastEvidenceWhat()})`;
      }
    }

    const atEnd = stopped ? undefined : this.loopAtEnd();
    const episodes = this.allEpisodes()
      .map((e) => this.episodeReport(e, e === atEnd, stopped ? tStop : undefined))
      .sort((a, b) => b.durationSec - a.durationSec)
      .slice(0, th.maxEpisodes);
    const waitingOn = this.waitingOn();
    const base = {
      hostOnly,
      culprits: [] as Culprit[],
      evidence: [] as EvidencePointer[],
      episodes,
      waitingOn,
    };

    // 1. A loop still running at the end of the evidence.
    if (atEnd) {
      const graceEnd = atEnd.onsetTs + th.progressGraceSec * 1000;
      const lastProg = this.lastProgressBefore(now);
      const progressedInLoop = lastProg !== undefined && lastProg.t > graceEnd ? lastProg : undefined;
      const stuckFrom = progressedInLoop ? progressedInLoop.t : atEnd.onsetTs;
      const stuckSec = (now - stuckFrom) / 1000;
      if (stuckSec >= th.minLoopSec) {
        return this.judgeLivelock(atEnd, now, stuckFrom, progressedInLoop, hostOnly, conf, base);
      }
      // The goal vindicates the end of a run only when it came after the loop began.
      const goalAt = goal?.hostTime;
      const loopBegan = atEnd.onsetTs + (this.stepOf(atEnd.onsetTs) ? 0 : 1000);
      if (!goal || (goalAt !== undefined && goalAt < loopBegan)) {
        const name = this.names.nameAt(atEnd.pid, atEnd.onsetTs);
        const sig = shortSignature(atEnd.tokens.map(formatToken), TITLE_TOKENS);
        return {
          ...base,
          kind: 'inconclusive',
          confidence: 0.4,
          title: `inconclusive: ${pidLabel(atEnd.pid, name)} looping for ${Math.round(
            (now - atEnd.onsetTs) / 1000,
          )} s at the end, under ${th.minLoopSec} s`,
          reason: `${pidLabel(atEnd.pid, name)} repeats ${sig} ×${compactCount(episodeReps(atEnd))} and was still doing so at the end of the evidence, but ${
            progressedInLoop
              ? `the guest progressed ${Math.round(stuckSec)} s before the end`
              : `for ${Math.round(stuckSec)} s only`
          }: a livelock needs ${th.minLoopSec} s of looping with no guest progress (healthy boots show loop-like bursts of up to ~11 s). The evidence ends too soon to tell a livelock from a burst.`,
          onset: atEnd.onsetTs,
          onsetMethod: 'start of the loop (per-PID period detection over abstracted tokens)',
          durationSec: Math.max(0, (now - atEnd.onsetTs) / 1000),
          evidence: [
            this.ptr('virtiofsd', atEnd.onsetLine, `first looping request (pid ${atEnd.pid})`),
            this.ptr('virtiofsd', atEnd.lastLine, 'latest looping request'),
          ],
        };
      }
    }

    // 2. Traffic stopped, and the guest neither reached its goal, nor progressed after, nor unmounted cleanly.
    if (stopped) {
      // The guest may go on printing for a while from its caches; it is stalled once it has made no progress
      // for quietSec before the end of the evidence either.
      const recentProgress = this.progressDuring(now - th.quietSec * 1000, Number.POSITIVE_INFINITY);
      if (!goal && recentProgress.length === 0 && this.destroy === undefined) {
        if (this.seq < th.minRequests) return this.thin(base);
        return this.judgeStopped(now, tStop, stopHow, hostOnly, conf, base);
      }
    }

    // 3. The goal, or a clean unmount: busy or healthy.
    const busy = this.busyStretch(hostOnly);
    if (goal || this.destroy) {
      const ev: EvidencePointer[] = [];
      if (goal) ev.push(this.ptr(goal.source, goal.line, `goal reached: ${goal.goal}`));
      if (this.destroy) ev.push(this.ptr('virtiofsd', this.destroy.line, 'DESTROY (guest unmounted)'));
      else if (this.ended) ev.push(this.ptr('virtiofsd', this.ended.line, `daemon ${this.ended.what}`));
      const endWhat = goal ? `the guest reached ${goal.goal}` : 'the guest unmounted the share (DESTROY)';
      const epNote =
        episodes.length > 0
          ? ` ${episodes.length} loop episode${episodes.length === 1 ? '' : 's'} seen (longest ${Math.round(
              episodes[0].durationSec,
            )} s: ${episodes[0].summary}).`
          : '';
      if (busy) {
        const productive = this.allEpisodes().find((e) => isProductive(e.tokens));
        return {
          ...base,
          evidence: ev,
          kind: 'busy',
          confidence: conf(goal ? 0.8 : 0.7),
          title: `busy: ${compactCount(busy.peak)} req/s peak for ${Math.round((busy.end - busy.start) / 1000)} s, ${
            hostOnly ? 'host only' : 'guest progressing'
          }`,
          reason: `Heavy traffic (≥ ${th.busyRate} req/s for ${Math.round((busy.end - busy.start) / 1000)} s)${
            hostOnly ? '' : ' while the guest kept making progress'
          }${productive ? ` (pid ${productive.pid} repeats a pattern that creates entries every iteration: the tree grows)` : ''}; ${endWhat}.${epNote}`,
          onset: busy.start,
          onsetMethod: 'first second of the longest heavy stretch',
          durationSec: (busy.end - busy.start) / 1000,
          window: { start: busy.start, end: busy.end },
        };
      }
      return {
        ...base,
        evidence: ev,
        kind: 'healthy',
        confidence: conf(goal ? 0.9 : 0.7),
        title: `healthy: ${goal ? `reached ${goal.goal}` : 'unmounted (DESTROY)'}`,
        reason: `${endWhat[0].toUpperCase()}${endWhat.slice(1)}; no loop running at the end, no outstanding request; ${this.seq} requests${
          this.peakRate > 0 ? `, peak ${this.peakRate} req/s` : ''
        }.${epNote}`,
        onset: null,
        durationSec: null,
      };
    }

    if (this.seq < th.minRequests) return this.thin(base);

    // 4. Traffic stopped but the guest went on (running from its caches), or the daemon went away mid-traffic.
    const recent = this.progressDuring(now - th.quietSec * 1000, Number.POSITIVE_INFINITY);
    if (!hostOnly && recent.length > 0) {
      const heavyNow =
        this.heavy !== undefined || (busy !== undefined && busy.end >= now - th.quietSec * 1000);
      return {
        ...base,
        kind: heavyNow ? 'busy' : 'healthy',
        confidence: 0.5,
        title: heavyNow ? 'busy: heavy traffic, guest progressing' : 'healthy: guest progressing',
        reason: `Still running at the end of the evidence: the guest made progress ${Math.round(
          (now - recent[recent.length - 1].t) / 1000,
        )} s before it, no loop is running, traffic has not stopped; the goal was not reached (yet).`,
        onset: null,
        durationSec: null,
        evidence: [this.markPtr(recent[recent.length - 1], 'latest guest progress')],
      };
    }
    const why = Number.isNaN(this.maxTs)
      ? 'the log carries no time stamps, so loops, rates and stops cannot be timed'
      : this.ended
        ? `the daemon logged "${this.ended.what === 'disconnect' ? 'Client disconnected' : 'virtio_loop: Exit'}" while requests were still flowing (the VM went away mid-traffic, no DESTROY)`
        : stopped
          ? `traffic stopped (${stopHow}) but the guest kept progressing`
          : 'the log ends mid-traffic (captured while running, or the VM was killed)';
    return {
      ...base,
      kind: 'inconclusive',
      confidence: 0.3,
      title: 'inconclusive: no hang signature',
      reason: `${this.seq} requests; ${why}; ${
        // Untimed (libfuse -d, env_logger without time): a loop can be neither ruled out nor timed.
        Number.isNaN(this.maxTs)
          ? 'whether a loop was still running at the end cannot be told'
          : 'no loop running at the end'
      }${hostOnly ? ', no guest input' : ', no recent guest progress, no goal reached'}.`,
      onset: null,
      durationSec: null,
    };
  }

  private lastEvidenceWhat(): string {
    if (this.ended && this.ended.ts >= this.maxTs)
      return `virtiofsd line ${this.ended.line}: daemon ${this.ended.what}`;
    if (this.lastGuestLine && this.lastGuestTs >= this.maxTs) {
      return `${this.lastGuestLine.source} line ${this.lastGuestLine.line}`;
    }
    return `virtiofsd line ${this.lastLine}`;
  }

  private thin(
    base: Pick<Verdict, 'hostOnly' | 'culprits' | 'evidence' | 'episodes' | 'waitingOn'>,
  ): Verdict {
    return {
      ...base,
      kind: 'inconclusive',
      confidence: 0.2,
      title: `inconclusive: only ${this.seq} request${this.seq === 1 ? '' : 's'}`,
      reason: `Only ${this.seq} virtiofsd request${this.seq === 1 ? '' : 's'} (fewer than minRequests=${
        this.thresholds.minRequests
      })${this.guestLines === 0 ? ' and no guest input' : ' and the guest did not reach its goal'}: too little evidence to call a hang.`,
      onset: null,
      durationSec: null,
    };
  }

  private busyStretch(hostOnly: boolean): HeavyStretch | undefined {
    const all = [...this.heavyStretches];
    if (this.heavy && this.heavy.end - this.heavy.start >= this.thresholds.busyMinSec * 1000)
      all.push(this.heavy);
    let best: HeavyStretch | undefined;
    for (const h of all) {
      if (!hostOnly && this.progressDuring(h.start, h.end).length === 0) continue;
      if (!best || h.end - h.start > best.end - best.start) best = h;
    }
    return best;
  }

  private waitingText(w: WaitingOn[]): string {
    if (w.length === 0) return '';
    const h = w[0];
    const ran =
      h.waitedSec !== null
        ? ` (job running ${fmtDur(h.waitedSec)} / ${h.limitSec === null ? 'no limit' : fmtDur(h.limitSec)})`
        : '';
    return `${h.unit ?? h.subject}${ran}`;
  }

  private judgeStopped(
    now: number,
    tStop: number,
    stopHow: string,
    hostOnly: boolean,
    conf: (x: number) => number,
    base: Pick<Verdict, 'hostOnly' | 'culprits' | 'evidence' | 'episodes' | 'waitingOn'>,
  ): Verdict {
    const out = this.outstanding();
    const evidence: EvidencePointer[] = [this.ptr('virtiofsd', this.lastReqLine, 'last request')];
    const lp = this.lastProgressBefore(Number.POSITIVE_INFINITY);
    if (this.lastGuestLine) {
      evidence.push(
        this.ptr(
          this.lastGuestLine.source,
          this.lastGuestLine.line,
          `last guest line: ${this.lastGuestLine.text}`,
        ),
      );
    }
    const waiting = base.waitingOn ?? [];
    for (const w of waiting) evidence.push(w.pointer);
    const waitTxt = this.waitingText(waiting);
    const ct: Verdict['criticalTransition'] = {};
    if (lp) ct.lastProgress = { time: lp.t, text: lp.text, pointer: this.markPtr(lp, 'last guest progress') };
    const end = Math.max(now, tStop);
    const priorLoop = this.allEpisodes().sort((a, b) => b.lastTs - a.lastTs)[0];
    const loopNote = priorLoop
      ? ` Before that, pid ${priorLoop.pid} was looping (${priorLoop.tokens.map(formatToken).join('→')} ×${compactCount(
          episodeReps(priorLoop),
        )}).`
      : '';
    const progressNote = hostOnly
      ? ' (virtiofsd log only: no guest output to confirm the guest was stuck)'
      : lp
        ? ` The guest last progressed at ${hhmmss(lp.t)} (${lp.text})${waitTxt ? ` and is waiting on ${waitTxt}` : ''}.`
        : waitTxt
          ? ` The guest is waiting on ${waitTxt}.`
          : ' The guest never reached its goal.';
    if (out.length > 0) {
      out.sort((a, b) => a.ts - b.ts);
      const oldest = out[0];
      const byPid = new Map<number, number>();
      for (const p of out) byPid.set(p.pid, (byPid.get(p.pid) ?? 0) + 1);
      const culprits: Culprit[] = [...byPid.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([pid, n]) => {
          const c: Culprit = { pid, requests: n, share: n / out.length, detail: 'has requests outstanding' };
          const name = this.names.nameAt(pid, oldest.ts);
          if (name) c.name = name;
          return c;
        });
      for (const p of out.slice(0, 10)) {
        evidence.push(
          this.ptr('virtiofsd', p.line, `unanswered ${opcodeName(p.opcode)}(${p.nodeid}) pid ${p.pid}`),
        );
      }
      return {
        ...base,
        kind: 'deadlock',
        confidence: conf(0.85),
        title: `deadlock: ${out.length} request${out.length === 1 ? '' : 's'} unanswered, oldest ${opcodeName(
          oldest.opcode,
        )}(${oldest.nodeid}) ${pidLabel(oldest.pid, culprits.find((c) => c.pid === oldest.pid)?.name)} since ${hhmmss(
          oldest.ts,
        )}`,
        reason: `Traffic stopped (${stopHow}) with ${out.length} request(s) never answered: the daemon or the guest is blocked.${progressNote}${loopNote}`,
        onset: oldest.ts,
        onsetMethod: 'time of the oldest unanswered request',
        durationSec: Math.max(0, (end - oldest.ts) / 1000),
        culprits,
        criticalTransition: ct,
        evidence,
        window: { start: oldest.ts, end },
      };
    }
    const silentS = Math.round((end - tStop) / 1000);
    return {
      ...base,
      kind: 'stall',
      confidence: conf(this.ended || this.lastGuestTs > tStop ? 0.8 : 0.7),
      title: `stall: traffic stopped at ${hhmmss(tStop)}${waitTxt ? `, guest waiting on ${waitTxt}` : ', nothing outstanding'}`,
      reason: `Traffic stopped (${stopHow}) with every logged request answered and no guest progress since: the guest made no progress and sent no traffic for ${silentS} s${
        this.ended ? ', then the VM was stopped' : ''
      } — a hang outside the logged filesystem traffic (a guest-side wait, or a daemon stopped before dequeuing the next request).${progressNote}${loopNote}`,
      onset: tStop,
      onsetMethod: 'time of the last request of the last second with traffic (≥ quietRate req/s)',
      durationSec: Math.max(0, (end - tStop) / 1000),
      culprits: [],
      criticalTransition: ct,
      evidence,
      window: { start: tStop, end },
    };
  }

  private judgeLivelock(
    e: LoopEpisode,
    now: number,
    stuckFrom: number,
    progressedInLoop: ProgressMark | undefined,
    hostOnly: boolean,
    conf: (x: number) => number,
    base: Pick<Verdict, 'hostOnly' | 'culprits' | 'evidence' | 'episodes' | 'waitingOn'>,
  ): Verdict {
    const reps = episodeReps(e);
    const windowReqs = Math.max(1, e.lastSeq - e.onsetSeq + 1);
    const durMs = Math.max(1, e.lastTs - e.onsetTs);
    const ratePerSec = reps / Math.max(1, durMs / 1000);
    const name = this.names.nameAt(e.pid, e.onsetTs);
    const sig = e.tokens.map(formatToken);
    const share = Math.min(1, e.inLoop / windowReqs);
    const culprit: Culprit = { pid: e.pid, requests: e.inLoop, share };
    if (name) culprit.name = name;
    const waiting = base.waitingOn ?? [];
    const waitTxt = this.waitingText(waiting);
    if (!name && waiting.length > 0) culprit.inferredUnit = waiting[0].unit ?? waiting[0].subject;
    const lp = this.lastProgressBefore(e.onsetTs + this.thresholds.progressGraceSec * 1000);
    const evidence: EvidencePointer[] = [
      this.ptr('virtiofsd', e.onsetLine, `first looping request (pid ${e.pid})`),
      this.ptr('virtiofsd', e.lastLine, 'latest looping request'),
    ];
    const ct: NonNullable<Verdict['criticalTransition']> = {
      firstLoopRequest: { time: e.onsetTs, pointer: evidence[0] },
    };
    const last = progressedInLoop ?? lp;
    if (last) {
      ct.lastProgress = {
        time: last.t,
        text: last.text,
        pointer: this.markPtr(
          last,
          progressedInLoop ? 'last guest progress (during the loop)' : 'last guest progress before onset',
        ),
      };
      evidence.push(ct.lastProgress.pointer as EvidencePointer);
    }
    for (const w of waiting) evidence.push(w.pointer);
    const stable = e.stableInodes;
    const fresh = e.tokens.some((t) => Math.floor(t / 8192) === 0);
    const flat = `the loop's working set stays at ${stable} stable inode${stable === 1 ? '' : 's'}${
      fresh ? ' plus inodes allocated afresh (and forgotten) every iteration' : ''
    }`;
    const errs = e.errors;
    const okPct = e.replies > 0 ? Math.round(((e.replies - errs) / e.replies) * 1000) / 10 : 100;
    const stuckS = Math.round((now - stuckFrom) / 1000);
    const noisePct = Math.round((e.outside / Math.max(1, e.inLoop + e.outside)) * 100);
    const noise = noisePct > 0 ? ` (${noisePct}% of its requests in that time were other requests)` : '';
    const stuckTxt = hostOnly
      ? `still looping at the end of the log, ${stuckS} s after it began; no guest input to confirm the lack of progress`
      : progressedInLoop
        ? `still looping at the end of the evidence; the guest's last progress was at ${hhmmss(progressedInLoop.t)} (${progressedInLoop.text}), then nothing for ${stuckS} s`
        : `still looping at the end of the evidence, with no guest progress for the ${stuckS} s since it began`;
    const inferred = culprit.inferredUnit
      ? ` The journal does not name pid ${e.pid}; inferred from the console: it belongs to ${culprit.inferredUnit}, whose job is running.`
      : '';
    return {
      ...base,
      kind: 'livelock',
      confidence: conf(0.9),
      title: `livelock: ${pidLabel(e.pid, name)} ${shortSignature(sig, TITLE_TOKENS)} ×${compactCount(reps)} since ${hhmmss(e.onsetTs)}`,
      reason: `${pidLabel(e.pid, name)} repeated a ${e.period}-request cycle ${reps} times at ${Math.round(
        e.inLoop / Math.max(1, durMs / 1000),
      )} req/s${noise}, answered (${okPct}% of its replies OK${errs > 0 ? `, ${errs} errors — an error storm is a loop too` : ''}), ${stuckTxt}${
        waitTxt ? `; the guest is waiting on ${waitTxt}` : ''
      }; ${flat}.${inferred}`,
      onset: e.onsetTs,
      onsetMethod:
        "start of the loop: the first request of the back-to-back repetitions of the cycle that began it (per-PID period detection over abstracted tokens, held while ≥ 70% of the PID's requests stay in the cycle)",
      durationSec: Math.max(0, (now - e.onsetTs) / 1000),
      culprits: [culprit],
      loop: { tokens: sig, period: e.period, repetitions: reps, ratePerSec, share },
      criticalTransition: ct,
      evidence,
      window: { start: e.onsetTs, end: now },
    };
  }
}

/** Signature tokens kept in titles and episode summaries (the full signature is in `loop.tokens`). */
const TITLE_TOKENS = 8;

/** 114 → "1min 54s", 13 → "13s" (systemd's own spelling). */
function fmtDur(s: number): string {
  const m = Math.floor(s / 60);
  const r = Math.round(s - m * 60);
  return m > 0 ? `${m}min${r ? ` ${r}s` : ''}` : `${r}s`;
}
