/**
 * The post-mortem reducer: fed virtiofsd events in file order, keeps everything the incident tables need in
 * memory bounded by the number of distinct PIDs, inodes, seconds and outstanding requests — never by the
 * number of lines. Pairs replies with requests by `unique` (never by adjacency), resets pairing at INIT.
 */

import { type EventRows, newBatch, type RowReducer } from '../parse/event-batch.js';
import { errnoName, OP, opcodeName } from '../parse/opcodes.js';
import { Daemon, type DaemonCode, type Pairing } from '../parse/virtiofsd.js';
import { CappedTable, IdSet, PagedCounts } from './bounded.js';
import { groupDigits } from './group-digits.js';
import { type PendingRequest, PendingTable } from './pending-table.js';

export interface PostMortemOptions {
  /** Rows in the top-N tables (inodes, PID×opcode). */
  top?: number;
  /** Requests kept for the "recent activity" table. */
  recent?: number;
  /** Unanswered requests listed individually (all are counted). */
  unansweredListed?: number;
  /** Outstanding requests kept for pairing before the oldest are dropped (counted as evicted). */
  maxPending?: number;
  /** Timeline buckets before neighbouring seconds are merged. */
  maxBuckets?: number;
  /** PIDs counted exactly; beyond, the busiest are kept (heavy hitters) and counts become bounded estimates. */
  maxPids?: number;
  /** Nodeids ≥ 2^22 counted exactly (smaller ones always are); beyond, likewise. */
  maxBigInodes?: number;
}

export interface OpcodeRow {
  opcode: number;
  name: string;
  requests: number;
  ok: number;
  errors: number;
  /** Requests that by protocol or daemon version get no reply line (Forget, Rust Destroy, C successful Read...). */
  noReply: number;
  unanswered: number;
}
export interface PidRow {
  pid: number;
  requests: number;
  errors: number;
  share: number;
  topOpcodes: { name: string; requests: number }[];
  first: number | null;
  last: number | null;
  /** Present when the PID table overflowed and this PID had been evicted before: `requests`, `errors` and
   * `topOpcodes` may be up to this many short (they are lower bounds). */
  missedAtMost?: number;
}
export interface InodeRow {
  nodeid: number;
  requests: number;
  share: number;
  /** As for PIDs: the count may be up to this many short (nodeids ≥ 2^22 beyond `maxBigInodes` only). */
  missedAtMost?: number;
  /** C logs: the paths this nodeid had when it was used, most used first (nodeids are recycled). */
  paths?: { path: string; requests: number }[];
}
export interface PidOpcodeRow {
  pid: number;
  opcode: number;
  name: string;
  requests: number;
}
export interface ErrnoRow {
  errno: number;
  name: string;
  count: number;
}
export interface OpcodeErrnoRow {
  opcode: number;
  name: string;
  errno: number;
  errnoName: string;
  count: number;
}
export interface RequestRow {
  line: number;
  ts: number | null;
  unique: number | null;
  opcode: number;
  name: string;
  nodeid: number;
  pid: number | null;
  /** 'ok' | 'noreply' | 'pending' | errno name */
  result: string;
}
export interface UnansweredRow extends RequestRow {
  ageSec: number | null;
}
export interface TimelineBucket {
  t: number;
  requests: number;
  errors: number;
  topOpcode: string | null;
  topOpcodeRequests: number;
  topPid: number | null;
  topPidRequests: number;
  opcodes: Record<string, number>;
}

export interface PostMortem {
  time: {
    first: number | null;
    last: number | null;
    durationSec: number;
    /** Host time of the first FUSE INIT request (the guest's mount), when logged. */
    firstInit: number | null;
  };
  totals: {
    requests: number;
    replies: number;
    repliesOk: number;
    repliesError: number;
    noReply: number;
    unanswered: number;
    orphanReplies: number;
    inits: number;
    /** Requests still outstanding when a new INIT restarted the uniques (a guest reboot). */
    unansweredBeforeInit: number;
    /** A request whose unique was reused while still outstanding. */
    supersededRequests: number;
    evictedPending: number;
    distinctPids: number;
    distinctInodes: number;
  };
  rate: { meanPerSec: number; peakPerSec: number; peakAt: number | null };
  timeline: { bucketSec: number; buckets: TimelineBucket[] };
  byOpcode: OpcodeRow[];
  byPid: PidRow[];
  byInode: { distinct: number; rootRequests: number; rootShare: number; top: InodeRow[] };
  byPidOpcode: PidOpcodeRow[];
  errors: { total: number; byErrno: ErrnoRow[]; byOpcode: OpcodeErrnoRow[] };
  unanswered: UnansweredRow[];
  /** Requests outstanding when an INIT restarted the session (first few). */
  unansweredAtInit: UnansweredRow[];
  recent: RequestRow[];
  orphanReplyLines: number[];
  paths: { known: boolean; distinct: number };
  /** Where memory caps made counts approximate (all exact on ordinary logs). */
  bounds: CountBounds;
}

export interface CountBounds {
  /** `totals.distinctPids` / `distinctInodes` are exact (false only past the id bitmap's page budget). */
  distinctExact: boolean;
  /** Every per-PID count is exact (the PID table never overflowed `maxPids`). */
  pidsExact: boolean;
  maxPids: number;
  /** PIDs dropped from the table to stay within `maxPids`. */
  pidEvictions: number;
  /** No PID's count can be short by more than this; a PID with more requests than this is always listed. */
  pidMaxError: number;
  inodesExact: boolean;
  inodeEvictions: number;
  inodeMaxError: number;
}

const SMALL_OPS = 64;
const PATHS_PER_INODE = 64;
/** Inode counters are typed-array pages indexed by nodeid up to this bound; larger nodeids use PagedCounts. */
const DIRECT_INODES = 1 << 22;
const INODE_PAGE_BITS = 16;
const INODE_PAGE_MASK = (1 << INODE_PAGE_BITS) - 1;

const RESULT_PENDING = 1;
const RESULT_NOREPLY = 2;
const RESULT_OK = 0;

class PidAgg {
  /** Clears a recycled aggregate (see CappedTable.recycled). */
  reset(): this {
    this.requests = 0;
    this.missed = 0;
    this.secT = Number.NaN;
    this.secN = 0;
    this.prevT = Number.NaN;
    this.prevN = 0;
    this.errors = 0;
    this.first = Number.NaN;
    this.last = Number.NaN;
    this.ops.fill(0);
    this.otherOps = null;
    return this;
  }
  requests = 0;
  missed = 0;
  /** Requests in second `secT` (for the per-second top PID without a map per second). */
  secT = Number.NaN;
  secN = 0;
  /** The second before, kept so C logs whose stamps step back across a second boundary still count exactly. */
  prevT = Number.NaN;
  prevN = 0;
  errors = 0;
  first = Number.NaN;
  last = Number.NaN;
  readonly ops = new Uint32Array(SMALL_OPS);
  otherOps: Map<number, number> | null = null;
}

interface Bucket {
  t: number;
  requests: number;
  errors: number;
  ops: Uint32Array;
  otherOps: Map<number, number> | null;
  topPid: number;
  topPidN: number;
}

function newBucket(t: number): Bucket {
  return {
    t,
    requests: 0,
    errors: 0,
    ops: new Uint32Array(SMALL_OPS),
    otherOps: null,
    topPid: -1,
    topPidN: 0,
  };
}

