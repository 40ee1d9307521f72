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
 *   with 3 back-to-back repetitions (and ≥ 24 requests) seeds an episode whose onset is the run's first token;
 *   the episode then holds while ≤ 30 % of the PID's last 64 requests fall outside the cycle's tokens (jitter,
 *   repeated or skipped steps), takes a longer cycle that contains it (a sub-path of a multi-path loop), and
 *   survives short breaks (the same cycle back within `loopGapSec`). Whether it counts (repetitions, rate, share
 *   of traffic, a stable inode) is the engine's call. O(maxPeriod) per request and O(maxPeriod) memory per PID,
 *   whatever the log length.
 */

import { IntMap } from '../analyze/bounded.js';
import { type EventRows, newBatch } from '../parse/event-batch.js';
import { opcodeName } from '../parse/opcodes.js';
import { LoopSearchMemory } from './loop-search.js';
import type { VerdictThresholds } from './thresholds.js';

const OPS = 8192;
/** The row `push` fills for `pushAt`. */
const scratch = newBatch(1);
/** Token = inodeClass·8192 + opcode; inodeClass 0 = `new`, n+1 = stable inode n. */
export function makeToken(opcode: number, inodeClass: number): number {
  return inodeClass * OPS + (opcode & (OPS - 1));
}
export function formatToken(t: number): string {
  const op = t % OPS;
  const cls = Math.floor(t / OPS);
  return `${opcodeName(op)}(${cls === 0 ? 'new' : String(cls - 1)})`;
}

/** Inodes below this are tracked in typed-array pages (no hashing); larger ones in a hash map. */
const DIRECT_INODES = 1 << 22;
const PAGE_BITS = 14;
const PAGE_MASK = (1 << PAGE_BITS) - 1;

export class InodeAges {
  /**
   * inode → 1 + global request number when it was (re)introduced, 0 = not tracked: pages of 2^14 inodes, each
   * allocated on its first tracked inode and dropped when eviction takes its last one (a FORGET leaves the page,
   * which the same inodes soon need again). At most `cap`
   * inodes are tracked, so memory follows the live inodes, not the highest inode number (a guest that creates
   * millions of files keeps a few pages, not a 16 MB array).
   */
  // every page slot below DIRECT_INODES there from the start: a read past the end would deoptimize bornOf
  private readonly pages: (Int32Array | undefined)[] = new Array(DIRECT_INODES >>> PAGE_BITS).fill(undefined);
  private readonly pageLive: number[] = new Array(DIRECT_INODES >>> PAGE_BITS).fill(0);
  /** Introductions in order (inode, seq), for evicting the oldest beyond `cap`. */
  private readonly ringInode: Float64Array;
  private readonly ringSeq: Float64Array;
  private ringHead = 0;
  private ringLen = 0;
  private readonly big = new IntMap<number>();
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
      const p = inode >>> PAGE_BITS;
      let page = this.pages[p];
      if (page === undefined) {
        while (this.pages.length <= p) {
          this.pages.push(undefined);
          this.pageLive.push(0);
        }
        page = this.pages[p] = new Int32Array(1 << PAGE_BITS);
      }
      const i = inode & PAGE_MASK;
      if (page[i] === 0) this.pageLive[p]++;
      page[i] = seq + 1;
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
    this.untrack(inode, false);
  }

  /** Stop tracking `inode`; an eviction also drops its page once empty (a FORGET keeps it: no churn). */
  private untrack(inode: number, evicted: boolean): void {
    if (this.bornOf(inode) < 0) return;
    this.live--;
    if (inode < DIRECT_INODES) {
      const p = inode >>> PAGE_BITS;
      (this.pages[p] as Int32Array)[inode & PAGE_MASK] = 0;
      if (--this.pageLive[p] === 0 && evicted) this.pages[p] = undefined;
    } else this.big.delete(inode);
  }

  get size(): number {
    return this.live;
  }

  /** Pages allocated (for memory tests). */
  get pageCount(): number {
    let n = 0;
    for (const p of this.pages) if (p !== undefined) n++;
    return n;
  }

  private bornOf(inode: number): number {
    if (inode < DIRECT_INODES) {
      const page = this.pages[inode >>> PAGE_BITS];
      return page === undefined ? -1 : page[inode & PAGE_MASK] - 1;
    }
    return this.big.get(inode) ?? -1;
  }

  private evictOldest(): void {
    const n = this.ringInode.length;
    const inode = this.ringInode[this.ringHead];
    const seq = this.ringSeq[this.ringHead];
    this.ringHead = (this.ringHead + 1) % n;
    this.ringLen--;
    // Only if this introduction is still the inode's current one (it may have been re-introduced or forgotten).
    if (this.bornOf(inode) === seq) this.untrack(inode, true);
  }
}

