/**
 * The verdict engine: livelock vs deadlock vs stall vs busy vs healthy, with onset, culprit and evidence.
 *
 * A {@link VirtiofsdSink} (feed it the parser's events) that also takes guest lines ({@link VerdictEngine.guest},
 * with `hostTime` already on the host clock: host-stamped consoles carry it, the caller converts uptimes with
 * `src/analyze/clock.ts`) and daemon lifecycle markers ({@link VerdictEngine.lifecycle}). From bytes it is fed
 * as the `extraSink` of a `VirtiofsdAnalysis`, in the same pass as the post-mortem. Pure and incremental:
 * {@link VerdictEngine.currentVerdict} can be called at any moment (`nowMs` = wall clock while live),
 * {@link VerdictEngine.finish} gives the post-mortem answer.
 * Memory is bounded by the thresholds' caps (per-PID rings, inode ages, pending requests, progress points), not
 * by log length.
 *
 * Decision order (prior-art §5 A–C):
 * 1. traffic stopped (live: no request for `quietSec`; post-mortem: the log ends with no DESTROY, no
 *    `Client disconnected` / `virtio_loop: Exit` — the daemon stopped writing) and the guest did not reach its goal
 *    → **deadlock** when requests are still outstanding, else **stall**;
 * 2. a PID looped (same abstracted token period ≥ `minRepetitions` times, ≥ `minLoopSec`, ≥ `minLoopRate`)
 *    with no guest progress during the loop → **livelock** (also after the loop ended and the guest recovered:
 *    post-mortem reports the episode);
 * 3. goal reached / clean end → **busy** (a heavy stretch ≥ `busyRate` for `busyMinSec` while the guest
 *    progressed, or host-only) or **healthy**;
 * 4. otherwise **inconclusive** (thin evidence, or live with no hang signature yet).
 */

import { PendingTable } from '../analyze/pending-table.js';
import { PidNames } from '../analyze/pid-names.js';
import { ProgressClock, type ProgressClockOptions } from '../analyze/progress.js';
import type { GuestLine, GuestSource } from '../parse/guest-events.js';
import { neverReplied, OP, opcodeName } from '../parse/opcodes.js';
import { Daemon, type DaemonCode, type VirtiofsdSink } from '../parse/virtiofsd.js';
import { compactCount, hhmmss, pidLabel } from './format.js';
import {
  episodeReps,
  formatToken,
  InodeAges,
  isProductive,
  type LoopEpisode,
  makeToken,
  PidLoop,
} from './loop.js';
import { resolveThresholds, type VerdictThresholds, type VerdictThresholdsInput } from './thresholds.js';
import type { Culprit, EvidencePointer, Verdict } from './types.js';

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
}

export interface FinishOptions {
  /**
   * How the virtiofsd log ended. `stopped` (default): the daemon stopped writing (post-mortem of a finished or
   * killed run), so a log that ends with no DESTROY / disconnect means traffic stopped. `cut`: the log was copied
   * while the daemon still ran; judged as if polled live at its last timestamp.
   */
  endOfLog?: 'stopped' | 'cut';
}

export type LifecycleEvent = 'disconnect' | 'exit';

interface Pending {
  ts: number;
  line: number;
  opcode: number;
  nodeid: number;
  pid: number;
}

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
  pending: number;
  progressMarks: number;
  episodes: number;
  heavyStretches: number;
}

export class VerdictEngine implements VirtiofsdSink {
  readonly thresholds: VerdictThresholds;
  private readonly ages: InodeAges;
  private readonly pids = new Map<number, PidLoop>();
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
  private lastLine = 0;
  private okReplies = 0;
  private errReplies = 0;
  private readonly pending: PendingTable;
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
    this.pending = new PendingTable(this.thresholds.maxPending);
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
    const seq = ++this.seq;
    this.lastLine = line;
    if (Number.isFinite(ts)) {
      if (Number.isNaN(this.firstTs)) this.firstTs = ts;
      if (!(ts <= this.maxTs)) this.maxTs = ts;
      if (!(ts <= this.lastReqTs)) this.lastReqTs = ts;
      this.countSecond(ts);
    }
    this.lastReqLine = line;

    if (opcode === OP.INIT) {
      this.pending.clear();
      this.ended = undefined;
      this.destroy = undefined;
    } else if (opcode === OP.DESTROY) {
      this.destroy = { ts, line };
    } else if (opcode === OP.FORGET) {
      this.ages.forget(nodeid);
    }

