/**
 * Outstanding FUSE requests keyed by `unique`, without an object or a hash per request: a table indexed by
 * `unique & MASK` (uniques are nearly sequential, so live ones rarely collide) with parallel typed arrays, and a
 * small Map for the rare collision. A ring of uniques in arrival order bounds the total to `maxPending`: beyond it
 * the oldest outstanding requests are dropped (counted in `evicted`).
 */

export interface PendingRequest {
  unique: number;
  opcode: number;
  nodeid: number;
  pid: number;
  ts: number;
  line: number;
}

const TABLE = 1 << 16;
const MASK = TABLE - 1;

export class PendingTable {
  private readonly key = new Float64Array(TABLE).fill(-1);
  private readonly op = new Int32Array(TABLE);
  private readonly pid = new Int32Array(TABLE);
  private readonly node = new Float64Array(TABLE);
  private readonly ts = new Float64Array(TABLE);
  private readonly line = new Float64Array(TABLE);
  private readonly overflow = new Map<number, PendingRequest>();
  private count = 0;
  /** Arrival order of uniques (answered ones are skipped lazily when evicting). */
  private readonly order: Float64Array;
  private orderHead = 0;
  private orderLen = 0;
  /** Requests dropped because more than `maxPending` were outstanding (oldest first). */
  evicted = 0;
  /** Fields of the request removed by the last successful `take`. */
  takenOpcode = 0;
  takenPid = 0;

  constructor(private readonly maxPending = 65_536) {
    this.order = new Float64Array(Math.max(16, maxPending * 2));
  }

  get size(): number {
    return this.count + this.overflow.size;
  }

  /** Record a request; a request with the same unique still outstanding is replaced (returns true then). */
  set(unique: number, opcode: number, nodeid: number, pid: number, ts: number, line: number): boolean {
    const i = unique & MASK;
    const k = this.key[i];
    let replaced: boolean;
    if (k >= 0 && k !== unique) {
      replaced = this.overflow.delete(unique);
      this.overflow.set(unique, { unique, opcode, nodeid, pid, ts, line });
    } else {
      replaced = k === unique;
      if (!replaced) this.count++;
      this.key[i] = unique;
      this.op[i] = opcode;
      this.pid[i] = pid;
      this.node[i] = nodeid;
      this.ts[i] = ts;
      this.line[i] = line;
    }
    this.remember(unique);
    return replaced;
  }

  private remember(unique: number): void {
    const o = this.order;
    if (this.orderLen === o.length) this.dropOldest();
    o[(this.orderHead + this.orderLen) % o.length] = unique;
    this.orderLen++;
    while (this.size > this.maxPending && this.orderLen > 0) this.dropOldest();
  }

  /** Forget the oldest remembered arrival; if that request is still outstanding, evict it. */
  private dropOldest(): void {
    const u = this.order[this.orderHead];
    this.orderHead = (this.orderHead + 1) % this.order.length;
    this.orderLen--;
    if (this.take(u)) this.evicted++;
  }

  /** Remove the request with this unique; false if none. Its opcode and pid are left in takenOpcode/takenPid. */
  take(unique: number): boolean {
    const i = unique & MASK;
    if (this.key[i] === unique) {
      this.key[i] = -1;
      this.count--;
      this.takenOpcode = this.op[i];
      this.takenPid = this.pid[i];
      return true;
    }
    const p = this.overflow.get(unique);
    if (p === undefined) return false;
    this.overflow.delete(unique);
    this.takenOpcode = p.opcode;
    this.takenPid = p.pid;
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
    if (this.count > 0) {
      for (let i = 0; i < TABLE; i++) {
        const k = this.key[i];
        if (k < 0) continue;
        out.push({
          unique: k,
          opcode: this.op[i],
          nodeid: this.node[i],
          pid: this.pid[i],
          ts: this.ts[i],
          line: this.line[i],
        });
      }
    }
    for (const p of this.overflow.values()) out.push(p);
    return out.sort((a, b) => a.line - b.line);
  }
}
