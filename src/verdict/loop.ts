/**
 * Per-PID cycle detection over abstracted (opcode, inode-class) tokens (prior-art §5 B, Jolt-style state repeat).
 *
 * - {@link InodeAges} abstracts inode numbers: the root (1) and inodes that have been around for a while keep
 *   their number ("stable"); an inode first seen, re-allocated by a C lookup (`parent/name -> child`) or seen again
 *   after a FORGET within the last `freshSpan` requests is `new`. Rust allocates a fresh nodeid on every re-lookup
 *   of a forgotten path and C recycles numbers, so raw numbers never repeat (Rust) or mean different paths (C);
 *   the parent of a Lookup (the only inode Rust logs for it) stays stable.
 * - {@link PidLoop} keeps a ring of the last 2·maxPeriod tokens of one PID and, for every period p ≤ maxPeriod,
 *   the length of the current run of positions with tok[i] = tok[i−p] and where that run began. The smallest p
 *   whose run spans `minRepetitions` periods starts an episode; its onset is the first token of the first
 *   repetition. An episode survives short breaks (same signature back within `loopGapSec`). O(maxPeriod) per
 *   request and O(maxPeriod) memory per PID, whatever the log length.
 */

import { opcodeName } from '../parse/opcodes.js';
import type { VerdictThresholds } from './thresholds.js';

const OPS = 8192;
/** Token = inodeClass·8192 + opcode; inodeClass 0 = `new`, n+1 = stable inode n. */
export function makeToken(opcode: number, inodeClass: number): number {
  return inodeClass * OPS + (opcode & (OPS - 1));
}
export function formatToken(t: number): string {
  const op = t % OPS;
  const cls = Math.floor(t / OPS);
  return `${opcodeName(op)}(${cls === 0 ? 'new' : String(cls - 1)})`;
}

/** Inodes below this are tracked in a typed array (no hashing); larger ones in a Map. */
const DIRECT_INODES = 1 << 22;

export class InodeAges {
  /** inode → 1 + global request number when it was (re)introduced; 0 = not tracked. */
  private direct: Int32Array = new Int32Array(1024);
  /** Introductions in order (inode, seq), for evicting the oldest beyond `cap`. */
  private readonly ringInode: Float64Array;
  private readonly ringSeq: Float64Array;
  private ringHead = 0;
  private ringLen = 0;
  private readonly big = new Map<number, number>();
  private live = 0;
  constructor(
    private readonly freshSpan: number,
    private readonly cap: number,
  ) {
    const n = Math.max(1, cap);
    this.ringInode = new Float64Array(n);
    this.ringSeq = new Float64Array(n);
  }

  /** Abstract class of `inode` referenced by request number `seq` (0 = new, n+1 = stable n). */
  classify(inode: number, seq: number): number {
    if (inode <= 1) return inode + 1;
    const b = this.bornOf(inode);
    if (b < 0) {
      this.introduce(inode, seq);
      return 0;
    }
    return seq - b < this.freshSpan ? 0 : inode + 1;
  }

  /** The inode was (re)allocated now (C lookup result). */
  introduce(inode: number, seq: number): void {
    if (inode <= 1) return;
    if (this.bornOf(inode) < 0) this.live++;
    if (inode < DIRECT_INODES) {
      if (inode >= this.direct.length) this.grow(inode);
      this.direct[inode] = seq + 1;
    } else this.big.set(inode, seq);
    // Remember the introduction; beyond `cap` live entries the oldest introduction is dropped.
    const n = this.ringInode.length;
    if (this.ringLen === n) this.evictOldest();
    const at = (this.ringHead + this.ringLen) % n;
    this.ringInode[at] = inode;
    this.ringSeq[at] = seq;
    this.ringLen++;
    while (this.live > this.cap && this.ringLen > 0) this.evictOldest();
  }

  forget(inode: number): void {
    if (this.bornOf(inode) < 0) return;
    this.live--;
    if (inode < DIRECT_INODES) this.direct[inode] = 0;
    else this.big.delete(inode);
  }

  get size(): number {
    return this.live;
  }

