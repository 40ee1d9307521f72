/**
 * Parsed virtiofsd events as compact columnar batches: what a parser thread hands to the thread that reduces.
 * A worker parses its byte range once, feeding its own post-mortem reducer and an {@link EventRecorder}; the main
 * thread replays the batches, in file order, into the reducers that need the whole log in order (the verdict
 * engine, the FUSE unique watch). No object per event, no strings except C lookup names; the typed arrays are
 * transferred between threads, not copied.
 */
import type { DaemonCode, VirtiofsdSink } from './virtiofsd.js';

export const EVENT_REQUEST = 0;
export const EVENT_REPLY = 1;
export const EVENT_ENTRY = 2;
export const EVENT_DISCONNECT = 3;
export const EVENT_EXIT = 4;

/**
 * One batch. Columns by kind:
 *
 * | kind    | a        | b        | c       | d   | e      |
 * |---------|----------|----------|---------|-----|--------|
 * | request | opcode   | nodeid   | unique  | pid | daemon |
 * | reply   | unique   | error    | len     |     |        |
 * | entry   | parent   | child    | names[] |     |        |
 *
 * `line` is relative to the start of the byte range; the consumer adds the lines before it.
 */
export interface EventBatch {
  n: number;
  kind: Uint8Array;
  ts: Float64Array;
  line: Float64Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  d: Float64Array;
  e: Uint8Array;
  names: string[];
}

/** The event columns of a batch, without its kinds and names: what a reducer reads a row of (`requestAt`). */
export type EventRows = Pick<EventBatch, 'ts' | 'line' | 'a' | 'b' | 'c' | 'd' | 'e'>;

/** A batch whose columns share one buffer (six of doubles, then the two of bytes): one buffer to transfer. */
export function newBatch(capacity: number): EventBatch {
  const buf = new ArrayBuffer(capacity * (6 * 8 + 2));
  const f64 = (k: number) => new Float64Array(buf, k * capacity * 8, capacity);
  const bytes = 6 * capacity * 8;
  return batchOf(
    new Uint8Array(buf, bytes, capacity),
    f64(0),
    f64(1),
    f64(2),
    f64(3),
    f64(4),
    f64(5),
    new Uint8Array(buf, bytes + capacity, capacity),
  );
}

/**
 * An empty batch over these columns. Every batch a recorder fills (and a worker reduces) is built here, so all
 * have one shape (hidden class): a batch that came back from another thread is a structured clone, of another
 * shape, and code optimized for one shape is thrown away when it meets the other. (The main thread replays only
 * clones: one shape there too.)
 */
function batchOf(
  kind: Uint8Array,
  ts: Float64Array,
  line: Float64Array,
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  d: Float64Array,
  e: Uint8Array,
): EventBatch {
  return { n: 0, kind, ts, line, a, b, c, d, e, names: [] };
}

/** The buffers of a batch, for a transfer list: one for a batch from newBatch (each listed once: a buffer listed
 * twice cannot be transferred). */
export function batchBuffers(b: EventBatch): ArrayBuffer[] {
  const cols = [b.kind, b.ts, b.line, b.a, b.b, b.c, b.d, b.e];
  const one = b.ts.buffer as ArrayBuffer;
  if (cols.every((x) => x.buffer === one)) return [one];
  return [...new Set(cols.map((x) => x.buffer as ArrayBuffer))];
}

/**
 * Requests and replies as the parser's fast lane writes them (fast-lane.ts): kind 0 request (a opcode, b nodeid,
 * c unique, d pid) or 1 reply (a unique, b error, c len; d -1), as in a batch, line numbers absolute: the columns
 * of a batch, so a batch takes them whole.
 */
export interface EventColumns {
  kind: Uint8Array;
  line: Float64Array;
  ts: Float64Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  d: Float64Array;
}

/** Batches a recorder keeps for reuse. */
const MAX_POOLED = 8;

/** A sink that records every event into batches of `capacity` and hands each full batch to `emit`. */
export class EventRecorder implements VirtiofsdSink {
  private cur: EventBatch;
  /** Batches the consumer handed back (their buffers transferred home): reused instead of allocating. */
  private readonly pool: EventBatch[] = [];
  constructor(
    private readonly emit: (batch: EventBatch) => void,
    private readonly capacity = 8192,
  ) {
    this.cur = newBatch(capacity);
  }

  /** A replayed batch coming back for reuse (keeps the memory in flight bounded and the garbage away). */
  recycle(b: EventBatch): void {
    // at most MAX_POOLED kept: more were in flight only while the consumer started (see range-worker.ts)
    if (b.kind.length !== this.capacity || this.pool.length >= MAX_POOLED) return;
    this.pool.push(batchOf(b.kind, b.ts, b.line, b.a, b.b, b.c, b.d, b.e));
  }

  private fresh(): EventBatch {
    return this.pool.pop() ?? newBatch(this.capacity);
  }

  private slot(kind: number, ts: number, line: number): number {
    let b = this.cur;
    if (b.n === this.capacity) {
      this.emit(b);
      b = this.cur = this.fresh();
    }
    const i = b.n++;
    b.kind[i] = kind;
    b.ts[i] = ts;
    b.line[i] = line;
    return i;
  }

  request(ts: number, line: number, op: number, node: number, u: number, pid: number, d: DaemonCode): void {
    const i = this.slot(EVENT_REQUEST, ts, line);
    const b = this.cur;
    b.a[i] = op;
    b.b[i] = node;
    b.c[i] = u;
    b.d[i] = pid;
    b.e[i] = d;
  }