/** The counts a timeline bucket and a PID's aggregate both keep. */
type OpCounts = Pick<Bucket, 'requests' | 'errors' | 'ops' | 'otherOps'>;

/** Add `from`'s requests, errors and per-opcode counts to `into` (a bucket's top PID, a PID's times: each
 * caller's own rule). */
function addCounts(into: OpCounts, from: OpCounts): void {
  into.requests += from.requests;
  into.errors += from.errors;
  for (let op = 0; op < SMALL_OPS; op++) into.ops[op] += from.ops[op];
  if (from.otherOps) {
    if (into.otherOps === null) into.otherOps = new Map();
    for (const [k, v] of from.otherOps) into.otherOps.set(k, (into.otherOps.get(k) ?? 0) + v);
  }
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export class PostMortemReducer implements RowReducer, Pairing {
  /** The one-row scratch the sink's `request` and `reply` fill (see `requestAt`). */
  private readonly row: EventRows = newBatch(1);
  /** The request the latest reply answered, matched by unique (−1 when it matched none that way). */
  pairedOpcode = -1;
  pairedPid = -1;
  private readonly opt: Required<PostMortemOptions>;
  // Outstanding requests, keyed by unique (no object per request); the tag is the recent-activity slot.
  private pending: PendingTable;
  /** Requests without a unique (Rust 1.0/1.1, unknown opcodes): matched to replies whose unique is unknown. */
  private readonly noUnique: PendingRequest[] = [];
  private noUniqueHead = 0;
  /** C: successful READs get no reply line; remember recent ones so an error reply still finds its opcode. */
  private readonly cReads = new Map<number, number>();

  private readonly opReq = new Float64Array(SMALL_OPS);
  private readonly opOk = new Float64Array(SMALL_OPS);
  private readonly opErr = new Float64Array(SMALL_OPS);
  private readonly opNoReply = new Float64Array(SMALL_OPS);
  private readonly opOther = new Map<number, { req: number; ok: number; err: number; noReply: number }>();
  private readonly pidSeen = new IdSet();
  private readonly pids: CappedTable<PidAgg>;
  private lastPid = -1;
  private lastAgg: PidAgg | null = null;
  /** Requests per nodeid below DIRECT_INODES, in pages of 2^16 counters allocated as nodeids are seen: memory
   * follows the nodeids in use, and growing never copies (a doubling array needs 24 MB at once to reach 16). */
  // every page number below DIRECT_INODES there from the start: a read past the end would deoptimize requestAt
  private inodePages: (Uint32Array | undefined)[] = new Array(DIRECT_INODES >>> INODE_PAGE_BITS).fill(
    undefined,
  );
  private readonly bigInodeSeen = new IdSet();
  /** Nodeids ≥ 2^22 counted exactly in pages; past the page budget, in the capped table. */
  private readonly bigInodes = new PagedCounts();
  private readonly inodeMap: CappedTable<{ requests: number; missed: number }>;
  private distinctInodes = 0;
  private readonly errnos = new Map<number, number>();
  private readonly opErrnos = new Map<number, number>();

  private requests = 0;
  private repliesOk = 0;
  private repliesError = 0;
  private noReply = 0;
  private orphanReplies = 0;
  private readonly orphanLines: number[] = [];
  /** Orphan replies seen before this reducer's first INIT: a reducer that read the preceding part of the same
   * file (see `absorb`) may hold their requests. */
  private earlyOrphans: { unique: number; error: number; ts: number; line: number }[] = [];
  /** Per-PID requests in the first second seen (to merge the top PID of a second split across ranges). */
  private firstSec = Number.NaN;
  /** The last request's time and its second (Math.floor(ts / 1000)). */
  private secTs = Number.NaN;
  private secOfTs = 0;
  private readonly firstSecPids = new Map<number, number>();
  /** Uniques of replies paired with a unique-less request before the first INIT (for an exact `absorb`). */
  private fifoPairedUniques: number[] = [];
  private fifoOverflow = false;
  private firstInitTs = Number.NaN;
  private inits = 0;
  private unansweredBeforeInit = 0;
  private readonly lostAtInit: UnansweredRow[] = [];
  private superseded = 0;
  private evicted = 0;
  private sawReadLikeOk = false;
  private sawRust = false;

  private first = Number.NaN;
  private last = Number.NaN;
  private readonly buckets = new Map<number, Bucket>();
  private cur: Bucket | null = null;

  // recent ring
  private readonly ringN: number;
  private ringPos = 0;
  private ringCount = 0;
  private readonly rLine: Float64Array;
  private readonly rTs: Float64Array;
  private readonly rUnique: Float64Array;
  private readonly rOp: Int32Array;
  private readonly rNode: Float64Array;
  private readonly rPid: Int32Array;
  private readonly rResult: Int32Array;

  // C paths
  private readonly paths = new Map<number, string>();
  private readonly inodePaths = new Map<number, Map<string, number>>();
  /** Requests on nodeid 1 (always `/`) not yet added to `inodePaths` (see flushRootPath): the commonest nodeid of
   * a Rust log, counted without four map operations each. */
  private rootPathRequests = 0;
  /** C: requests on a nodeid this reducer had no path for; a reducer that read the preceding part of the file
   * may know it (see `absorb`). */
  private readonly unresolvedPaths = new Map<number, number>();
  private entries = 0;

  constructor(opts: PostMortemOptions = {}) {
    this.opt = {
      top: opts.top ?? 15,
      recent: opts.recent ?? 20,
      unansweredListed: opts.unansweredListed ?? 50,
      maxPending: opts.maxPending ?? 200_000,
      maxBuckets: opts.maxBuckets ?? 20_000,
      maxPids: opts.maxPids ?? 20_000,
      maxBigInodes: opts.maxBigInodes ?? 65_536,
    };
    this.pids = new CappedTable<PidAgg>(Math.max(1, this.opt.maxPids), this.pidSeen);
    this.inodeMap = new CappedTable(Math.max(1, this.opt.maxBigInodes), this.bigInodeSeen);
    this.pending = new PendingTable(this.opt.maxPending);
    const n = Math.max(1, this.opt.recent);
    this.ringN = n;
    this.rLine = new Float64Array(n);
    this.rTs = new Float64Array(n);
    this.rUnique = new Float64Array(n);
    this.rOp = new Int32Array(n);
    this.rNode = new Float64Array(n);
    this.rPid = new Int32Array(n);
    this.rResult = new Int32Array(n);
  }

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
   * The request in row `i` of event columns (a batch: `reduceBatch`). The sink's `request` fills a one-row scratch
   * and comes here too: one body, and a batch's doubles are read here rather than passed (a time passed to a call
   * is a heap number each).
   */
  requestAt(row: EventRows, i: number): void {
    const ts = row.ts[i];
    const line = row.line[i];
    const opcode = row.a[i];
    const nodeid = row.b[i];
    const unique = row.c[i];
    const pid = row.d[i];
    const daemon = row.e[i] as DaemonCode;
    this.requests++;
    if (daemon === Daemon.rust || daemon === Daemon.rustLegacy) this.sawRust = true;
    if (!Number.isNaN(ts)) {
      if (!(ts >= this.first)) this.first = ts;
      if (!(ts <= this.last)) this.last = ts;
    }
    if (opcode < SMALL_OPS) this.opReq[opcode]++;
    else this.otherOp(opcode).req++;

    // timeline bucket
    let b: Bucket | null = null;
    let sec = 0;
    if (!Number.isNaN(ts)) {
      // most lines share their stamp with the line before (Rust stamps are whole seconds): no division then
      if (ts !== this.secTs) {
        this.secTs = ts;
        this.secOfTs = Math.floor(ts / 1000);
      }
      sec = this.secOfTs;
      b = this.cur;
      if (b === null || b.t !== sec) {
        b = this.buckets.get(sec) ?? null;
        if (b === null) {
          b = newBucket(sec);
          this.buckets.set(sec, b);
        }
        this.cur = b;
        if (Number.isNaN(this.firstSec)) this.firstSec = sec;
      }
      if (sec === this.firstSec && pid >= 0)
        this.firstSecPids.set(pid, (this.firstSecPids.get(pid) ?? 0) + 1);
      b.requests++;
      if (opcode < SMALL_OPS) b.ops[opcode]++;
      else {
        if (b.otherOps === null) b.otherOps = new Map();
        b.otherOps.set(opcode, (b.otherOps.get(opcode) ?? 0) + 1);
      }
    }

    // PID
    if (pid >= 0) {
      let agg = this.lastAgg;
      if (pid !== this.lastPid || agg === null) {
        agg = this.pids.get(pid) ?? null;
        if (agg === null) {
          agg = this.pids.recycled()?.reset() ?? new PidAgg();
          agg.first = ts;
          this.pids.insert(pid, agg);
        }
        this.lastPid = pid;
        this.lastAgg = agg;
      }
      agg.requests++;
      agg.last = ts;
      if (opcode < SMALL_OPS) agg.ops[opcode]++;
      else {
        if (agg.otherOps === null) agg.otherOps = new Map();
        agg.otherOps.set(opcode, (agg.otherOps.get(opcode) ?? 0) + 1);
      }
      if (b !== null) {
        if (agg.secT !== sec) {
          const t = agg.prevT;
          const n = agg.prevN;
          agg.prevT = agg.secT;
          agg.prevN = agg.secN;
          if (t === sec) {
            agg.secT = t;
            agg.secN = n;
          } else {
            agg.secT = sec;
            agg.secN = 0;
          }
        }
        const n = ++agg.secN;
        if (n > b.topPidN || (n === b.topPidN && pid < b.topPid)) {
          b.topPidN = n;
          b.topPid = pid;
        }
      }
    }
    // inode
    if (nodeid < DIRECT_INODES) {
      const page = this.inodePages[nodeid >>> INODE_PAGE_BITS] ?? this.inodePage(nodeid >>> INODE_PAGE_BITS);
      if (page[nodeid & INODE_PAGE_MASK]++ === 0) this.distinctInodes++;
    } else {
      this.countBigInode(nodeid, 1);
    }
    if (nodeid === 1) this.rootPathRequests++;
    else if (this.entries > 0 || (daemon >= Daemon.c && nodeid > 1)) this.notePath(nodeid);

    // recent ring
    const rp = this.ringPos;
    this.rLine[rp] = line;
    this.rTs[rp] = ts;
    this.rUnique[rp] = unique;
    this.rOp[rp] = opcode;
    this.rNode[rp] = nodeid;
    this.rPid[rp] = pid;
    this.ringPos = rp + 1 === this.ringN ? 0 : rp + 1;
    if (this.ringCount < this.ringN) this.ringCount++;

    // pairing
    if (opcode === OP.INIT) this.resetAtInit(row, i);
    if (
      opcode === OP.FORGET ||
      opcode === OP.BATCH_FORGET ||
      opcode === OP.INTERRUPT ||
      (opcode === OP.DESTROY && daemon !== Daemon.c && daemon !== Daemon.libfuse)
    ) {
      this.rResult[rp] = RESULT_NOREPLY;
      this.noReply++;
      if (opcode < SMALL_OPS) this.opNoReply[opcode]++;
      else this.otherOp(opcode).noReply++;
      return;
    }
    if (daemon === Daemon.c && opcode === OP.READ) {
      // A successful C READ has no reply line; only an error reply would name this unique.
      this.rResult[rp] = RESULT_NOREPLY;
      this.noReply++;
      this.opNoReply[opcode]++;
      this.cReads.set(unique, rp + 1);
      if (this.cReads.size > 4096) this.cReads.delete(this.cReads.keys().next().value as number);
      return;
    }
    this.rResult[rp] = RESULT_PENDING;
    if (unique < 0) {
      this.holdWithoutUnique(unique, opcode, nodeid, pid, ts, line, rp);
      return;
    }
    // The same unique again while outstanding: the earlier request is lost.
    if (this.pending.set(unique, opcode, nodeid, pid, ts, line, rp)) this.superseded++;
  }

  /** A request without a unique (Rust 1.0/1.1, an unknown opcode): paired first in, first out. Rare, so kept out
   * of `requestAt`, whose optimized code would be thrown away at its first object here. */
  private holdWithoutUnique(
    unique: number,
    opcode: number,
    nodeid: number,
    pid: number,
    ts: number,
    line: number,
    tag: number,
  ): void {
    this.noUnique.push({ unique, opcode, pid, nodeid, ts, line, tag });
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
  replyAt(row: EventRows, i: number): void {
    const ts = row.ts[i];
    const line = row.line[i];
    const unique = row.a[i];
    const error = row.b[i];
    if (!Number.isNaN(ts)) {
      if (!(ts >= this.first)) this.first = ts;
      if (!(ts <= this.last)) this.last = ts;
    }
    if (error === 0) this.repliesOk++;
    else this.repliesError++;
    let opcode: number;
    let pid: number;
    let ring: number;
    let reqLine: number;
    this.pairedOpcode = -1;
    if (this.pending.take(unique)) {
      opcode = this.pending.takenOpcode;
      pid = this.pending.takenPid;
      this.pairedOpcode = opcode;
      this.pairedPid = pid;
      ring = this.pending.takenTag;
      reqLine = this.pending.takenLine;
    } else {
      let p: PendingRequest | undefined;
      if (this.noUniqueHead < this.noUnique.length) {
        p = this.noUnique[this.noUniqueHead++];
        if (this.inits === 0) {
          if (this.fifoPairedUniques.length < 10_000) this.fifoPairedUniques.push(unique);
          else this.fifoOverflow = true;
        }
        if (this.noUniqueHead > 1024 && this.noUniqueHead * 2 > this.noUnique.length) {
          this.noUnique.splice(0, this.noUniqueHead);
          this.noUniqueHead = 0;
        }
      }
      if (p !== undefined) {
        opcode = p.opcode;
        pid = p.pid;
        ring = p.tag;
        reqLine = p.line;
      } else {
        const cr = this.cReads.get(unique);
        if (cr === undefined) {
          this.orphanReplies++;
          if (this.orphanLines.length < 10) this.orphanLines.push(line);
          if (this.inits === 0 && this.earlyOrphans.length < 100_000)
            this.earlyOrphans.push({ unique, error, ts, line });
          if (error !== 0) this.countError(-1, -1, error, row, i);
          return;
        }
        // An error reply to a C READ counted as "no reply": move it from noReply to its result.
        this.cReads.delete(unique);
        opcode = OP.READ;
        pid = -1;
        ring = cr - 1;
        reqLine = this.rUnique[ring] === unique ? this.rLine[ring] : -1;
        this.noReply--;
        this.opNoReply[OP.READ]--;
      }
    }
    if (this.rLine[ring] === reqLine) this.rResult[ring] = error === 0 ? RESULT_OK : error;
    if (error === 0) {
      if (opcode < SMALL_OPS) this.opOk[opcode]++;
      else this.otherOp(opcode).ok++;
      if (opcode === OP.READ || opcode === OP.READDIR || opcode === OP.READDIRPLUS) this.sawReadLikeOk = true;
    } else {
      this.countError(opcode, pid, error, row, i);
    }
  }

  entry(_ts: number, _line: number, parent: number, name: string, child: number): void {
    this.entries++;
    const base = parent === 1 ? '' : (this.paths.get(parent) ?? `<${parent}>`);
    this.paths.set(child, `${base}/${name}`);
  }

  /** Put `page` (a new one by default) at page number `p`. */
  private inodePage(p: number, page: Uint32Array = new Uint32Array(1 << INODE_PAGE_BITS)): Uint32Array {
    const pages = this.inodePages;
    while (pages.length <= p) pages.push(undefined);
    pages[p] = page;
    return page;
  }

  /** `n` requests on a nodeid ≥ 2^22: in the exact pages, or in the capped table past their budget. */
  private countBigInode(nodeid: number, n: number): void {
    const prev = this.bigInodes.add(nodeid, n);
    if (prev === 0) this.bigInodeSeen.add(nodeid);
    else if (prev < 0) {
      const e = this.inodeMap.get(nodeid);
      if (e !== undefined) e.requests += n;
      else this.inodeMap.insert(nodeid, { requests: n, missed: 0 });
    }
  }

  /** Requests per inode, as a map (for the top-N table). */
  private inodeCount(nodeid: number): number {
    if (nodeid < DIRECT_INODES)
      return this.inodePages[nodeid >>> INODE_PAGE_BITS]?.[nodeid & INODE_PAGE_MASK] ?? 0;
    const n = this.bigInodes.get(nodeid);
    return n >= 0 ? n : (this.inodeMap.get(nodeid)?.requests ?? 0);
  }

  private notePath(nodeid: number): void {
    const path = this.paths.get(nodeid);
    if (path === undefined) {
      if (nodeid > 1) this.unresolvedPaths.set(nodeid, (this.unresolvedPaths.get(nodeid) ?? 0) + 1);
      return;
    }
    this.countPath(nodeid, path, 1);
  }

  /**
   * The requests on nodeid 1 counted since the last call, into `inodePaths` — before anything reads it. Exact:
   * nodeid 1 has the one path `/`, so adding them at once counts what adding them one by one would, and the order
   * of the nodeids in `inodePaths` matters to nothing that reads it.
   */
  private flushRootPath(): void {
    if (this.rootPathRequests === 0) return;
    this.countPath(1, '/', this.rootPathRequests);
    this.rootPathRequests = 0;
  }

  /** Requests on `nodeid` while it named `path`; at most PATHS_PER_INODE distinct paths per nodeid are kept. */
  private countPath(nodeid: number, path: string, n: number): void {
    let m = this.inodePaths.get(nodeid);
    if (m === undefined) {
      m = new Map();
      this.inodePaths.set(nodeid, m);
    }
    if (m.size < PATHS_PER_INODE || m.has(path)) m.set(path, (m.get(path) ?? 0) + n);
  }

  /** An error reply, in row `i` (its time read here, not passed: see resetAtInit). */
  private countError(opcode: number, pid: number, error: number, row: EventRows, i: number): void {
    const ts = row.ts[i];
    const errno = -error;
    this.errnos.set(errno, (this.errnos.get(errno) ?? 0) + 1);
    if (opcode >= 0) {
      if (opcode < SMALL_OPS) this.opErr[opcode]++;
      else this.otherOp(opcode).err++;
      const k = opcode * 65536 + (errno & 0xffff);
      this.opErrnos.set(k, (this.opErrnos.get(k) ?? 0) + 1);
    }
    if (pid >= 0) {
      // the latest request's PID is looked up already (requestAt keeps lastAgg its entry, evictions included)
      const agg = pid === this.lastPid ? this.lastAgg : this.pids.get(pid);
      if (agg != null) agg.errors++;
    }
    if (!Number.isNaN(ts)) {
      // Every error reply lands in the timeline, even in a second without requests. Mostly the latest request's
      // second: no division, no lookup then (`cur` stays requestAt's).
      const sec = ts === this.secTs ? this.secOfTs : Math.floor(ts / 1000);
      const cur = this.cur;
      let b = cur !== null && cur.t === sec ? cur : this.buckets.get(sec);
      if (b === undefined) {
        b = newBucket(sec);
        this.buckets.set(sec, b);
      }
      b.errors++;
    }
  }

  private otherOp(opcode: number) {
    let o = this.opOther.get(opcode);
    if (o === undefined) {
      o = { req: 0, ok: 0, err: 0, noReply: 0 };
      this.opOther.set(opcode, o);
    }
    return o;
  }

  /** Every outstanding request (the unique-less too), oldest line first. */
  private waiting(): PendingRequest[] {
    const out = this.pending.values();
    for (let i = this.noUniqueHead; i < this.noUnique.length; i++) out.push(this.noUnique[i]);
    out.sort((a, b) => a.line - b.line);
    return out;
  }

  /**
   * A new FUSE session (INIT in row `i`). The time is read here from the row, not passed: with `ts` as an argument
   * V8 boxed the request's time as a heap number on every request, INIT or not (~16 bytes each, ~23 MB of garbage
   * on a 1.5 M-request log).
   */
  private resetAtInit(row: EventRows, i: number): void {
    const ts = row.ts[i];
    this.inits++;
    if (this.inits === 1) this.firstInitTs = ts;
    const lost = this.waiting();
    if (lost.length > 0) {
      this.unansweredBeforeInit += lost.length;
      for (const p of lost) {
        if (this.lostAtInit.length < this.opt.unansweredListed) this.lostAtInit.push(this.pendingRow(p, ts));
      }
      this.pending.clear();
      this.noUnique.length = 0;
      this.noUniqueHead = 0;
    }
    this.cReads.clear();
  }

  private pendingRow(p: PendingRequest, now: number): UnansweredRow {
    return {
      line: p.line,
      ts: finite(p.ts),
      unique: p.unique >= 0 ? p.unique : null,
      opcode: p.opcode,
      name: opcodeName(p.opcode),
      nodeid: p.nodeid,
      pid: p.pid >= 0 ? p.pid : null,
      result: 'pending',
      ageSec: Number.isFinite(p.ts) && Number.isFinite(now) ? (now - p.ts) / 1000 : null,
    };
  }

  /** Requests waiting for their reply, matched by unique (the unique-less and C READs are not among them). */
  outstanding(): PendingRequest[] {
    return this.pending.values();
  }

  get outstandingCount(): number {
    return this.pending.size;
  }

  /**
   * Whether `absorb(next)` gives exactly what one reducer reading both ranges would: no unique-less request still
   * waiting here, no reply in `next` that paired with one of its own unique-less requests while its unique was
   * outstanding here, and no nodeid whose capped path counts could merge differently.
   */
  canAbsorb(next: PostMortemReducer): boolean {
    next.flushRootPath();
    if (next.fifoOverflow) return false;
    // Paths are noted for Rust requests only once a lookup path exists: a Rust range after C paths could differ.
    if (this.entries > 0 && next.sawRust) return false;
    // Path counts per nodeid are capped in first-seen order: where `next` hit the cap it dropped counts that one
    // reader would have kept for paths seen earlier.
    for (const m of next.inodePaths.values()) if (m.size >= PATHS_PER_INODE) return false;
    if (this.noUnique.length > this.noUniqueHead) return false;
    for (const u of next.fifoPairedUniques) {
      if (this.pending.has(u) || this.cReads.has(u)) return false;
    }
    return true;
  }

  /**
   * Make this reducer describe its own input followed by `next`'s: the next byte range of the same file, read by
   * another reducer (a worker thread). `lineOffset` is the number of lines before `next`'s range. Exact when
   * `canAbsorb(next)`; assumes uniques are not reused within a session (Linux increments a 64-bit counter).
   * `next` is consumed (its contents are moved, not copied).
   */
  absorb(next: PostMortemReducer, lineOffset: number): void {
    const o = next;
    this.flushRootPath();
    o.flushRootPath();
    const N = this.ringN;
    const hadInit = this.inits > 0;
    // 1. Shift next's line numbers into file coordinates.
    // A structured clone from a worker has lost its prototypes.
    const theirPending = Object.setPrototypeOf(o.pending, PendingTable.prototype) as PendingTable;
    for (const t of [o.pids, o.inodeMap]) Object.setPrototypeOf(t, CappedTable.prototype);
    for (const t of [o.pidSeen, o.bigInodeSeen]) Object.setPrototypeOf(t, IdSet.prototype);
    theirPending.remap(
      (l) => l + lineOffset,
      (t) => t,
    );
    for (const p of o.noUnique) p.line += lineOffset;
    for (let i = 0; i < o.ringCount; i++) o.rLine[(o.ringPos - 1 - i + N) % N] += lineOffset;
    for (let i = 0; i < o.orphanLines.length; i++) o.orphanLines[i] += lineOffset;
    for (const r of o.earlyOrphans) r.line += lineOffset;
    for (const r of o.lostAtInit) r.line += lineOffset;

    // 2. Replies in next whose requests are outstanding here.
    const pairedLines = new Set<number>();
    const unpaired: typeof o.earlyOrphans = [];
    for (const r of o.earlyOrphans) {
      let op = -1;
      let pid = -1;
      let ring = -1;
      let reqLine = -1;
      if (this.pending.take(r.unique)) {
        op = this.pending.takenOpcode;
        pid = this.pending.takenPid;
        ring = this.pending.takenTag;
        reqLine = this.pending.takenLine;
      } else {
        const cr = this.cReads.get(r.unique);
        if (cr !== undefined) {
          this.cReads.delete(r.unique);
          op = OP.READ;
          ring = cr - 1;
          reqLine = this.rUnique[ring] === r.unique ? this.rLine[ring] : -1;
          this.noReply--;
          this.opNoReply[OP.READ]--;
        }
      }
      if (op < 0) {
        unpaired.push(r);
        continue;
      }
      pairedLines.add(r.line);
      o.orphanReplies--;
      if (ring >= 0 && this.rLine[ring] === reqLine) this.rResult[ring] = r.error === 0 ? RESULT_OK : r.error;
      if (r.error === 0) {
        if (op < SMALL_OPS) this.opOk[op]++;
        else this.otherOp(op).ok++;
        if (op === OP.READ || op === OP.READDIR || op === OP.READDIRPLUS) this.sawReadLikeOk = true;
      } else {
        // errno and bucket were counted by `next`; add what needed the request.
        const errno = -r.error;
        if (op < SMALL_OPS) this.opErr[op]++;
        else this.otherOp(op).err++;
        const k = op * 65536 + (errno & 0xffff);
        this.opErrnos.set(k, (this.opErrnos.get(k) ?? 0) + 1);
        const agg = pid >= 0 ? this.pids.get(pid) : undefined;
        if (agg !== undefined) agg.errors++;
      }
    }
    const orphanLines = o.orphanLines.filter((l) => !pairedLines.has(l));
    if (this.inits === 0) {
      for (const r of unpaired) if (this.earlyOrphans.length < 100_000) this.earlyOrphans.push(r);
    }

    // 3. Outstanding here and a new session in next: lost at its first INIT.
    if (o.inits > 0) {
      const lost = this.waiting();
      this.unansweredBeforeInit += lost.length;
      const rows = lost.map((p) => this.pendingRow(p, o.firstInitTs));
      this.lostAtInit.splice(
        0,
        this.lostAtInit.length,
        ...[...this.lostAtInit, ...rows, ...o.lostAtInit].slice(0, this.opt.unansweredListed),
      );
      this.pending.clear();
      this.cReads.clear();
    } else {
      for (const r of o.lostAtInit)
        if (this.lostAtInit.length < this.opt.unansweredListed) this.lostAtInit.push(r);
    }

    // 4. Recent ring: ours then next's, the last N kept; remap every stored ring position.
    const ours: number[] = [];
    for (let i = this.ringCount; i > 0; i--) ours.push((this.ringPos - i + N) % N);
    const theirs: number[] = [];
    for (let i = o.ringCount; i > 0; i--) theirs.push((o.ringPos - i + N) % N);
    const keepOurs = Math.max(0, Math.min(ours.length, N - theirs.length));
    const keptTheirs = theirs.slice(Math.max(0, theirs.length - N));
    const mapOurs = new Int32Array(N).fill(-1);
    const mapTheirs = new Int32Array(N).fill(-1);
    const cols = ['rLine', 'rTs', 'rUnique', 'rOp', 'rNode', 'rPid', 'rResult'] as const;
    const fresh = cols.map((c) => new (this[c].constructor as Float64ArrayConstructor)(N));
    let k = 0;
    for (const pos of ours.slice(ours.length - keepOurs)) {
      cols.forEach((c, j) => {
        fresh[j][k] = this[c][pos];
      });
      mapOurs[pos] = k++;
    }
    for (const pos of keptTheirs) {
      cols.forEach((c, j) => {
        fresh[j][k] = o[c][pos];
      });
      mapTheirs[pos] = k++;
    }
    cols.forEach((c, j) => {
      (this[c] as Float64Array | Int32Array).set(fresh[j]);
    });
    this.ringCount = k;
    this.ringPos = k % N;
    const remap = (m: Int32Array, pos: number) => (pos >= 0 && pos < N && m[pos] >= 0 ? m[pos] : 0);
    this.pending.remap(
      (l) => l,
      (t) => remap(mapOurs, t),
    );
    const cReads = new Map<number, number>();
    for (const [u, r] of this.cReads) cReads.set(u, remap(mapOurs, r - 1) + 1);
    for (const [u, r] of o.cReads) {
      cReads.delete(u);
      cReads.set(u, remap(mapTheirs, r - 1) + 1);
    }
    this.cReads.clear();
    for (const [u, r] of [...cReads].slice(-4096)) this.cReads.set(u, r);

    // 5. next's outstanding requests join ours.
    for (const p of theirPending.values()) {
      if (this.pending.set(p.unique, p.opcode, p.nodeid, p.pid, p.ts, p.line, remap(mapTheirs, p.tag))) {
        this.superseded++;
      }
    }
    this.evicted += theirPending.evicted;
    if (o.inits > 0) {
      this.noUnique.length = 0;
      this.noUniqueHead = 0;
    }
    for (let i = o.noUniqueHead; i < o.noUnique.length; i++) {
      const p = o.noUnique[i];
      this.noUnique.push({ ...p, tag: remap(mapTheirs, p.tag) });
    }

    // 6. Timeline: a second split across the two ranges gets its exact top PID from both sides' counts.
    for (const [t, ob] of o.buckets) {
      const b = this.buckets.get(t);
      if (b === undefined) {
        this.buckets.set(t, ob);
        continue;
      }
      addCounts(b, ob);
      if (t === o.firstSec) {
        const counts = new Map<number, number>();
        for (const [pid, agg] of this.pids.entries()) {
          if (agg.secT === t) counts.set(pid, agg.secN);
          else if (agg.prevT === t) counts.set(pid, agg.prevN);
        }
        for (const [pid, n] of o.firstSecPids) counts.set(pid, (counts.get(pid) ?? 0) + n);
        const [top, topN] = argmax(counts);
        b.topPid = top ?? -1;
        b.topPidN = topN;
      } else if (ob.topPidN > b.topPidN) {
        b.topPid = ob.topPid;
        b.topPidN = ob.topPidN;
      }
    }
    this.cur = null;

    // 7. C lookup paths. `next` wrote `<P>/name` for a parent it had no path for, and counted requests on
    // nodeids it had no path for: both resolve against this reducer's paths as they stand at the boundary.
    const resolve = (path: string): string => {
      if (path[0] !== '<') return path;
      const end = path.indexOf('>');
      const base = this.paths.get(Number(path.slice(1, end)));
      return base === undefined ? path : base + path.slice(end + 1);
    };
    for (const [nodeid, n] of o.unresolvedPaths) {
      const path = this.paths.get(nodeid);
      if (path !== undefined) this.countPath(nodeid, path, n);
    }
    const theirPaths = [...o.paths].map(([nodeid, path]) => [nodeid, resolve(path)] as const);
    for (const [nodeid, m] of o.inodePaths)
      for (const [path, n] of m) this.countPath(nodeid, resolve(path), n);
    for (const [nodeid, path] of theirPaths) this.paths.set(nodeid, path);
    this.unresolvedPaths.clear();

    // 8. Everything additive.
    for (let op = 0; op < SMALL_OPS; op++) {
      this.opReq[op] += o.opReq[op];
      this.opOk[op] += o.opOk[op];
      this.opErr[op] += o.opErr[op];
      this.opNoReply[op] += o.opNoReply[op];
    }
    for (const [op, x] of o.opOther) {
      const y = this.otherOp(op);
      y.req += x.req;
      y.ok += x.ok;
      y.err += x.err;
      y.noReply += x.noReply;
    }
    this.mergePids(o);
    this.lastPid = -1;
    this.lastAgg = null;
    o.inodePages.forEach((theirs, p) => {
      if (!theirs) return;
      const ours = this.inodePages[p];
      if (ours === undefined) {
        // a page only they have: take it (moved from the worker), do not copy it
        this.inodePage(p, theirs);
        for (let i = 0; i < theirs.length; i++) if (theirs[i] !== 0) this.distinctInodes++;
        return;
      }
      for (let i = 0; i < theirs.length; i++) {
        const v = theirs[i];
        if (v === 0) continue;
        if (ours[i] === 0) this.distinctInodes++;
        ours[i] += v;
      }
    });
    Object.setPrototypeOf(o.bigInodes, PagedCounts.prototype);
    for (const [id, n] of o.bigInodes.entries()) {
      this.countBigInode(id, n);
    }
    mergeCapped(this.inodeMap, this.bigInodeSeen, o.inodeMap, o.bigInodeSeen, (y, x) => {
      y.requests += x.requests;
    });
    for (const [kk, v] of o.errnos) this.errnos.set(kk, (this.errnos.get(kk) ?? 0) + v);
    for (const [kk, v] of o.opErrnos) this.opErrnos.set(kk, (this.opErrnos.get(kk) ?? 0) + v);
    this.requests += o.requests;
    this.repliesOk += o.repliesOk;
    this.repliesError += o.repliesError;
    this.noReply += o.noReply;
    this.orphanReplies += o.orphanReplies;
    for (const l of orphanLines) if (this.orphanLines.length < 10) this.orphanLines.push(l);
    if (Number.isNaN(this.firstInitTs)) this.firstInitTs = o.firstInitTs;
    this.inits += o.inits;
    this.unansweredBeforeInit += o.unansweredBeforeInit;
    this.superseded += o.superseded;
    this.evicted += o.evicted;
    this.sawReadLikeOk ||= o.sawReadLikeOk;
    this.sawRust ||= o.sawRust;
    if (!hadInit) {
      const room = 10_000 - this.fifoPairedUniques.length;
      if (o.fifoPairedUniques.length > room) this.fifoOverflow = true;
      this.fifoPairedUniques.push(...o.fifoPairedUniques.slice(0, room));
    }
    this.fifoOverflow ||= o.fifoOverflow;
    this.entries += o.entries;
    if (Number.isNaN(this.firstSec)) {
      this.firstSec = o.firstSec;
      for (const [pid, n] of o.firstSecPids) this.firstSecPids.set(pid, n);
    }
    if (!(this.first <= o.first)) this.first = Number.isNaN(o.first) ? this.first : o.first;
    if (!(this.last >= o.last)) this.last = Number.isNaN(o.last) ? this.last : o.last;
  }

  /** Drops what another thread does not need (recycled PID aggregates) before the reducer is sent there. */
  prepareExport(): void {
    this.flushRootPath();
    this.pids.dropRecycled();
    this.inodeMap.dropRecycled();
  }

  /** The PID tables of two consecutive ranges, added; a PID one side had evicted carries that side's bound. */
  private mergePids(o: PostMortemReducer): void {
    mergeCapped(this.pids, this.pidSeen, o.pids, o.pidSeen, (y, x) => {
      addCounts(y, x);
      if (Number.isNaN(y.first)) y.first = x.first;
      if (!Number.isNaN(x.last)) y.last = x.last;
      if (x.secT === y.secT) y.secN += x.secN;
      else if (!Number.isNaN(x.secT)) {
        y.prevT = y.secT;
        y.prevN = y.secN;
        y.secT = x.secT;
        y.secN = x.secN;
      }
    });
  }

  /** Rust ≤ 1.6 never logged a successful Read/Readdir/Readdirplus reply: without any such OK reply seen, their
   * outstanding requests are "no reply expected", not "unanswered". */
  private readLikeSilent(): boolean {
    return this.sawRust && !this.sawReadLikeOk;
  }

  private isSilentReadLike(opcode: number): boolean {
    return (
      (opcode === OP.READ || opcode === OP.READDIR || opcode === OP.READDIRPLUS) && this.readLikeSilent()
    );
  }

  /** The current results; cheap enough to call repeatedly while streaming. `resolutionSec` is the clock step. */
  snapshot(resolutionSec = 0): PostMortem {
    this.flushRootPath();
    const top = this.opt.top;
    const total = this.requests;
    const share = (n: number) => (total > 0 ? n / total : 0);
    // Outstanding requests
    const outstanding = this.waiting();
    const unansweredByOp = new Map<number, number>();
    const silentByOp = new Map<number, number>();
    const unansweredRows: UnansweredRow[] = [];
    let unanswered = 0;
    let silent = 0;
    for (const p of outstanding) {
      const op = p.opcode;
      if (this.isSilentReadLike(op)) {
        silent++;
        silentByOp.set(op, (silentByOp.get(op) ?? 0) + 1);
        continue;
      }
      unanswered++;
      unansweredByOp.set(op, (unansweredByOp.get(op) ?? 0) + 1);
      if (unansweredRows.length < this.opt.unansweredListed)
        unansweredRows.push(this.pendingRow(p, this.last));
    }
    unansweredRows.sort((a, b) => a.line - b.line);

    // By opcode
    const byOpcode: OpcodeRow[] = [];
    const pushOp = (opcode: number, req: number, ok: number, err: number, nr: number) => {
      if (req === 0 && ok === 0 && err === 0) return;
      byOpcode.push({
        opcode,
        name: opcodeName(opcode),
        requests: req,
        ok,
        errors: err,
        noReply: nr + (silentByOp.get(opcode) ?? 0),
        unanswered: unansweredByOp.get(opcode) ?? 0,
      });
    };
    for (let op = 0; op < SMALL_OPS; op++)
      pushOp(op, this.opReq[op], this.opOk[op], this.opErr[op], this.opNoReply[op]);
    for (const [op, o] of this.opOther) pushOp(op, o.req, o.ok, o.err, o.noReply);
    byOpcode.sort((a, b) => b.requests - a.requests || a.opcode - b.opcode);

    // By PID
    const byPid: PidRow[] = [];
    let pidOps: PidOpcodeRow[] = [];
    let pidOpsMin = 0;
    for (const [pid, agg] of this.pids.entries()) {
      const ops: { name: string; requests: number; opcode: number }[] = [];
      for (let op = 0; op < SMALL_OPS; op++) {
        const c = agg.ops[op];
        if (c > 0) ops.push({ name: opcodeName(op), requests: c, opcode: op });
      }
      if (agg.otherOps)
        for (const [op, c] of agg.otherOps) ops.push({ name: opcodeName(op), requests: c, opcode: op });
      ops.sort((a, b) => b.requests - a.requests || a.opcode - b.opcode);
      // only the busiest (PID, opcode) pairs are reported: keep a running top, as topEntries does
      for (const o of ops) {
        if (top <= 0 || (pidOps.length >= top && o.requests < pidOpsMin)) break; // ops is busiest first
        pidOps.push({ pid, opcode: o.opcode, name: o.name, requests: o.requests });
        if (pidOps.length > top * 4) {
          pidOps.sort(byPidOpcodeRank);
          pidOps.length = top;
          pidOpsMin = pidOps[top - 1].requests;
        }
      }
      byPid.push({
        pid,
        requests: agg.requests,
        errors: agg.errors,
        share: share(agg.requests),
        topOpcodes: ops.slice(0, 3).map((o) => ({ name: o.name, requests: o.requests })),
        first: finite(agg.first),
        last: finite(agg.last),
        ...(agg.missed > 0 ? { missedAtMost: agg.missed } : {}),
      });
    }
    byPid.sort((a, b) => b.requests - a.requests || a.pid - b.pid);
    pidOps.sort(byPidOpcodeRank);
    pidOps = pidOps.slice(0, top);

    // By inode: top N without sorting every inode
    const topInodes = this.topInodes(top);
    const rootRequests = this.inodeCount(1);
    const inodeRows: InodeRow[] = topInodes.map(([nodeid, requests]) => {
      const row: InodeRow = { nodeid, requests, share: share(requests) };
      const missed = nodeid >= DIRECT_INODES ? (this.inodeMap.get(nodeid)?.missed ?? 0) : 0;
      if (missed > 0) row.missedAtMost = missed;
      const m = this.inodePaths.get(nodeid);
      if (m !== undefined && this.entries > 0) {
        row.paths = [...m]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, 5)
          .map(([path, n]) => ({ path, requests: n }));
      }
      return row;
    });

    // Errors
    const byErrno: ErrnoRow[] = [...this.errnos]
      .map(([errno, count]) => ({ errno, name: errnoName(errno), count }))
      .sort((a, b) => b.count - a.count || a.errno - b.errno);
    const errByOp: OpcodeErrnoRow[] = [...this.opErrnos]
      .map(([k, count]) => {
        const opcode = Math.floor(k / 65536);
        const errno = k % 65536;
        return { opcode, name: opcodeName(opcode), errno, errnoName: errnoName(errno), count };
      })
      .sort((a, b) => b.count - a.count || a.opcode - b.opcode);

    // Timeline
    const timeline = this.buildTimeline();
    let peak = 0;
    let peakAt = Number.NaN;
    for (const b of this.buckets.values()) {
      if (b.requests > peak) {
        peak = b.requests;
        peakAt = b.t * 1000;
      }
    }
    const first = this.first;
    const last = this.last;
    const span = Number.isFinite(first) ? (last - first) / 1000 + resolutionSec : 0;
    const durationSec = Math.max(span, 0);

    // Recent
    const recent: RequestRow[] = [];
    for (let i = 0; i < this.ringCount; i++) {
      const rp = (this.ringPos - this.ringCount + i + this.ringN) % this.ringN;
      const r = this.rResult[rp];
      const op = this.rOp[rp];
      const pid = this.rPid[rp];
      const u = this.rUnique[rp];
      recent.push({
        line: this.rLine[rp],
        ts: finite(this.rTs[rp]),
        unique: u >= 0 ? u : null,
        opcode: op,
        name: opcodeName(op),
        nodeid: this.rNode[rp],
        pid: pid >= 0 ? pid : null,
        result:
          r === RESULT_OK
            ? 'ok'
            : r === RESULT_NOREPLY
              ? 'noreply'
              : r === RESULT_PENDING
                ? this.isSilentReadLike(op)
                  ? 'noreply'
                  : 'pending'
                : errnoName(r),
      });
    }

    return {
      time: { first: finite(first), last: finite(last), durationSec, firstInit: finite(this.firstInitTs) },
      totals: {
        requests: total,
        replies: this.repliesOk + this.repliesError,
        repliesOk: this.repliesOk,
        repliesError: this.repliesError,
        noReply: this.noReply + silent,
        unanswered,
        orphanReplies: this.orphanReplies,
        inits: this.inits,
        unansweredBeforeInit: this.unansweredBeforeInit,
        supersededRequests: this.superseded,
        evictedPending: this.evicted + this.pending.evicted,
        distinctPids: this.pidSeen.size,
        distinctInodes: this.distinctInodes + this.bigInodeSeen.size,
      },
      rate: {
        meanPerSec: durationSec > 0 ? total / durationSec : 0,
        peakPerSec: peak,
        peakAt: finite(peakAt),
      },
      timeline,
      byOpcode,
      byPid,
      byInode: {
        distinct: this.distinctInodes + this.bigInodeSeen.size,
        rootRequests,
        rootShare: share(rootRequests),
        top: inodeRows,
      },
      byPidOpcode: pidOps,
      errors: { total: this.repliesError, byErrno, byOpcode: errByOp },
      unanswered: unansweredRows,
      unansweredAtInit: [...this.lostAtInit],
      recent,
      orphanReplyLines: [...this.orphanLines],
      paths: { known: this.entries > 0, distinct: this.paths.size },
      bounds: {
        distinctExact: this.pidSeen.exact && this.bigInodeSeen.exact,
        pidsExact: this.pids.exact,
        maxPids: this.pids.cap,
        pidEvictions: this.pids.evictions,
        pidMaxError: this.pids.floor,
        inodesExact: this.inodeMap.exact,
        inodeEvictions: this.inodeMap.evictions,
        inodeMaxError: this.inodeMap.floor,
      },
    };
  }

  private buildTimeline(): { bucketSec: number; buckets: TimelineBucket[] } {
    if (this.buckets.size === 0) return { bucketSec: 1, buckets: [] };
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const t of this.buckets.keys()) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const span = hi - lo + 1;
    const width = Math.max(1, Math.ceil(span / this.opt.maxBuckets));
    const n = Math.ceil(span / width);
    // One slot per output bucket; a second without requests stays empty (no counters made for it).
    const merged: (Bucket | undefined)[] = new Array(n).fill(undefined);
    if (width === 1) {
      for (const b of this.buckets.values()) merged[b.t - lo] = b;
    } else {
      for (const b of this.buckets.values()) {
        const k = Math.floor((b.t - lo) / width);
        let m = merged[k];
        if (m === undefined) {
          m = newBucket(lo + k * width);
          merged[k] = m;
        }
        addCounts(m, b);
        // Merged buckets keep the PID that was busiest in any one of their seconds.
        if (b.topPidN > m.topPidN) {
          m.topPid = b.topPid;
          m.topPidN = b.topPidN;
        }
      }
    }
    const buckets: TimelineBucket[] = new Array(n);
    for (let i = 0; i < n; i++) buckets[i] = timelineRow(merged[i], (lo + i * width) * 1000);
    return { bucketSec: width, buckets };
  }

  /** The `n` inodes with most requests (ties: smaller nodeid first). */
  private topInodes(n: number): [number, number][] {
    const cand = new Map<number, number>();
    // Threshold pass over the typed arrays: keep a running top-n without building a map of every inode.
    const best: [number, number][] = [];
    let min = 0;
    this.inodePages.forEach((page, p) => {
      if (!page) return;
      const base = p << INODE_PAGE_BITS;
      for (let i = 0; i < page.length; i++) {
        const v = page[i];
        if (v === 0 || (best.length >= n && v < min)) continue;
        best.push([base + i, v]);
        if (best.length > n * 4) {
          best.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
          best.length = n;
          min = best[n - 1][1];
        }
      }
    });
    for (const [k, v] of best) cand.set(k, v);
    for (const [k, v] of topEntries(this.bigInodes.entries(), n)) cand.set(k, v);
    for (const [k, v] of this.inodeMap.entries()) cand.set(k, v.requests);
    return topEntries(cand, n);
  }
}