    if (unique >= 0 && !neverReplied(opcode) && opcode !== OP.DESTROY) {
      if (!(daemon === Daemon.c && opcode === OP.READ)) {
        this.pending.set(unique, opcode, nodeid, pid, ts, line);
      }
    }

    if (pid > 0 && opcode !== OP.FORGET && opcode !== OP.BATCH_FORGET) {
      const cls = this.ages.classify(nodeid, seq);
      this.stream(pid).push(makeToken(opcode, cls), ts, line, seq);
    }
  }

  reply(ts: number, line: number, unique: number, error: number, _len: number): void {
    this.lastLine = line;
    if (Number.isFinite(ts) && !(ts <= this.maxTs)) this.maxTs = ts;
    if (error === 0) this.okReplies++;
    else this.errReplies++;
    if (this.pending.take(unique)) {
      const op = this.pending.takenOpcode;
      if (op === OP.READ || op === OP.READDIR || op === OP.READDIRPLUS) this.repliedOps.add(op);
    }
  }

  entry(_ts: number, _line: number, _parent: number, _name: string, child: number): void {
    // A C lookup result: the nodeid was (re)allocated now, whatever it meant before.
    this.ages.introduce(child, this.seq);
  }

  /** Daemon lifecycle: Rust `Client disconnected, shutting down`, C `virtio_loop: Exit`. */
  lifecycle(ts: number, line: number, what: LifecycleEvent): void {
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
    let s = this.pids.get(pid);
    if (s) return s;
    if (this.pids.size >= this.thresholds.maxPids) {
      let victim: PidLoop | undefined;
      for (const c of this.pids.values()) if (!victim || c.lastSeq < victim.lastSeq) victim = c;
      if (victim) {
        victim.close();
        this.pids.delete(victim.pid);
      }
    }
    s = new PidLoop(pid, this.thresholds, (e) => this.keepEpisode(e));
    this.pids.set(pid, s);
    return s;
  }

  private keepEpisode(e: LoopEpisode): void {
    if (!this.sustained(e)) return;
    this.finished.push(e);
    if (this.finished.length > this.thresholds.maxEpisodes) {
      this.finished.sort((a, b) => episodeReps(b) - episodeReps(a));
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
      pending: this.pending.size,
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

  /** Latest virtiofsd time seen; NaN before any. */
  get lastDaemonTs(): number {
    return this.maxTs;
  }

  /** The verdict right now. `nowMs` (wall clock, live) lets "no request for quietSec" count as traffic stopped. */
  currentVerdict(nowMs?: number): Verdict {
    const now = nowMs ?? this.endOfEvidence();
    return this.judge(now, 'live');
  }

  /** The post-mortem verdict once every input has been read. */
  finish(opts: FinishOptions = {}): Verdict {
    const now = this.endOfEvidence();
    return this.judge(now, opts.endOfLog === 'cut' ? 'live' : 'final');
  }

  private endOfEvidence(): number {
    const a = this.maxTs;
    const b = this.lastGuestTs;
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : b;
    if (Number.isNaN(b)) return a;
    return Math.max(a, b);
  }

  private sustained(e: LoopEpisode): boolean {
    const th = this.thresholds;
    if (episodeReps(e) < th.minRepetitions) return false;
    const durMs = e.lastTs - e.onsetTs;
    if (durMs < th.minLoopSec * 1000) return false;
    const rate = (episodeReps(e) * e.period) / Math.max(1, durMs / 1000);
    return rate >= th.minLoopRate;
  }

  private progressDuring(from: number, to: number): ProgressMark[] {
    return this.marks.filter((m) => m.t > from && m.t <= to);
  }

  private lastProgressBefore(t: number): ProgressMark | undefined {
    let best: ProgressMark | undefined;
    for (const m of this.marks) if (m.t <= t) best = m;
    return best;
  }

  private outstanding(): Pending[] {
    const out: Pending[] = [];
    for (const p of this.pending.values() as Pending[]) {
      // READ-like requests count only once this daemon has been seen to answer that opcode (C successful READ
      // and Rust ≤ 1.6 successful READ/READDIR/READDIRPLUS get no reply line).
      if (READ_LIKE.has(p.opcode) && !this.repliedOps.has(p.opcode)) continue;
      out.push(p);
    }
    return out;
  }

  private allEpisodes(): LoopEpisode[] {
    const out = [...this.finished];
    for (const s of this.pids.values()) if (s.episode && this.sustained(s.episode)) out.push(s.episode);
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

  private judge(now: number, mode: 'live' | 'final'): Verdict {
    const th = this.thresholds;
    const hostOnly = this.guestLines === 0;
    const goal = this.clock.goalReached;
    const conf = (withGuest: number) => (hostOnly ? Math.max(0.1, withGuest - 0.2) : withGuest);
    const base = { hostOnly, culprits: [] as Culprit[], evidence: [] as EvidencePointer[] };

    if (this.seq === 0 && this.guestLines === 0) {
      return {
        ...base,
        kind: 'inconclusive',
        confidence: 0,
        title: 'inconclusive: no input yet',
        reason: 'No virtiofsd request and no guest line has been seen yet.',
        onset: null,
        durationSec: null,
      };
    }

    const goalAt = goal?.hostTime;
    const cleanEnd = this.destroy !== undefined || this.ended !== undefined;

    // 1. Traffic stopped.
    const lastReq = this.lastReqTs;
    let stopped = false;
    let stopHow = '';
    if (this.seq > 0 && !cleanEnd && Number.isFinite(lastReq)) {
      if (mode === 'final') {
        stopped = true;
        stopHow =
          'the virtiofsd log ends with no DESTROY and no "Client disconnected"/"virtio_loop: Exit" (the daemon stopped writing)';
      } else if (now - lastReq >= th.quietSec * 1000) {
        stopped = true;
        stopHow = `no request for ${Math.round((now - lastReq) / 1000)} s`;
      }
    }
    const goalAfterStop = goal !== undefined && (goalAt === undefined || goalAt >= lastReq - 1000);
    const progressAfterStop = this.progressDuring(lastReq + th.quietSec * 1000, Number.POSITIVE_INFINITY);
    if (stopped && !goalAfterStop && progressAfterStop.length === 0) {
      return this.judgeStopped(now, lastReq, stopHow, hostOnly, conf);
    }

    // 2. Livelock.
    const live = mode === 'live';
    const candidates = this.allEpisodes()
      .filter((e) => !live || e.lastTs >= this.lastReqTs - th.loopGapSec * 1000)
      .map((e) => ({ e, prog: this.progressDuring(e.onsetTs + th.progressGraceSec * 1000, e.lastTs) }));
    const looping = candidates
      .filter((c) => c.prog.length === 0 && !isProductive(c.e.tokens))
      .sort((a, b) => episodeReps(b.e) - episodeReps(a.e));
    if (looping.length > 0) return this.judgeLivelock(looping[0].e, now, mode, hostOnly, conf);

    // 3. Goal / clean end: busy or healthy.
    const busy = this.busyStretch(hostOnly);
    const progressingLoop = candidates.find((c) => c.prog.length > 0 || isProductive(c.e.tokens));
    if (goal || cleanEnd || (stopped && (goalAfterStop || progressAfterStop.length > 0))) {
      const ev: EvidencePointer[] = [];
      if (goal) ev.push(this.ptr(goal.source, goal.line, `goal reached: ${goal.goal}`));
      if (this.destroy) ev.push(this.ptr('virtiofsd', this.destroy.line, 'DESTROY (guest unmounted)'));
      else if (this.ended) ev.push(this.ptr('virtiofsd', this.ended.line, `daemon ${this.ended.what}`));
      const endWhat = goal
        ? `the guest reached ${goal.goal}`
        : this.destroy
          ? 'the guest unmounted (DESTROY)'
          : 'the daemon shut down normally';
      if (busy) {
        return {
          ...base,
          evidence: ev,
          kind: 'busy',
          confidence: conf(0.8),
          title: `busy: ${compactCount(busy.peak)} req/s peak for ${Math.round((busy.end - busy.start) / 1000)} s, ${
            hostOnly ? (progressingLoop ? 'tree growing' : 'no loop') : 'guest progressing'
          }`,
          reason: `Heavy traffic (≥ ${th.busyRate} req/s for ${Math.round((busy.end - busy.start) / 1000)} s)${
            hostOnly ? ' with no repeating loop' : ' while the guest kept making progress'
          }${
            progressingLoop
              ? ` (pid ${progressingLoop.e.pid} repeats a ${progressingLoop.e.period}-request pattern ×${compactCount(
                  episodeReps(progressingLoop.e),
                )}, but ${
                  progressingLoop.prog.length > 0
                    ? 'the guest progressed during it'
                    : 'every iteration creates new entries: the tree grows'
                })`
              : ''
          }; ${endWhat}.`,
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
        confidence: conf(goal ? 0.9 : 0.8),
        title: `healthy: ${goal ? `reached ${goal.goal}` : this.destroy ? 'unmounted (DESTROY)' : 'daemon shut down'}`,
        reason: `${endWhat[0].toUpperCase()}${endWhat.slice(1)}; no livelock loop, no outstanding request; ${
          this.seq
        } requests, peak ${this.peakRate} req/s.`,
        onset: null,
        durationSec: null,
      };
    }

    if (this.seq < th.minRequests) {
      return {
        ...base,
        kind: 'inconclusive',
        confidence: 0.2,
        title: `inconclusive: only ${this.seq} requests`,
        reason: `Only ${this.seq} virtiofsd requests${hostOnly ? ' and no guest input' : ''}: too little evidence.`,
        onset: null,
        durationSec: null,
      };
    }

    // 4. Live, nothing wrong yet.
    const recent = this.progressDuring(now - th.quietSec * 1000, Number.POSITIVE_INFINITY);
    if (!hostOnly && recent.length > 0) {
      const heavyNow =
        this.heavy !== undefined || (busy !== undefined && busy.end >= now - th.quietSec * 1000);
      return {
        ...base,
        kind: heavyNow ? 'busy' : 'healthy',
        confidence: 0.5,
        title: heavyNow ? 'busy: heavy traffic, guest progressing' : 'healthy: guest progressing',
        reason: `Running: the guest made progress ${Math.round((now - recent[recent.length - 1].t) / 1000)} s ago; no loop, traffic not stopped.`,
        onset: null,
        durationSec: null,
        evidence: [this.markPtr(recent[recent.length - 1], 'latest guest progress')],
      };
    }
    return {
      ...base,
      kind: 'inconclusive',
      confidence: 0.3,
      title: 'inconclusive: no hang signature yet',
      reason: `${this.seq} requests, no repeating loop, traffic not stopped${
        hostOnly ? ', no guest input' : ', no recent guest progress'
      }.`,
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

  private judgeStopped(
    now: number,
    lastReq: number,
    stopHow: string,
    hostOnly: boolean,
    conf: (x: number) => number,
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
    const ct: Verdict['criticalTransition'] = {};
    if (lp) ct.lastProgress = { time: lp.t, text: lp.text, pointer: this.markPtr(lp, 'last guest progress') };
    const end = Math.max(now, lastReq);
    const priorLoop = this.allEpisodes().sort((a, b) => b.lastTs - a.lastTs)[0];
    const loopNote = priorLoop
      ? ` Before that, pid ${priorLoop.pid} was looping (${priorLoop.tokens.map(formatToken).join('→')} ×${compactCount(
          episodeReps(priorLoop),
        )}).`
      : '';
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
        kind: 'deadlock',
        confidence: conf(0.85),
        title: `deadlock: ${out.length} request${out.length === 1 ? '' : 's'} unanswered, oldest ${opcodeName(
          oldest.opcode,
        )}(${oldest.nodeid}) ${pidLabel(oldest.pid, culprits.find((c) => c.pid === oldest.pid)?.name)} since ${hhmmss(
          oldest.ts,
        )}`,
        reason: `Traffic stopped (${stopHow}) with ${out.length} request(s) never answered: the daemon or the guest is blocked.${loopNote}`,
        onset: oldest.ts,
        onsetMethod: 'time of the oldest unanswered request',
        durationSec: Math.max(0, (end - oldest.ts) / 1000),
        culprits,
        criticalTransition: ct,
        evidence,
        hostOnly,
        window: { start: oldest.ts, end },
      };
    }
    return {
      kind: 'stall',
      confidence: conf(0.75),
      title: `stall: traffic stopped at ${hhmmss(lastReq)}, nothing outstanding`,
      reason: `Traffic stopped (${stopHow}) with every logged request answered and no guest progress since: a hang outside the logged filesystem traffic (daemon stopped before dequeuing the next request, or a guest-side wait).${loopNote}`,
      onset: lastReq,
      onsetMethod: 'time of the last request in the virtiofsd log',
      durationSec: Math.max(0, (end - lastReq) / 1000),
      culprits: [],
      criticalTransition: ct,
      evidence,
      hostOnly,
      window: { start: lastReq, end },
    };
  }

  private judgeLivelock(
    e: LoopEpisode,
    now: number,
    mode: 'live' | 'final',
    hostOnly: boolean,
    conf: (x: number) => number,
  ): Verdict {
    const reps = episodeReps(e);
    const loopReqs = reps * e.period;
    const windowReqs = Math.max(1, e.lastSeq - e.onsetSeq + 1);
    const durMs = Math.max(1, e.lastTs - e.onsetTs);
    const ratePerSec = reps / Math.max(1, durMs / 1000);
    const name = this.names.nameAt(e.pid, e.onsetTs);
    const sig = e.tokens.map(formatToken);
    const share = Math.min(1, loopReqs / windowReqs);
    const culprit: Culprit = { pid: e.pid, requests: loopReqs, share };
    if (name) culprit.name = name;
    const lp = this.lastProgressBefore(e.onsetTs + this.thresholds.progressGraceSec * 1000);
    const goal = this.clock.goalReached;
    const ongoing =
      e.running &&
      e.lastTs >= this.lastReqTs - this.thresholds.loopGapSec * 1000 &&
      this.destroy === undefined &&
      !(goal && (goal.hostTime === undefined || goal.hostTime >= e.lastTs));
    const end = ongoing && mode === 'live' ? Math.max(now, e.lastTs) : e.lastTs;
    const evidence: EvidencePointer[] = [
      this.ptr('virtiofsd', e.onsetLine, `first looping request (pid ${e.pid})`),
      this.ptr('virtiofsd', e.lastLine, 'latest looping request'),
    ];
    const ct: NonNullable<Verdict['criticalTransition']> = {
      firstLoopRequest: { time: e.onsetTs, pointer: evidence[0] },
    };
    if (lp) {
      ct.lastProgress = {
        time: lp.t,
        text: lp.text,
        pointer: this.markPtr(lp, 'last guest progress before onset'),
      };
      evidence.push(ct.lastProgress.pointer as EvidencePointer);
    }
    for (const h of this.clock.waitingNow.slice(0, 3)) {
      evidence.push(this.ptr(h.last.source, h.last.line, `guest waiting: ${h.subject}`));
    }
    const stable = e.stableInodes;
    const fresh = e.tokens.some((t) => Math.floor(t / 8192) === 0);
    const flat = `the loop's working set stays at ${stable} stable inode${stable === 1 ? '' : 's'}${
      fresh ? ' plus inodes allocated afresh (and forgotten) every iteration' : ''
    } — the distinct-inode set stops growing once abstracted`;
    const errs = this.errReplies;
    const replies = this.okReplies + errs;
    const okPct = replies > 0 ? Math.round((this.okReplies / replies) * 1000) / 10 : 100;
    const after =
      !ongoing && goal
        ? ` The loop ended at ${hhmmss(e.lastTs)}; the guest then reached ${goal.goal}.`
        : !ongoing
          ? ` The loop ended at ${hhmmss(e.lastTs)}.`
          : '';
    return {
      kind: 'livelock',
      confidence: conf(ongoing ? 0.9 : 0.85),
      title: `livelock: ${pidLabel(e.pid, name)} ${sig.join('→')} ×${compactCount(reps)} since ${hhmmss(e.onsetTs)}`,
      reason: `${pidLabel(e.pid, name)} repeated a ${e.period}-request cycle ${reps} times at ${Math.round(
        loopReqs / Math.max(1, durMs / 1000),
      )} req/s (${Math.round(share * 100)}% of traffic), answered (${okPct}% of replies OK${errs > 0 ? `, ${errs} errors — an error storm is a loop too` : ''}), ${
        hostOnly ? 'no guest input to confirm the lack of progress' : 'with no guest progress during the loop'
      }; ${flat}.${after}`,
      onset: e.onsetTs,
      onsetMethod: `start of the first of ${reps} back-to-back repetitions of the cycle (per-PID period detection over abstracted tokens)`,
      durationSec: Math.max(0, (end - e.onsetTs) / 1000),
      culprits: [culprit],
      loop: { tokens: sig, period: e.period, repetitions: reps, ratePerSec, share },
      criticalTransition: ct,
      evidence,
      hostOnly,
      window: { start: e.onsetTs, end },
    };
  }
}
