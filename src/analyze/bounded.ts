/**
 * Bounded-memory building blocks for the reducers: an exact set of seen ids (a bitmap, since PIDs stay below
 * Linux's pid_max of 2^22 and nodeids are allocated densely), and a counter table that is exact up to a cap and
 * a heavy-hitters summary beyond it. A log with a million PIDs (a build forking all night) or five million inodes
 * then costs megabytes, not gigabytes, and says which counts became approximate and by how much at most.
 */

/** Ids below this live in one growable bitmap; larger ones in 64 Ki-id pages. */
const DENSE_IDS = 1 << 22;
const PAGE_BITS = 16;
const PAGE_WORDS = (1 << PAGE_BITS) / 32;

/**
 * The set of ids seen so far. Exact for ids below 2^22 and for up to `maxPages` 64 Ki-id pages above it
 * (8 KiB each); an id in a page beyond that budget is not recorded, and `exact` turns false.
 */
export class IdSet {
  private dense = new Uint32Array(1024);
  private readonly pages = new Map<number, Uint32Array>();
  private count = 0;
  /** Ids that fell in a page beyond the budget (not recorded; `size` is then a lower bound). */
  dropped = 0;

  constructor(private readonly maxPages = 4096) {}

  get size(): number {
    return this.count;
  }
  get exact(): boolean {
    return this.dropped === 0;
  }

  /** Records `id` (a non-negative integer); true when it was not seen before. */
  add(id: number): boolean {
    let words: Uint32Array;
    let bit: number;
    if (id < DENSE_IDS) {
      const w = id >>> 5;
      if (w >= this.dense.length) this.growDense(w);
      words = this.dense;
      bit = id;
    } else {
      const key = Math.floor(id / (1 << PAGE_BITS));
      let page = this.pages.get(key);
      if (page === undefined) {
        if (this.pages.size >= this.maxPages) {
          this.dropped++;
          return false;
        }
        page = new Uint32Array(PAGE_WORDS);
        this.pages.set(key, page);
      }
      words = page;
      bit = id - key * (1 << PAGE_BITS);
    }
    const w = bit >>> 5;
    const m = 1 << (bit & 31);
    if ((words[w] & m) !== 0) return false;
    words[w] |= m;
    this.count++;
    return true;
  }

