/**
 * Outstanding FUSE requests keyed by `unique`, without an object or a hash per request: a table indexed by
 * `unique & this.mask` (uniques are nearly sequential, so live ones rarely collide) with parallel typed arrays, and a
 * small Map for the rare collision. Used by the post-mortem reducer and the verdict engine.
 *
 * At most `maxPending` requests are kept: beyond that the oldest outstanding one is dropped (counted in
 * `evicted`). Arrival order lives in a ring of uniques; answered entries are skipped lazily, and when the ring fills
 * up it is compacted (or grown), so only a request that is really among the oldest `size - maxPending` is evicted.
 */

import type { OutstandingRequest } from '../parse/virtiofsd.js';

export interface PendingRequest extends OutstandingRequest {
  /** A caller's number stored with the request (the reducer keeps its recent-activity slot here). */
  tag: number;
}

/** Slots in the table: at most 2^16, and no more than `maxPending` needs (a small table, e.g. a warm-up's, is cheap). */
const MAX_TABLE = 1 << 16;
const MIN_TABLE = 1 << 10;

export class PendingTable {
  /** `unique & mask` is a request's slot. */
  private readonly mask: number;
  private readonly key: Float64Array;
  private readonly op: Int32Array;
  private readonly pid: Int32Array;
  private readonly node: Float64Array;
  private readonly ts: Float64Array;
  private readonly line: Float64Array;
  private readonly tags: Int32Array;
  private readonly overflow = new Map<number, PendingRequest>();
  private count = 0;
  private order: Float64Array = new Float64Array(1024);
  private orderHead = 0;
  private orderLen = 0;
  /** Requests dropped because more than `maxPending` were outstanding (oldest first). */
  evicted = 0;
  /** Fields of the request removed by the last successful `take`. */
  takenOpcode = 0;
  takenPid = 0;
  takenLine = 0;
  takenTag = 0;

  constructor(private readonly maxPending = 65_536) {
    let n = MIN_TABLE;
    while (n < MAX_TABLE && n < maxPending) n *= 2;
    this.mask = n - 1;
    this.key = new Float64Array(n).fill(-1);
    this.op = new Int32Array(n);
    this.pid = new Int32Array(n);
    this.node = new Float64Array(n);
    this.ts = new Float64Array(n);
    this.line = new Float64Array(n);
    this.tags = new Int32Array(n);
  }

  get size(): number {
    return this.count + this.overflow.size;
  }

  has(unique: number): boolean {
    // an empty slot holds −1: a negative unique (none) is never outstanding here
    return (unique >= 0 && this.key[unique & this.mask] === unique) || this.overflow.has(unique);
  }

  /** Record a request; a request with the same unique still outstanding is replaced (returns true then). */
  set(
    unique: number,
    opcode: number,
    nodeid: number,
    pid: number,
    ts: number,
    line: number,
    tag = 0,
  ): boolean {
    const i = unique & this.mask;
    const k = this.key[i];
    let replaced: boolean;
    if (k >= 0 && k !== unique) {
      replaced = this.overflow.delete(unique);
      this.overflow.set(unique, { unique, opcode, nodeid, pid, ts, line, tag });
    } else {
      // the same unique may wait in the overflow map (its slot was taken when it came): it moves here
      replaced = k === unique || (this.overflow.size > 0 && this.overflow.delete(unique));
      if (k !== unique) this.count++;
      this.key[i] = unique;
      this.op[i] = opcode;
      this.pid[i] = pid;
      this.node[i] = nodeid;
      this.ts[i] = ts;
      this.line[i] = line;
      this.tags[i] = tag;
    }
    if (!replaced) this.remember(unique);
    return replaced;
  }