/** What the memory caps made approximate, in words (nothing on an ordinary log). */
export function boundsWarnings(pm: PostMortem): string[] {
  const b = pm.bounds;
  const out: string[] = [];
  const n = groupDigits;
  if (!b.pidsExact)
    out.push(
      `${n(pm.totals.distinctPids)} distinct PIDs: per-PID counts are kept for the busiest ${n(b.maxPids)} (${n(b.pidEvictions)} evictions); a listed PID's counts may be up to ${n(b.pidMaxError)} short (its missedAtMost), and any PID with more than ${n(b.pidMaxError)} requests is listed`,
    );
  if (!b.inodesExact)
    out.push(
      `nodeids above 2^22 beyond the paged counters: counts kept for the busiest (${n(b.inodeEvictions)} evictions), each at most ${n(b.inodeMaxError)} short`,
    );
  if (!b.distinctExact) out.push('distinct PID/inode counts are lower bounds (id bitmap budget reached)');
  return out;
}

/**
 * Adds table `b` (the next byte range) into `a`. A key that one side had evicted but the other still holds may be
 * short by that side's floor; the merged floor is the sum (a key evicted on both sides lost both). Over the cap
 * afterwards, the smaller half goes.
 */
function mergeCapped<V extends { requests: number; missed: number }>(
  a: CappedTable<V>,
  aSeen: IdSet,
  b: CappedTable<V>,
  bSeen: IdSet,
  add: (into: V, from: V) => void,
): void {
  if (b.floor > 0) for (const [k, v] of a.entries()) if (!b.has(k) && bSeen.has(k)) v.missed += b.floor;
  for (const [k, x] of b.entries()) {
    const y = a.get(k);
    if (y === undefined) {
      if (a.floor > 0 && aSeen.has(k)) x.missed += a.floor;
      a.put(k, x);
      continue;
    }
    add(y, x);
    y.missed += x.missed;
  }
  a.floor += b.floor;
  a.evictions += b.evictions;
  aSeen.union(bSeen);
  a.shrink();
}