export interface LoopEpisode {
  pid: number;
  period: number;
  /** Tokens of one period, starting at the onset's phase (from the exact run that seeded the episode). */
  tokens: number[];
  /** Minimal rotation, to recognise the same loop after a break. */
  canon: string;
  /** The distinct tokens of the signature: a request of the PID is "in the loop" when its token is one of these. */
  set: Set<number>;
  onsetTs: number;
  onsetLine: number;
  /** Global request sequence number at onset and at the latest looping request. */
  onsetSeq: number;
  lastSeq: number;
  lastTs: number;
  lastLine: number;
  /** Requests of this PID in the loop (token in `set`) and outside it, since the onset. */
  inLoop: number;
  outside: number;
  /** Replies to the PID's requests while the episode ran, and how many were errors. */
  replies: number;
  errors: number;
  /** False once the PID's recent requests left the loop's token set (the loop ended, or broke briefly). */
  running: boolean;
  /** Number of distinct stable (non-`new`) inodes in the signature: the loop's working set. */
  stableInodes: number;
}

/** Opcodes that add a name to the tree (Symlink, Mknod, Mkdir, Link, Create) and that remove one (Unlink, Rmdir). */
const CREATING = new Set([6, 8, 9, 13, 35]);
const REMOVING = new Set([10, 11]);
/** Data transfer on an open handle (Read, Write, Readdir, Readdirplus, Lseek): repeating them is streaming I/O. */
const STREAMING = new Set([15, 16, 28, 44, 46]);

/**
 * True when every iteration leaves the tree bigger (more creating than removing requests per period): the loop
 * makes progress on the filesystem (an unpack, a copy), it is not the same state repeated. A create/unlink retry
 * loop (lock files) stays non-productive. A signature made only of data transfer on open handles (a big file read
 * or written sequentially, a large directory listed) moves through the data: also productive.
 */
export function isProductive(tokens: number[]): boolean {
  let net = 0;
  let streaming = true;
  for (const t of tokens) {
    const op = t % OPS;
    if (CREATING.has(op)) net++;
    else if (REMOVING.has(op)) net--;
    if (!STREAMING.has(op)) streaming = false;
  }
  return net > 0 || streaming;
}

/**
 * A loop revisits a small, stable working set: at least one token of its signature is on a stable inode (the
 * root, a directory it re-looks names up in, a file it keeps open). A signature made only of `new` inodes is a
 * scan: the same opcode on inode after inode, each touched a few times (a directory walk, udev coldplug, systemd
 * issuing an ioctl on every unit file).
 */
export function revisitsStableSet(tokens: number[]): boolean {
  for (const t of tokens) if (Math.floor(t / OPS) > 0) return true;
  return false;
}

/** Iterations of the loop: requests in the loop's token set over the period (repeated or skipped steps blur it). */
export function episodeReps(e: LoopEpisode): number {
  return Math.floor(e.inLoop / e.period);
}