  has(id: number): boolean {
    if (id < DENSE_IDS) {
      const w = id >>> 5;
      return w < this.dense.length && (this.dense[w] & (1 << (id & 31))) !== 0;
    }
    const key = Math.floor(id / (1 << PAGE_BITS));
    const page = this.pages.get(key);
    if (page === undefined) return false;
    const bit = id - key * (1 << PAGE_BITS);
    return (page[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  /** Adds every id of `other` (the merge of two byte ranges). */
  union(other: IdSet): void {
    if (other.dense.length > this.dense.length) this.growDense(other.dense.length - 1);
    const d = this.dense;
    const od = other.dense;
    for (let w = 0; w < od.length; w++) {
      const add = od[w] & ~d[w];
      if (add !== 0) {
        d[w] |= add;
        this.count += popcount(add);
      }
    }
    for (const [key, op] of other.pages) {
      let page = this.pages.get(key);
      if (page === undefined) {
        if (this.pages.size >= this.maxPages) {
          for (let w = 0; w < op.length; w++) this.dropped += popcount(op[w]);
          continue;
        }
        page = new Uint32Array(PAGE_WORDS);
        this.pages.set(key, page);
      }
      for (let w = 0; w < op.length; w++) {
        const add = op[w] & ~page[w];
        if (add !== 0) {
          page[w] |= add;
          this.count += popcount(add);
        }
      }
    }
    this.dropped += other.dropped;
  }

  private growDense(word: number): void {
    let n = this.dense.length;
    while (n <= word) n *= 2;
    const next = new Uint32Array(Math.min(n, DENSE_IDS / 32));
    next.set(this.dense);
    this.dense = next;
  }
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * The value kept per key must expose its count, and the error bound a table adds to it: `missed` is at most
 * how many of the key's events were counted by an entry that was evicted before (0 = the count is exact).
 */
export interface Counted {
  requests: number;
  missed: number;
}

/**
 * A table of per-key aggregates that is exact while it holds at most `cap` keys. When a new key would exceed the
 * cap, the half of the table with the smallest counts is evicted; `floor` keeps the largest count (plus its own
 * error) any evicted entry had. A key that comes back after that starts over with `missed = floor`, so every
 * count is a lower bound and `count + missed` an upper bound (a Space-Saving style guarantee: any key with more
 * than `floor` events is still in the table). Whether a key is new or returning is known exactly from `seen`.
 *
 * Storage is fixed at construction: an open-addressing index in typed arrays over a dense array of values, which
 * evicted values are recycled from. A JavaScript Map here would reallocate its backing store on every grow and
 * shrink — hundreds of megabytes of garbage for a million short-lived PIDs.
 */
export class CappedTable<V extends Counted> {
  /** Largest `requests + missed` of any evicted entry. */
  floor = 0;
  /** Entries evicted so far. */
  evictions = 0;
  private n = 0;
  private readonly keys: Float64Array;
  private vals: V[] = [];
  /** Hash slots: 1 + index into keys/vals, 0 = empty. */
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Evicted values, for the owner to reuse instead of allocating (`recycled()`). */
  private free: V[] = [];

  constructor(
    readonly cap: number,
    private readonly seen: IdSet,
  ) {
    this.keys = new Float64Array(cap);
    let h = 16;
    while (h < cap * 2) h *= 2;
    this.index = new Int32Array(h);
    this.mask = h - 1;
  }

  get size(): number {
    return this.n;
  }

  get(key: number): V | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.vals[i];
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  /** Inserts `value` for a key not in the table, evicting first when full. */
  insert(key: number, value: V): V {
    if (this.n >= this.cap) this.sweep();
    if (!this.seen.add(key)) value.missed = this.floor;
    this.place(key, value);
    return value;
  }

  /** Adds a key not in the table, beyond the cap if need be (a merge; `shrink()` afterwards). */
  put(key: number, value: V): void {
    if (this.n >= this.keys.length) this.sweep();
    this.place(key, value);
  }

  /** Sweeps until the table is within its cap. */
  shrink(): void {
    while (this.n > this.cap) this.sweep();
  }

  *entries(): Generator<[number, V]> {
    for (let i = 0; i < this.n; i++) yield [this.keys[i], this.vals[i]];
  }

  /** Forgets the recycled values (before the table is sent to another thread). */
  dropRecycled(): void {
    this.free = [];
  }

  /** An evicted value to reset and reuse, if any. */
  recycled(): V | undefined {
    return this.free.pop();
  }

  /** Whether every count in the table is exact. */
  get exact(): boolean {
    return this.evictions === 0;
  }

  /** Evicts the smaller half by count (ties: every entry at the threshold goes, so the sweep always frees room). */
  sweep(): void {
    const n = this.n;
    if (n === 0) return;
    const counts = new Float64Array(n);
    for (let i = 0; i < n; i++) counts[i] = this.vals[i].requests;
    counts.sort();
    const threshold = counts[Math.max(0, Math.floor(n / 2) - 1)];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = this.vals[i];
      if (v.requests <= threshold) {
        const bound = v.requests + v.missed;
        if (bound > this.floor) this.floor = bound;
        this.evictions++;
        if (this.free.length < this.cap) this.free.push(v);
      } else {
        this.keys[k] = this.keys[i];
        this.vals[k++] = v;
      }
    }
    this.n = k;
    this.vals.length = k;
    this.index.fill(0);
    for (let i = 0; i < k; i++) this.link(this.keys[i], i);
  }

  private place(key: number, value: V): void {
    const i = this.n++;
    this.keys[i] = key;
    this.vals[i] = value;
    this.link(key, i);
  }

  private link(key: number, i: number): void {
    let h = hash(key) & this.mask;
    while (this.index[h] !== 0) h = (h + 1) & this.mask;
    this.index[h] = i + 1;
  }

  private find(key: number): number {
    let h = hash(key) & this.mask;
    for (;;) {
      const e = this.index[h];
      if (e === 0) return -1;
      if (this.keys[e - 1] === key) return e - 1;
      h = (h + 1) & this.mask;
    }
  }
}

function hash(key: number): number {
  return Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1) >>> 7;
}

/**
 * Counters for ids at or above 2^22 (Rust nodeids on a long run): 64 Ki-counter pages allocated on demand, up to
 * `maxPages` (256 KiB each); ids in further pages return false from `add` and the caller counts them elsewhere.
 * Rust allocates nodeids one after another, so a few pages hold millions of them with no per-id object.
 */
export class PagedCounts {
  readonly pages = new Map<number, Uint32Array>();
  constructor(private readonly maxPages = 64) {}

  /** Adds `n` to id's counter; the previous count, or -1 when the id's page is beyond the budget. */
  add(id: number, n = 1): number {
    const key = Math.floor(id / (1 << PAGE_BITS));
    let page = this.pages.get(key);
    if (page === undefined) {
      if (this.pages.size >= this.maxPages) return -1;
      page = new Uint32Array(1 << PAGE_BITS);
      this.pages.set(key, page);
    }
    const i = id - key * (1 << PAGE_BITS);
    const prev = page[i];
    page[i] = prev + n;
    return prev;
  }

  get(id: number): number {
    const key = Math.floor(id / (1 << PAGE_BITS));
    const page = this.pages.get(key);
    return page === undefined ? -1 : page[id - key * (1 << PAGE_BITS)];
  }

  /** Every non-zero counter as [id, count]. */
  *entries(): Generator<[number, number]> {
    for (const [key, page] of this.pages) {
      const base = key * (1 << PAGE_BITS);
      for (let i = 0; i < page.length; i++) if (page[i] !== 0) yield [base + i, page[i]];
    }
  }
}

/**
 * A Map from integer keys to values for tables with steady churn (trackers evicted and replaced all the time):
 * open addressing with backward-shift deletion in typed arrays that only ever grow, so a delete + set costs no
 * allocation (a JavaScript Map rebuilds its backing store every few hundred deletions).
 */
export class IntMap<V> {
  private keys = new Float64Array(16);
  private vals: (V | undefined)[] = new Array(16);
  private used = new Uint8Array(16);
  private mask = 15;
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(key: number): V | undefined {
    let h = hash(key) & this.mask;
    while (this.used[h] !== 0) {
      if (this.keys[h] === key) return this.vals[h];
      h = (h + 1) & this.mask;
    }
    return undefined;
  }

  set(key: number, value: V): void {
    if ((this.n + 1) * 2 > this.keys.length) this.grow();
    let h = hash(key) & this.mask;
    while (this.used[h] !== 0) {
      if (this.keys[h] === key) {
        this.vals[h] = value;
        return;
      }
      h = (h + 1) & this.mask;
    }
    this.used[h] = 1;
    this.keys[h] = key;
    this.vals[h] = value;
    this.n++;
  }

  delete(key: number): boolean {
    let h = hash(key) & this.mask;
    while (this.used[h] !== 0) {
      if (this.keys[h] === key) {
        this.removeAt(h);
        return true;
      }
      h = (h + 1) & this.mask;
    }
    return false;
  }

  *values(): Generator<V> {
    for (let h = 0; h < this.used.length; h++) if (this.used[h] !== 0) yield this.vals[h] as V;
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones accumulate. */
  private removeAt(slot: number): void {
    const m = this.mask;
    let hole = slot;
    let h = (slot + 1) & m;
    while (this.used[h] !== 0) {
      const home = hash(this.keys[h]) & m;
      // Move the entry at h into the hole if its home is not cyclically within (hole, h].
      if ((h > hole && (home <= hole || home > h)) || (h < hole && home <= hole && home > h)) {
        this.keys[hole] = this.keys[h];
        this.vals[hole] = this.vals[h];
        hole = h;
      }
      h = (h + 1) & m;
    }
    this.used[hole] = 0;
    this.vals[hole] = undefined;
    this.n--;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldUsed = this.used;
    const size = oldKeys.length * 2;
    this.keys = new Float64Array(size);
    this.vals = new Array(size);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
    this.n = 0;
    for (let h = 0; h < oldUsed.length; h++) if (oldUsed[h] !== 0) this.set(oldKeys[h], oldVals[h] as V);
  }
}