  private bornOf(inode: number): number {
    if (inode < DIRECT_INODES) return inode < this.direct.length ? this.direct[inode] - 1 : -1;
    return this.big.get(inode) ?? -1;
  }

  private evictOldest(): void {
    const n = this.ringInode.length;
    const inode = this.ringInode[this.ringHead];
    const seq = this.ringSeq[this.ringHead];
    this.ringHead = (this.ringHead + 1) % n;
    this.ringLen--;
    // Only if this introduction is still the inode's current one (it may have been re-introduced or forgotten).
    if (this.bornOf(inode) === seq) this.forget(inode);
  }

  private grow(inode: number): void {
    let n = this.direct.length;
    while (n <= inode) n *= 2;
    const a = new Int32Array(Math.min(n, DIRECT_INODES));
    a.set(this.direct);
    this.direct = a;
  }
}

export interface LoopEpisode {
  pid: number;
  period: number;
  /** Tokens of one period, starting at the onset's phase. */
  tokens: number[];
  /** Minimal rotation, to recognise the same loop after a break. */
  canon: string;
  onsetTs: number;
  onsetLine: number;
  /** Global request sequence number at onset and at the latest looping request. */
  onsetSeq: number;
  lastSeq: number;
  lastTs: number;
  lastLine: number;
  /** Repetitions of finished runs, plus the running one while `running`. */
  baseReps: number;
  runReps: number;
  running: boolean;
  /** Number of distinct stable (non-`new`) inodes in the signature: the loop's working set. */
  stableInodes: number;
}

/** Opcodes that add a name to the tree (Symlink, Mknod, Mkdir, Link, Create) and that remove one (Unlink, Rmdir). */
const CREATING = new Set([6, 8, 9, 13, 35]);
const REMOVING = new Set([10, 11]);

/**
 * True when every iteration leaves the tree bigger (more creating than removing requests per period): the loop
 * makes progress on the filesystem (an unpack, a copy), it is not the same state repeated. A create/unlink retry
 * loop (lock files) stays non-productive.
 */
export function isProductive(tokens: number[]): boolean {
  let net = 0;
  for (const t of tokens) {
    const op = t % OPS;
    if (CREATING.has(op)) net++;
    else if (REMOVING.has(op)) net--;
  }
  return net > 0;
}

export function episodeReps(e: LoopEpisode): number {
  return e.baseReps + (e.running ? e.runReps : 0);
}

function canonical(tokens: number[]): string {
  const n = tokens.length;
  let best = '';
  for (let r = 0; r < n; r++) {
    const s = Array.from({ length: n }, (_, k) => tokens[(r + k) % n]).join(',');
    if (best === '' || s < best) best = s;
  }
  return best;
}

const RESUME_REPS = 3;

export class PidLoop {
  private readonly R: number;
  private readonly tok: Float64Array;
  private readonly ts: Float64Array;
  private readonly line: Float64Array;
  private readonly seq: Float64Array;
  private readonly run: Int32Array;
  private readonly runStart: Float64Array;
  /** Time, line and request number of the first token of each period's current run (the ring forgets them). */
  private readonly startTs: Float64Array;
  private readonly startLine: Float64Array;
  private readonly startSeq: Float64Array;
  private n = 0;
  lastSeq = 0;
  lastTs = Number.NaN;
  requests = 0;
  episode: LoopEpisode | undefined;

  constructor(
    readonly pid: number,
    private readonly th: VerdictThresholds,
    private readonly onClose: (e: LoopEpisode) => void,
  ) {
    this.R = 2 * th.maxPeriod + 1;
    this.tok = new Float64Array(this.R);
    this.ts = new Float64Array(this.R);
    this.line = new Float64Array(this.R);
    this.seq = new Float64Array(this.R);
    this.run = new Int32Array(th.maxPeriod + 1);
    this.runStart = new Float64Array(th.maxPeriod + 1);
    this.startTs = new Float64Array(th.maxPeriod + 1);
    this.startLine = new Float64Array(th.maxPeriod + 1);
    this.startSeq = new Float64Array(th.maxPeriod + 1);
  }