  reply(ts: number, line: number, unique: number, error: number, len: number): void {
    const i = this.slot(EVENT_REPLY, ts, line);
    const b = this.cur;
    b.a[i] = unique;
    b.b[i] = error;
    b.c[i] = len;
    b.d[i] = -1;
    b.e[i] = 0;
  }

  entry(ts: number, line: number, parent: number, name: string, child: number): void {
    const i = this.slot(EVENT_ENTRY, ts, line);
    const b = this.cur;
    b.a[i] = parent;
    b.b[i] = child;
    b.c[i] = b.names.length;
    b.names.push(name);
  }

  lifecycle(ts: number, line: number, what: 'disconnect' | 'exit'): void {
    this.slot(what === 'disconnect' ? EVENT_DISCONNECT : EVENT_EXIT, ts, line);
  }

  /** Append the first `n` events of `cols`, a column at a time. */
  appendColumns(cols: EventColumns, n: number): void {
    const { kind, line, ts, a, b, c, d } = cols;
    const cap = this.capacity;
    let i = 0;
    while (i < n) {
      let t = this.cur;
      if (t.n === cap) {
        this.emit(t);
        t = this.cur = this.fresh();
      }
      const k = Math.min(n - i, cap - t.n);
      const o = t.n;
      const end = i + k;
      t.kind.set(kind.subarray(i, end), o);
      t.ts.set(ts.subarray(i, end), o);
      t.a.set(a.subarray(i, end), o);
      t.b.set(b.subarray(i, end), o);
      t.c.set(c.subarray(i, end), o);
      t.line.set(line.subarray(i, end), o);
      t.d.set(d.subarray(i, end), o);
      t.e.fill(0, o, o + k); // Daemon.rust
      t.n += k;
      i = end;
    }
  }

  /** Hands over the last, partly filled batch (if any). */
  flush(): void {
    if (this.cur.n > 0) {
      this.emit(this.cur);
      this.cur = this.fresh();
    }
  }
}

/**
 * Feeds a batch to `sink` in order, adding `lineOffset` to every line number. A reply the sender's post-mortem
 * matched by unique (`e` = 1 + the request's opcode, capped at 254; `d` = its PID: see reduceBatch) is
 * followed by `sink.paired`.
 */
export function replayBatch(batch: EventBatch, sink: VirtiofsdSink, lineOffset: number): void {
  const { kind, ts, line, a, b, c, d, e, names } = batch;
  // a sink that reads the rows itself (the verdict engine) gets no time as a call argument (a heap number each)
  const rows = lineOffset === 0 && isRowSink(sink) ? sink : null;
  for (let i = 0; i < batch.n; i++) {
    const k = kind[i];
    const l = line[i] + lineOffset;
    if (k === EVENT_REQUEST) {
      if (rows !== null) rows.requestAt(batch, i);
      else sink.request(ts[i], l, a[i], b[i], c[i], d[i], e[i] as DaemonCode);
    } else if (k === EVENT_REPLY) {
      if (rows !== null) rows.replyAt(batch, i);
      else sink.reply(ts[i], l, a[i], b[i], c[i]);
      if (e[i] !== 0) sink.paired?.(d[i], e[i] - 1, b[i]);
    } else if (k === EVENT_ENTRY) sink.entry(ts[i], l, a[i], names[c[i]], b[i]);
    else sink.lifecycle?.(ts[i], l, k === EVENT_DISCONNECT ? 'disconnect' : 'exit');
  }
}

/**
 * A sink that also reads requests and replies straight from a batch's rows (the post-mortem reducer, the verdict
 * engine): `requestAt(rows, i)` is `request` with row i's columns, `replyAt` is `reply`'s.
 */
export interface RowSink extends VirtiofsdSink {
  requestAt(rows: EventRows, i: number): void;
  replyAt(rows: EventRows, i: number): void;
}

function isRowSink(sink: VirtiofsdSink): sink is RowSink {
  const s = sink as Partial<RowSink>;
  return typeof s.requestAt === 'function' && typeof s.replyAt === 'function';
}

/** The row sink that pairs: it says which request each reply matched. */
export interface RowReducer extends RowSink {
  /** The request the last reply matched by unique: its opcode (−1 none) and PID. */
  readonly pairedOpcode: number;
  readonly pairedPid: number;
}

/**
 * Feeds a batch to the post-mortem `reducer` (the one pairing step) and writes, on each reply row, the request it
 * matched by unique — `e` = 1 + opcode (capped at 254), `d` = PID; `e` = 0 when none — for the consumer of the
 * batch (replayBatch calls `paired`).
 */
export function reduceBatch(batch: EventBatch, reducer: RowReducer): void {
  const { kind, ts, line, a, b, c, d, e, names } = batch;
  for (let i = 0; i < batch.n; i++) {
    const k = kind[i];
    if (k === EVENT_REQUEST) reducer.requestAt(batch, i);
    else if (k === EVENT_REPLY) {
      reducer.replyAt(batch, i);
      const op = reducer.pairedOpcode;
      if (op >= 0) {
        e[i] = Math.min(op, 254) + 1;
        d[i] = reducer.pairedPid;
      } else e[i] = 0;
    } else if (k === EVENT_ENTRY) reducer.entry(ts[i], line[i], a[i], names[c[i]], b[i]);
    else reducer.lifecycle?.(ts[i], line[i], k === EVENT_DISCONNECT ? 'disconnect' : 'exit');
  }
}
