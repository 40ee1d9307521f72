/**
 * The post-mortem reducer: fed virtiofsd events in file order, keeps everything the incident tables need in
 * memory bounded by the number of distinct PIDs, inodes, seconds and outstanding requests — never by the
 * number of lines. Pairs replies with requests by `unique` (never by adjacency), resets pairing at INIT.
 */
import { errnoName, OP, opcodeName } from '../parse/opcodes.js';
import { Daemon, type DaemonCode, type VirtiofsdSink } from '../parse/virtiofsd.js';

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
}
export interface InodeRow {
  nodeid: number;
  requests: number;
  share: number;
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
  recent: RequestRow[];
  orphanReplyLines: number[];
  paths: { known: boolean; distinct: number };
}

const SMALL_OPS = 64;
const RESULT_PENDING = 1;
const RESULT_NOREPLY = 2;
const RESULT_OK = 0;

class PidAgg {
  requests = 0;
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
  ops: Map<number, number>;
  pids: Map<number, number>;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export class PostMortemReducer implements VirtiofsdSink {
  private readonly opt: Required<PostMortemOptions>;
  // Outstanding requests, in slots of parallel typed arrays (no object per request).
  private cap = 1024;
  private sOp = new Int32Array(this.cap);
  private sPid = new Int32Array(this.cap);
  private sNode = new Float64Array(this.cap);
  private sTs = new Float64Array(this.cap);
  private sLine = new Float64Array(this.cap);
  private sUnique = new Float64Array(this.cap);
  private sRing = new Int32Array(this.cap);
  private free: number[] = [];
  private nextSlot = 0;
  private readonly pending = new Map<number, number>();
  /** Requests without a unique (Rust 1.0/1.1, unknown opcodes): matched to replies whose unique is unknown. */
  private readonly noUnique: number[] = [];
  private noUniqueHead = 0;
  /** C: successful READs get no reply line; remember recent ones so an error reply still finds its opcode. */
  private readonly cReads = new Map<number, number>();

  private readonly opReq = new Float64Array(SMALL_OPS);
  private readonly opOk = new Float64Array(SMALL_OPS);
  private readonly opErr = new Float64Array(SMALL_OPS);
  private readonly opNoReply = new Float64Array(SMALL_OPS);
  private readonly opOther = new Map<number, { req: number; ok: number; err: number; noReply: number }>();
  private readonly pids = new Map<number, PidAgg>();
  private readonly inodes = new Map<number, number>();
  private readonly errnos = new Map<number, number>();
  private readonly opErrnos = new Map<number, number>();

  private requests = 0;
  private repliesOk = 0;
  private repliesError = 0;
  private noReply = 0;
  private orphanReplies = 0;
  private readonly orphanLines: number[] = [];
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
  private entries = 0;

  constructor(opts: PostMortemOptions = {}) {
    this.opt = {
      top: opts.top ?? 15,
      recent: opts.recent ?? 20,
      unansweredListed: opts.unansweredListed ?? 50,
      maxPending: opts.maxPending ?? 200_000,
      maxBuckets: opts.maxBuckets ?? 20_000,
    };
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
    this.requests++;
    if (daemon !== Daemon.c) this.sawRust = true;
    if (ts === ts) {
      if (!(ts >= this.first)) this.first = ts;
      if (!(ts <= this.last)) this.last = ts;
    }
    if (opcode < SMALL_OPS) this.opReq[opcode]++;
    else this.otherOp(opcode).req++;

    // PID
    if (pid >= 0) {
      let agg = this.pids.get(pid);
      if (agg === undefined) {
        agg = new PidAgg();
        agg.first = ts;
        this.pids.set(pid, agg);
      }
      agg.requests++;
      agg.last = ts;
      if (opcode < SMALL_OPS) agg.ops[opcode]++;
      else {
        if (agg.otherOps === null) agg.otherOps = new Map();
        agg.otherOps.set(opcode, (agg.otherOps.get(opcode) ?? 0) + 1);
      }
    }
    // inode
    const n = this.inodes.get(nodeid);
    this.inodes.set(nodeid, n === undefined ? 1 : n + 1);
    if (this.entries > 0 || nodeid === 1) this.notePath(nodeid);

    // timeline
    if (ts === ts) {
      const sec = Math.floor(ts / 1000);
      let b = this.cur;
      if (b === null || b.t !== sec) {
        b = this.buckets.get(sec) ?? null;
        if (b === null) {
          b = { t: sec, requests: 0, errors: 0, ops: new Map(), pids: new Map() };
          this.buckets.set(sec, b);
        }
        this.cur = b;
      }
      b.requests++;
      b.ops.set(opcode, (b.ops.get(opcode) ?? 0) + 1);
      if (pid >= 0) b.pids.set(pid, (b.pids.get(pid) ?? 0) + 1);
    }

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
    if (opcode === OP.INIT) this.resetAtInit(ts);
    if (
      opcode === OP.FORGET ||
      opcode === OP.BATCH_FORGET ||
      opcode === OP.INTERRUPT ||
      (opcode === OP.DESTROY && daemon !== Daemon.c)
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
    const slot = this.alloc();
    this.sOp[slot] = opcode;
    this.sPid[slot] = pid;
    this.sNode[slot] = nodeid;
    this.sTs[slot] = ts;
    this.sLine[slot] = line;
    this.sUnique[slot] = unique;
    this.sRing[slot] = rp;
    if (unique < 0) {
      this.noUnique.push(slot);
      return;
    }
    const prev = this.pending.get(unique);
    if (prev !== undefined) {
      this.superseded++;
      this.release(prev);
    }
    this.pending.set(unique, slot);
    if (this.pending.size > this.opt.maxPending) {
      const oldest = this.pending.keys().next().value as number;
      const s = this.pending.get(oldest)!;
      this.pending.delete(oldest);
      this.release(s);
      this.evicted++;
    }
  }

  reply(ts: number, _line: number, unique: number, error: number, _len: number): void {
    if (ts === ts) {
      if (!(ts >= this.first)) this.first = ts;
      if (!(ts <= this.last)) this.last = ts;
    }
    if (error === 0) this.repliesOk++;
    else this.repliesError++;
    let slot = this.pending.get(unique);
    if (slot !== undefined) {
      this.pending.delete(unique);
    } else if (this.noUniqueHead < this.noUnique.length) {
      slot = this.noUnique[this.noUniqueHead++];
      if (this.noUniqueHead > 1024 && this.noUniqueHead * 2 > this.noUnique.length) {
        this.noUnique.splice(0, this.noUniqueHead);
        this.noUniqueHead = 0;
      }
    }
    let opcode: number;
    let pid: number;
    if (slot !== undefined) {
      opcode = this.sOp[slot];
      pid = this.sPid[slot];
      const rp = this.sRing[slot];
      if (this.rLine[rp] === this.sLine[slot]) this.rResult[rp] = error === 0 ? RESULT_OK : error;
      this.release(slot);
    } else {
      const cr = this.cReads.get(unique);
      if (cr === undefined) {
        this.orphanReplies++;
        if (this.orphanLines.length < 10) this.orphanLines.push(_line);
        if (error !== 0) this.countError(-1, -1, error, ts);
        return;
      }
      // An error reply to a C READ we counted as "no reply": move it from noReply to errors.
      this.cReads.delete(unique);
      opcode = OP.READ;
      pid = -1;
      this.noReply--;
      this.opNoReply[OP.READ]--;
      if (this.rUnique[cr - 1] === unique) this.rResult[cr - 1] = error === 0 ? RESULT_OK : error;
    }
    if (error === 0) {
      if (opcode < SMALL_OPS) this.opOk[opcode]++;
      else this.otherOp(opcode).ok++;
      if (opcode === OP.READ || opcode === OP.READDIR || opcode === OP.READDIRPLUS) this.sawReadLikeOk = true;
    } else {
      this.countError(opcode, pid, error, ts);
    }
  }

  entry(_ts: number, _line: number, parent: number, name: string, child: number): void {
    this.entries++;
    const base = parent === 1 ? '' : (this.paths.get(parent) ?? `<${parent}>`);
    this.paths.set(child, `${base}/${name}`);
  }

  private notePath(nodeid: number): void {
    const path = nodeid === 1 ? '/' : this.paths.get(nodeid);
    if (path === undefined) return;
    let m = this.inodePaths.get(nodeid);
    if (m === undefined) {
      m = new Map();
      this.inodePaths.set(nodeid, m);
    }
    if (m.size < 64 || m.has(path)) m.set(path, (m.get(path) ?? 0) + 1);
  }

  private countError(opcode: number, pid: number, error: number, ts: number): void {
    const errno = -error;
    this.errnos.set(errno, (this.errnos.get(errno) ?? 0) + 1);
    if (opcode >= 0) {
      if (opcode < SMALL_OPS) this.opErr[opcode]++;
      else this.otherOp(opcode).err++;
      const k = opcode * 65536 + (errno & 0xffff);
      this.opErrnos.set(k, (this.opErrnos.get(k) ?? 0) + 1);
    }
    if (pid >= 0) {
      const agg = this.pids.get(pid);
      if (agg !== undefined) agg.errors++;
    }
    if (ts === ts) {
      const b = this.buckets.get(Math.floor(ts / 1000));
      if (b !== undefined) b.errors++;
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

  private resetAtInit(ts: number): void {
    this.inits++;
    const lost = this.pending.size + (this.noUnique.length - this.noUniqueHead);
    if (lost > 0) {
      this.unansweredBeforeInit += lost;
      for (const slot of this.pending.values()) {
        if (this.lostAtInit.length < this.opt.unansweredListed) this.lostAtInit.push(this.slotRow(slot, ts));
        this.release(slot);
      }
      this.pending.clear();
      for (let i = this.noUniqueHead; i < this.noUnique.length; i++) this.release(this.noUnique[i]);
      this.noUnique.length = 0;
      this.noUniqueHead = 0;
    }
    this.cReads.clear();
  }

  private alloc(): number {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if (this.nextSlot === this.cap) this.grow();
    return this.nextSlot++;
  }

  private release(slot: number): void {
    this.free.push(slot);
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Float64Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    this.sOp = g(this.sOp, Int32Array);
    this.sPid = g(this.sPid, Int32Array);
    this.sNode = g(this.sNode, Float64Array);
    this.sTs = g(this.sTs, Float64Array);
    this.sLine = g(this.sLine, Float64Array);
    this.sUnique = g(this.sUnique, Float64Array);
    this.sRing = g(this.sRing, Int32Array);
    this.cap = cap;
  }

  private slotRow(slot: number, now: number): UnansweredRow {
    const ts = this.sTs[slot];
    const u = this.sUnique[slot];
    const pid = this.sPid[slot];
    return {
      line: this.sLine[slot],
      ts: finite(ts),
      unique: u >= 0 ? u : null,
      opcode: this.sOp[slot],
      name: opcodeName(this.sOp[slot]),
      nodeid: this.sNode[slot],
      pid: pid >= 0 ? pid : null,
      result: 'pending',
      ageSec: Number.isFinite(ts) && Number.isFinite(now) ? (now - ts) / 1000 : null,
    };
  }

  /** Rust ≤ 1.6 never logged a successful Read/Readdir/Readdirplus reply: without any such OK reply seen, their
   * outstanding requests are "no reply expected", not "unanswered". */
  private readLikeSilent(): boolean {
    return this.sawRust && !this.sawReadLikeOk;
  }

  private isSilentReadLike(opcode: number): boolean {
    return (opcode === OP.READ || opcode === OP.READDIR || opcode === OP.READDIRPLUS) && this.readLikeSilent();
  }

  /** The current results; cheap enough to call repeatedly while streaming. `resolutionSec` is the clock step. */
  snapshot(resolutionSec = 0): PostMortem {
    const top = this.opt.top;
    const total = this.requests;
    const share = (n: number) => (total > 0 ? n / total : 0);
    // Outstanding requests
    const outstanding: number[] = [];
    for (const slot of this.pending.values()) outstanding.push(slot);
    for (let i = this.noUniqueHead; i < this.noUnique.length; i++) outstanding.push(this.noUnique[i]);
    const unansweredByOp = new Map<number, number>();
    const silentByOp = new Map<number, number>();
    const unansweredRows: UnansweredRow[] = [];
    let unanswered = 0;
    let silent = 0;
    for (const slot of outstanding) {
      const op = this.sOp[slot];
      if (this.isSilentReadLike(op)) {
        silent++;
        silentByOp.set(op, (silentByOp.get(op) ?? 0) + 1);
        continue;
      }
      unanswered++;
      unansweredByOp.set(op, (unansweredByOp.get(op) ?? 0) + 1);
      if (unansweredRows.length < this.opt.unansweredListed) unansweredRows.push(this.slotRow(slot, this.last));
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
    for (let op = 0; op < SMALL_OPS; op++) pushOp(op, this.opReq[op], this.opOk[op], this.opErr[op], this.opNoReply[op]);
    for (const [op, o] of this.opOther) pushOp(op, o.req, o.ok, o.err, o.noReply);
    byOpcode.sort((a, b) => b.requests - a.requests || a.opcode - b.opcode);

    // By PID
    const byPid: PidRow[] = [];
    const pidOps: PidOpcodeRow[] = [];
    for (const [pid, agg] of this.pids) {
      const ops: { name: string; requests: number; opcode: number }[] = [];
      for (let op = 0; op < SMALL_OPS; op++) {
        const c = agg.ops[op];
        if (c > 0) ops.push({ name: opcodeName(op), requests: c, opcode: op });
      }
      if (agg.otherOps) for (const [op, c] of agg.otherOps) ops.push({ name: opcodeName(op), requests: c, opcode: op });
      ops.sort((a, b) => b.requests - a.requests || a.opcode - b.opcode);
      for (const o of ops) pidOps.push({ pid, opcode: o.opcode, name: o.name, requests: o.requests });
      byPid.push({
        pid,
        requests: agg.requests,
        errors: agg.errors,
        share: share(agg.requests),
        topOpcodes: ops.slice(0, 3).map((o) => ({ name: o.name, requests: o.requests })),
        first: finite(agg.first),
        last: finite(agg.last),
      });
    }
    byPid.sort((a, b) => b.requests - a.requests || a.pid - b.pid);
    pidOps.sort((a, b) => b.requests - a.requests || a.pid - b.pid || a.opcode - b.opcode);

    // By inode: top N without sorting every inode
    const topInodes = topEntries(this.inodes, top);
    const rootRequests = this.inodes.get(1) ?? 0;
    const inodeRows: InodeRow[] = topInodes.map(([nodeid, requests]) => {
      const row: InodeRow = { nodeid, requests, share: share(requests) };
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
    const durationSec = span > 0 ? span : 0;

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
      time: { first: finite(first), last: finite(last), durationSec },
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
        evictedPending: this.evicted,
        distinctPids: this.pids.size,
        distinctInodes: this.inodes.size,
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
        distinct: this.inodes.size,
        rootRequests,
        rootShare: share(rootRequests),
        top: inodeRows,
      },
      byPidOpcode: pidOps.slice(0, top),
      errors: { total: this.repliesError, byErrno, byOpcode: errByOp },
      unanswered: unansweredRows,
      recent,
      orphanReplyLines: [...this.orphanLines],
      paths: { known: this.entries > 0, distinct: this.paths.size },
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
    const merged: Bucket[] = [];
    for (let i = 0; i < n; i++) {
      merged.push({ t: lo + i * width, requests: 0, errors: 0, ops: new Map(), pids: new Map() });
    }
    for (const b of this.buckets.values()) {
      const m = merged[Math.floor((b.t - lo) / width)];
      m.requests += b.requests;
      m.errors += b.errors;
      for (const [k, v] of b.ops) m.ops.set(k, (m.ops.get(k) ?? 0) + v);
      for (const [k, v] of b.pids) m.pids.set(k, (m.pids.get(k) ?? 0) + v);
    }
    return {
      bucketSec: width,
      buckets: merged.map((m) => {
        const [topOp, topOpN] = argmax(m.ops);
        const [topPid, topPidN] = argmax(m.pids);
        const opcodes: Record<string, number> = {};
        for (const [k, v] of [...m.ops].sort((a, b) => b[1] - a[1])) opcodes[opcodeName(k)] = v;
        return {
          t: m.t * 1000,
          requests: m.requests,
          errors: m.errors,
          topOpcode: topOp === null ? null : opcodeName(topOp),
          topOpcodeRequests: topOpN,
          topPid,
          topPidRequests: topPidN,
          opcodes,
        };
      }),
    };
  }
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
export function topEntries(m: Map<number, number>, n: number): [number, number][] {
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