  /** Number of tokens held (the ring) — constant; for memory tests. */
  get ringSize(): number {
    return this.R;
  }

  push(token: number, ts: number, line: number, seq: number): void {
    const i = this.n;
    const R = this.R;
    const slot = i % R;
    this.tok[slot] = token;
    this.ts[slot] = ts;
    this.line[slot] = line;
    this.seq[slot] = seq;
    this.n++;
    this.requests++;
    this.lastSeq = seq;
    this.lastTs = ts;
    const maxP = Math.min(this.th.maxPeriod, i);
    const ep = this.episode;
    const minReps = this.th.minRepetitions;
    let found = 0;
    for (let p = 1; p <= maxP; p++) {
      if (this.tok[(i - p) % R] === token) {
        if (this.run[p] === 0) {
          const s0 = (i - p) % R;
          this.runStart[p] = i - p;
          this.startTs[p] = this.ts[s0];
          this.startLine[p] = this.line[s0];
          this.startSeq[p] = this.seq[s0];
        }
        const L = ++this.run[p];
        if (found === 0 && L === p * (minReps - 1)) found = p;
      } else {
        if (ep && ep.period === p && ep.running) {
          ep.baseReps += Math.floor((this.run[p] + p) / p);
          ep.runReps = 0;
          ep.running = false;
        }
        this.run[p] = 0;
      }
    }

    if (ep?.running) {
      const P = ep.period;
      ep.runReps = Math.floor((this.run[P] + P) / P);
      ep.lastTs = ts;
      ep.lastLine = line;
      ep.lastSeq = seq;
      return;
    }
    if (ep && !ep.running) {
      const P = ep.period;
      if (ts - ep.lastTs > this.th.loopGapSec * 1000) {
        this.close();
      } else if (
        P <= maxP &&
        this.run[P] === P * (RESUME_REPS - 1) &&
        canonical(this.signature(i, P)) === ep.canon
      ) {
        ep.running = true;
        ep.runReps = RESUME_REPS;
        ep.lastTs = ts;
        ep.lastLine = line;
        ep.lastSeq = seq;
        return;
      }
    }
    if (found > 0 && (!this.episode || found !== this.episode.period || !this.episode.running)) {
      const sig = this.signature(i, found);
      const canon = canonical(sig);
      const cur = this.episode;
      if (cur && cur.canon === canon && ts - cur.lastTs <= this.th.loopGapSec * 1000) {
        cur.running = true;
        cur.runReps = Math.floor((this.run[found] + found) / found);
        cur.lastTs = ts;
        cur.lastLine = line;
        cur.lastSeq = seq;
        return;
      }
      if (cur) this.close();
      const stable = new Set<number>();
      for (const t of sig) {
        const cls = Math.floor(t / OPS);
        if (cls > 0) stable.add(cls);
      }
      this.episode = {
        pid: this.pid,
        period: found,
        tokens: sig,
        canon,
        onsetTs: this.startTs[found],
        onsetLine: this.startLine[found],
        onsetSeq: this.startSeq[found],
        lastSeq: seq,
        lastTs: ts,
        lastLine: line,
        baseReps: 0,
        runReps: Math.floor((this.run[found] + found) / found),
        running: true,
        stableInodes: stable.size,
      };
    }
  }

  /** Tokens of one period aligned to the run's start phase, read from the last `p` tokens (i = newest index). */
  private signature(i: number, p: number): number[] {
    const start = this.runStart[p];
    const out: number[] = [];
    for (let k = 0; k < p; k++) {
      const idx = start + k;
      const j = i - ((((i - idx) % p) + p) % p);
      out.push(this.tok[j % this.R]);
    }
    return out;
  }

  /** End the current episode (it is handed to onClose). */
  close(): void {
    const ep = this.episode;
    if (!ep) return;
    if (ep.running) {
      ep.baseReps += ep.runReps;
      ep.runReps = 0;
      ep.running = false;
    }
    this.episode = undefined;
    this.onClose(ep);
  }
}