/** The order of the (PID, opcode) rows: busiest first, then by PID, then by opcode. */
function byPidOpcodeRank(a: PidOpcodeRow, b: PidOpcodeRow): number {
  return b.requests - a.requests || a.pid - b.pid || a.opcode - b.opcode;
}

/** A timeline bucket as reported: its opcodes busiest first (ties: lower opcode first); `m` undefined: no requests. */
function timelineRow(m: Bucket | undefined, t: number): TimelineBucket {
  if (m === undefined)
    return {
      t,
      requests: 0,
      errors: 0,
      topOpcode: null,
      topOpcodeRequests: 0,
      topPid: null,
      topPidRequests: 0,
      opcodes: {},
    };
  const ops: number[] = [];
  const counts: number[] = [];
  for (let op = 0; op < SMALL_OPS; op++) {
    const c = m.ops[op];
    if (c > 0) {
      ops.push(op);
      counts.push(c);
    }
  }
  if (m.otherOps)
    for (const [k, v] of m.otherOps) {
      ops.push(k);
      counts.push(v);
    }
  const order = ops.map((_, i) => i);
  order.sort((a, b) => counts[b] - counts[a] || ops[a] - ops[b]);
  // a dictionary from the start: each bucket's keys come in their own order, and a plain object would grow a new
  // hidden class for each order (~25% of the cold timeline's time on the bench log)
  const opcodes: Record<string, number> = Object.create(null);
  for (const i of order) opcodes[opcodeName(ops[i])] = counts[i];
  const top = order.length > 0 ? order[0] : -1;
  return {
    t,
    requests: m.requests,
    errors: m.errors,
    topOpcode: top < 0 ? null : opcodeName(ops[top]),
    topOpcodeRequests: top < 0 ? 0 : counts[top],
    topPid: m.topPid >= 0 ? m.topPid : null,
    topPidRequests: m.topPidN,
    opcodes,
  };
}

function argmax(m: Map<number, number>): [number | null, number] {
  let best: number | null = null;
  let bestN = 0;
  for (const [k, v] of m) {
    if (v > bestN || (v === bestN && best !== null && k < best)) {
      best = k;
      bestN = v;
    }
  }
  return [best, bestN];
}

/** The `n` largest entries by value (ties: smaller key first), without sorting the whole map. */
export function topEntries(m: Iterable<[number, number]>, n: number): [number, number][] {
  const out: [number, number][] = [];
  if (n <= 0) return out;
  let min = -1;
  for (const [k, v] of m) {
    if (out.length >= n && v < min) continue;
    out.push([k, v]);
    if (out.length > n * 4) {
      out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      out.length = n;
      min = out[n - 1][1];
    }
  }
  out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  if (out.length > n) out.length = n;
  return out;
}