function stableCount(sig: number[]): number {
  const stable = new Set<number>();
  for (const t of sig) {
    const cls = Math.floor(t / OPS);
    if (cls > 0) stable.add(cls);
  }
  return stable.size;
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

/** Back-to-back exact repetitions of a period that seed a loop candidate. */
const SEED_REPS = 3;
/** ... and at least this many requests repeating (so a short period inside a longer cycle does not seed it). */
const SEED_MIN_RUN = 24;
/** Membership window: the loop holds while at most NOISE_MAX of the PID's last NOISE_WINDOW requests are outside it. */
const NOISE_WINDOW = 64;
const NOISE_MAX = 19;

/**
 * A tracker's ring of its PID's last R = 2·maxPeriod + 1 requests and, for every period p ≤ maxPeriod, the current
 * run of requests with tok[i] = tok[i−p] and where it began. `push` records a request and returns the smallest
 * period whose run seeds a loop ({@link SEED_REPS} repetitions, {@link SEED_MIN_RUN} requests), 0 if none. A
 * period's run is current only while it goes on without a gap — its length counts when
 * `runStart + p + length === i` (the run's last match was the previous request) — so a period whose token differs
 * costs nothing (no run is cleared). Two implementations, the same results: the WebAssembly module's
 * (loop-search.ts), and this file's TypeScript one where WebAssembly is not available.
 */
interface RunSearch {
  push(token: number, rows: EventRows, at: number, seq: number): number;
  /** Another PID: its runs start over; requests before this one are never matched. */
  reuse(): void;
  /** The token of request index `j`, one of the last R. */
  token(j: number): number;
  /** Field `k` of period p's current run: 0 the index it began at (i − p at its first match), then the ts, line
   * and request number of its first token (the ring forgets them). */
  run(p: number, k: number): number;
}

/** The search in a block of the engine's WebAssembly memory (wasm/loop-search.c). */
class WasmRunSearch implements RunSearch {
  private readonly block: number;
  constructor(
    private readonly mem: LoopSearchMemory,
    private readonly R: number,
    maxPeriod: number,
  ) {
    this.block = mem.alloc(maxPeriod, SEED_REPS - 1, SEED_MIN_RUN);
  }

  push(token: number, rows: EventRows, at: number, seq: number): number {
    // the time and line go straight from the row into the module: as arguments of a JavaScript call they would be
    // heap numbers
    return this.mem.x.push(this.block, token, rows.ts[at], rows.line[at], seq);
  }

  reuse(): void {
    this.mem.x.reuse(this.block);
  }

  token(j: number): number {
    return this.mem.token(this.block, j % this.R);
  }

  run(p: number, k: number): number {
    return this.mem.run(this.block, this.R, p, k);
  }
}

/**
 * The search in TypeScript, where WebAssembly is not available. Everything in two typed arrays:
 * - `f` (float): the ring, five numbers per request (token, ts, line, request number, and the index of the PID's
 *   previous request with the same token, −1 if none) at `5·slot`; from `runBase`, four per period p at
 *   `runBase + 4p`: the run's start and its first token's ts, line and request number; from `hashBase`, an
 *   open-addressing table token → index of its latest request (key, index pairs; index −1 = never used).
 * - `g` (int32): the length of each period's current run.
 * A request's token is compared only with the earlier requests that had the same token (the chain through the
 * ring), not with all `maxPeriod` predecessors: the scan's data-dependent branch mispredicted on most requests.
 */
class TsRunSearch implements RunSearch {
  private readonly R: number;
  private readonly maxPeriod: number;
  private readonly f: Float64Array;
  private readonly g: Int32Array;
  private readonly runBase: number;
  private readonly hashBase: number;
  private readonly hashMask: number;
  private readonly hashShift: number;
  /** Slots of the hash table in use (live or stale); past half of it the table is rebuilt from the ring. */
  private hashUsed = 0;
  /** Index of the next request; `origin` is where the current PID's began (a reused tracker keeps counting). */
  private n = 0;
  private origin = 0;

  constructor(th: VerdictThresholds) {
    this.maxPeriod = th.maxPeriod;
    this.R = 2 * th.maxPeriod + 1;
    this.runBase = 5 * this.R;
    this.hashBase = this.runBase + 4 * (th.maxPeriod + 1);
    // at least 4× the tokens a window can hold, so the table is rebuilt at most every ~maxPeriod new tokens
    let bits = 4;
    while (1 << bits < 4 * (th.maxPeriod + 1)) bits++;
    this.hashMask = (1 << bits) - 1;
    this.hashShift = 32 - bits;
    this.f = new Float64Array(this.hashBase + 2 * (1 << bits));
    this.g = new Int32Array(th.maxPeriod + 1);
    this.clearHash();
  }

  reuse(): void {
    // the index goes on and the search looks back no further than `origin`: the previous PID's ring slots and
    // hash entries are never matched (clearing the table per new PID made a log with a million PIDs 20 % slower)
    this.g.fill(0);
    this.origin = this.n;
  }

  token(j: number): number {
    return this.f[(j % this.R) * 5];
  }

  run(p: number, k: number): number {
    return this.f[this.runBase + 4 * p + k];
  }

  private clearHash(): void {
    // every slot's index −1 (empty); its key too, which is read only beside an index that is not −1: one native
    // fill instead of a loop the interpreter runs for each new PID (the constructor calls this)
    this.f.fill(-1, this.hashBase);
    this.hashUsed = 0;
  }

  /** Records that `token` was last seen at index `i`; returns the index it was seen at before (−1 if never). */
  private remember(token: number, i: number): number {
    const f = this.f;
    const base = this.hashBase;
    const mask = this.hashMask;
    const maxP = this.maxPeriod;
    let k = Math.imul(token | 0, 0x9e3779b1) >>> this.hashShift;
    let reuse = -1;
    let prev = -1;
    for (;;) {
      const at = base + 2 * k;
      const v = f[at + 1];
      if (v === -1) break;
      if (f[at] === token) {
        prev = v;
        reuse = k;
        break;
      }
      if (reuse < 0 && i - v > maxP) reuse = k; // stale: free for a new key, but the key may still be further on
      k = (k + 1) & mask;
    }
    if (reuse < 0) {
      reuse = k;
      this.hashUsed++;
    }
    const at = base + 2 * reuse;
    f[at] = token;
    f[at + 1] = i;
    return prev;
  }

  /** Rebuilds the hash table from the ring's last `maxPeriod` requests (the only ones a search can reach). */
  private rehash(i: number): void {
    this.clearHash();
    const R = this.R;
    for (let j = Math.max(this.origin, i - this.maxPeriod); j < i; j++) this.remember(this.f[(j % R) * 5], j);
  }

  push(token: number, rows: EventRows, at: number, seq: number): number {
    const i = this.n;
    const R = this.R;
    const f = this.f;
    const g = this.g;
    const maxP = Math.min(this.maxPeriod, i - this.origin);
    if (this.hashUsed * 2 > this.hashMask) this.rehash(i);
    let j = this.remember(token, i);
    const slot = i % R;
    const e = slot * 5;
    f[e] = token;
    f[e + 1] = rows.ts[at];
    f[e + 2] = rows.line[at];
    f[e + 3] = seq;
    f[e + 4] = j;
    this.n++;
    let found = 0;
    // Earlier requests with the same token, nearest first (so the first period found is the smallest).
    while (j >= 0 && i - j <= maxP) {
      const p = i - j;
      // j's slot, from this request's (j is a double read from f: `j % R` would be a floating-point modulo)
      const s0 = slot >= p ? slot - p : slot - p + R;
      const e0 = s0 * 5;
      const b = this.runBase + 4 * p;
      let L = g[p];
      if (L === 0 || f[b] + p + L !== i) {
        // a new run of period p: its first token is the one p back
        f[b] = j;
        f[b + 1] = f[e0 + 1];
        f[b + 2] = f[e0 + 2];
        f[b + 3] = f[e0 + 3];
        L = 1;
      } else L++;
      g[p] = L;
      if (found === 0 && L >= p * (SEED_REPS - 1) && L >= SEED_MIN_RUN) found = p;
      j = f[e0 + 4];
    }
    return found;
  }
}

/**
 * One PID's loop tracker. A loop is *seeded* by {@link SEED_REPS} exact back-to-back repetitions of a period
 * (found with the per-period run lengths of a {@link RunSearch}), then *held* by membership: the PID's requests
 * keep falling in the signature's token set, tolerating up to ~30 % others in any 64 consecutive requests of the
 * PID (repeated or skipped steps, a stray request, other PIDs interleaved do not break it). The onset is the first
 * request of the seeding run, so a loop with jitter is dated from where it began, not from its last clean streak.
 */
export class PidLoop {
  private readonly R: number;
  private readonly search: RunSearch;
  /** Membership bits of the PID's last NOISE_WINDOW requests while an episode is tracked (1 = outside). */
  private readonly noise = new Uint8Array(NOISE_WINDOW);
  private noisePos = 0;
  private noiseCount = 0;
  /** Index of the next request (a reused tracker keeps counting). */
  private n = 0;
  lastSeq = 0;
  lastTs = Number.NaN;
  requests = 0;
  /** The smallest period seeding a loop at the latest request (0 if none): what the search found. */
  found = 0;
  episode: LoopEpisode | undefined;

  /**
   * `memory`: the engine's WebAssembly memory the tracker searches in (a new one by default), or null for the
   * TypeScript search.
   */
  constructor(
    public pid: number,
    private readonly th: VerdictThresholds,
    private readonly onClose: (e: LoopEpisode) => void,
    memory: LoopSearchMemory | null = LoopSearchMemory.create(),
  ) {
    this.R = 2 * th.maxPeriod + 1;
    this.search = memory === null ? new TsRunSearch(th) : new WasmRunSearch(memory, this.R, th.maxPeriod);
  }

  /**
   * Starts over for another PID (the engine recycles evicted trackers instead of making new ones). The caller has
   * closed the episode. Only the runs start over: the index goes on from where it was, and the search looks back
   * no further than this request.
   */
  reuse(pid: number): this {
    this.pid = pid;
    this.search.reuse();
    this.lastSeq = 0;
    this.lastTs = Number.NaN;
    this.requests = 0;
    this.found = 0;
    this.episode = undefined;
    this.resetNoise();
    return this;
  }

  /** Number of tokens held (the ring) — constant; for memory tests. */
  get ringSize(): number {
    return this.R;
  }

  push(token: number, ts: number, line: number, seq: number): void {
    scratch.ts[0] = ts;
    scratch.line[0] = line;
    this.pushAt(token, scratch, 0, seq);
  }

  /**
   * `push` with the time and line of row `at` of event columns (the engine's request row): read here, not passed,
   * as a time passed to a call is a heap number each.
   */
  pushAt(token: number, rows: EventRows, at: number, seq: number): void {
    const found = this.search.push(token, rows, at, seq);
    const ts = rows.ts[at];
    const line = rows.line[at];
    const i = this.n;
    this.n++;
    this.requests++;
    this.lastSeq = seq;
    this.lastTs = ts;
    this.found = found;

    let ep = this.episode;
    if (ep && ts - ep.lastTs > this.th.loopGapSec * 1000) {
      this.close();
      ep = undefined;
    }
    if (ep) {
      const inside = ep.set.has(token);
      const slot = this.noisePos;
      this.noiseCount += (inside ? 0 : 1) - this.noise[slot];
      this.noise[slot] = inside ? 0 : 1;
      this.noisePos = (slot + 1) % NOISE_WINDOW;
      if (ep.running && found > 0 && found !== ep.period) this.refine(ep, i, found);
      if (ep.running) {
        if (inside) {
          ep.inLoop++;
          ep.lastTs = ts;
          ep.lastLine = line;
          ep.lastSeq = seq;
        } else {
          ep.outside++;
          if (this.noiseCount > NOISE_MAX) ep.running = false;
        }
        return;
      }
      // Broken off: the same loop seeded again within loopGapSec resumes the episode.
      if (found > 0 && canonical(this.signature(i, found)) === ep.canon) {
        ep.running = true;
        ep.inLoop += Math.max(SEED_REPS * found, SEED_MIN_RUN + found);
        ep.lastTs = ts;
        ep.lastLine = line;
        ep.lastSeq = seq;
        this.resetNoise();
        return;
      }
    }
    if (found === 0) return;
    const sig = this.signature(i, found);
    if (ep) this.close();
    const set = new Set(sig);
    this.resetNoise();
    this.episode = {
      pid: this.pid,
      period: found,
      tokens: sig,
      canon: canonical(sig),
      set,
      onsetTs: this.search.run(found, 1),
      onsetLine: this.search.run(found, 2),
      onsetSeq: this.search.run(found, 3),
      lastSeq: seq,
      lastTs: ts,
      lastLine: line,
      inLoop: Math.max(SEED_REPS * found, SEED_MIN_RUN + found),
      outside: 0,
      replies: 0,
      errors: 0,
      running: true,
      stableInodes: stableCount(sig),
    };
  }

  /**
   * The shortest exact cycle now repeating differs from the episode's. If it contains the episode's tokens and
   * more, the episode was a partial view of it (a sub-path of a multi-path loop): take the longer cycle. If it is
   * a divisor of the episode's period with the same tokens, the episode's period was a multiple: take the shorter.
   * The onset stays.
   */
  private refine(ep: LoopEpisode, i: number, found: number): void {
    const sig = this.signature(i, found);
    const set = new Set(sig);
    const grows = found > ep.period && set.size > ep.set.size && [...ep.set].every((t) => set.has(t));
    const divides =
      found < ep.period &&
      ep.period % found === 0 &&
      set.size === ep.set.size &&
      [...set].every((t) => ep.set.has(t));
    if (!grows && !divides) return;
    ep.period = found;
    ep.tokens = sig;
    ep.canon = canonical(sig);
    ep.set = set;
    if (grows) {
      ep.inLoop += ep.outside;
      ep.outside = 0;
    }
    ep.stableInodes = stableCount(sig);
    this.resetNoise();
  }

  private resetNoise(): void {
    this.noise.fill(0);
    this.noiseCount = 0;
    this.noisePos = 0;
  }

  /** Tokens of one period aligned to the run's start phase, read from the last `p` tokens (i = newest index). */
  private signature(i: number, p: number): number[] {
    const start = this.search.run(p, 0);
    const out: number[] = [];
    for (let k = 0; k < p; k++) {
      const idx = start + k;
      const j = i - ((((i - idx) % p) + p) % p);
      out.push(this.search.token(j));
    }
    return out;
  }

  /** End the current episode (it is handed to onClose). */
  close(): void {
    const ep = this.episode;
    if (!ep) return;
    ep.running = false;
    this.episode = undefined;
    this.onClose(ep);
  }
}