  /** Remove the request with this unique; false if none. Its fields are left in the `taken*` properties. */
  take(unique: number): boolean {
    const i = unique & this.mask;
    if (this.key[i] === unique && unique >= 0) {
      this.key[i] = -1;
      this.count--;
      this.takenOpcode = this.op[i];
      this.takenPid = this.pid[i];
      this.takenLine = this.line[i];
      this.takenTag = this.tags[i];
      return true;
    }
    const p = this.overflow.get(unique);
    if (p === undefined) return false;
    this.overflow.delete(unique);
    this.takenOpcode = p.opcode;
    this.takenPid = p.pid;
    this.takenLine = p.line;
    this.takenTag = p.tag;
    return true;
  }

  clear(): void {
    if (this.count > 0) this.key.fill(-1);
    this.count = 0;
    this.overflow.clear();
    this.orderHead = 0;
    this.orderLen = 0;
  }

  /** Every outstanding request, oldest line first (allocates: for snapshots, not the hot path). */
  values(): PendingRequest[] {
    const out: PendingRequest[] = [];
    this.forEachLive((u, i) => {
      if (i >= 0) {
        out.push({
          unique: u,
          opcode: this.op[i],
          nodeid: this.node[i],
          pid: this.pid[i],
          ts: this.ts[i],
          line: this.line[i],
          tag: this.tags[i],
        });
      } else {
        const p = this.overflow.get(u);
        if (p !== undefined) out.push({ ...p });
      }
    });
    return out.sort((a, b) => a.line - b.line);
  }

  /** Rewrite every stored line number and tag (used when merging ranges of one file). */
  remap(line: (l: number) => number, tag: (t: number) => number): void {
    this.forEachLive((u, i) => {
      if (i >= 0) {
        this.line[i] = line(this.line[i]);
        this.tags[i] = tag(this.tags[i]);
      } else {
        const p = this.overflow.get(u);
        if (p !== undefined) {
          p.line = line(p.line);
          p.tag = tag(p.tag);
        }
      }
    });
  }

  /**
   * Each outstanding unique once, with its slot in the table (−1: in the overflow map). The arrival ring holds
   * every outstanding unique (and answered ones, skipped here; a unique asked again after its answer can be in it
   * twice), so this walks the ring, not the 65 536 slots.
   */
  private forEachLive(fn: (unique: number, slot: number) => void): void {
    const o = this.order;
    const seen = new Set<number>();
    for (let k = 0; k < this.orderLen; k++) {
      const u = o[(this.orderHead + k) % o.length];
      const i = u & this.mask;
      const slot = this.key[i] === u ? i : this.overflow.has(u) ? -1 : -2;
      if (slot === -2 || seen.has(u)) continue;
      seen.add(u);
      fn(u, slot);
    }
  }

  private remember(unique: number): void {
    if (this.orderLen === this.order.length) this.compactOrder();
    const o = this.order;
    // the ring's length is a power of two (see compactOrder)
    o[(this.orderHead + this.orderLen) & (o.length - 1)] = unique;
    this.orderLen++;
    while (this.size > this.maxPending && this.orderLen > 0) {
      const u = this.order[this.orderHead];
      this.orderHead = (this.orderHead + 1) & (this.order.length - 1);
      this.orderLen--;
      if (this.take(u)) this.evicted++;
    }
  }

  /** Drop answered uniques from the arrival ring, in place; grow it when more than half is still outstanding. */
  private compactOrder(): void {
    const o = this.order;
    const n = o.length;
    // n is a power of two (1024, doubled): a mask, not a floating-point modulo
    const wrap = n - 1;
    const head = this.orderHead;
    const key = this.key;
    const mask = this.mask;
    // the overflow map is empty but for colliding uniques (rare): not asked about every answered one
    const overflow = this.overflow.size > 0 ? this.overflow : null;
    let w = 0;
    for (let r = 0; r < this.orderLen; r++) {
      const u = o[(head + r) & wrap];
      if (key[u & mask] === u || overflow?.has(u)) o[(head + w++) & wrap] = u;
    }
    this.orderLen = w;
    if (w * 2 > n) {
      const fresh = new Float64Array(n * 2);
      for (let k = 0; k < w; k++) fresh[k] = o[(head + k) % n];
      this.order = fresh;
      this.orderHead = 0;
    }
  }
}
