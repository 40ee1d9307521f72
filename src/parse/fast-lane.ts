/**
 * The parser's fast lane: the commonest Rust virtiofsd lines (request, reply, QUEUE_EVENT) read by a small
 * WebAssembly scanner (wasm/fast-lane.c), a chunk at a time, with the same events, times and counts the
 * TypeScript parser gives them. The first line it does not take goes back to the line scanner, which hands it to
 * the TypeScript parser as before, and the lane takes over again on the next line. A lane that takes fewer than
 * half of a chunk's lines (a C daemon's log, a syslog-wrapped one) stands aside for the rest of the input.
 *
 * Nothing depends on it: with the lane or without, the analysis is the same (tested on every fixture and on
 * mutated lines); it only makes the parser faster.
 */
import type { EventColumns } from './event-batch.js';
import { embeddedModule } from './wasm/embedded.js';
import { FAST_LANE_WASM_BASE64 } from './wasm/fast-lane-module.js';

/** What the lane needs of the parser: its sink, its time, and a way to add what the lane read to its counts. */
export interface FastLaneHost {
  ts: number;
  /** Fraction digits of the last stamp resolved (-1 before the first). */
  readonly resolvedFracDigits: number;
  /** Rust 1.0/1.1 seen: replies belong to it, which the lane does not know about; the lane stops. */
  readonly legacySeen: boolean;
  /** Send on the first `n` events of `cols` (line numbers absolute). */
  emitColumns(cols: EventColumns, n: number): void;
  absorbFast(counts: FastLaneCounts, chunk: Buffer): void;
}

/** Counts of one run of the lane (indices into its state block, as in fast-lane.c). */
export interface FastLaneCounts {
  lines: number;
  requests: number;
  replies: number;
  queue: number;
  backwardSteps: number;
  stamps: number;
  fracMask: number;
  lastFracDigits: number;
  ts: number;
  pendingPos: number;
  pendingFrac: number;
  pendingFracDigits: number;
}

interface Exports {
  memory: WebAssembly.Memory;
  input(): number;
  state(): number;
  out_kind(): number;
  out_line(): number;
  out_ts(): number;
  out_a(): number;
  out_b(): number;
  out_c(): number;
  out_d(): number;
  out_capacity(): number;
  scan(base: number, pos: number, end: number): number;
}

const S_TS = 0;
const S_EVENTS = 1;
const S_LINES = 2;
const S_REQ = 3;
const S_REP = 4;
const S_QUEUE = 5;
const S_BACK = 6;
const S_STAMPS = 7;
const S_FRACMASK = 8;
const S_LASTFRAC = 9;
const S_PEND_POS = 10;
const S_PEND_FRAC = 11;
const S_PEND_FD = 12;
const S_LINE0 = 13;
const S_COUNT = 14;
/** Zeros written after the input: fast-lane.c reads at most this far past a line's end (PAD there). */
const PAD = 512;
const PAGE = 65536;

/** The compiled module, or null where WebAssembly is not available (the parser then reads every line itself). */
const wasmModule = embeddedModule(FAST_LANE_WASM_BASE64);

export class FastLane {
  /** Lines taken by the last {@link FastLane.take}. */
  lines = 0;
  /** False once the lane has stood aside for the rest of the input. */
  active = true;
  private readonly x: Exports;
  private readonly inBase: number;
  private readonly capacity: number;
  private u8!: Uint8Array;
  private st!: Float64Array;
  /** The event columns in the module's memory (views made again when it grows). */
  private cols!: EventColumns;
  private chunk: Buffer | null = null;
  /** Where the loaded chunk sits in the module's memory (the input area, or one of `readBuffers`). */
  private base = 0;
  private len = 0;
  /** The input area's size once `readBuffers` gave buffers out: the memory can no longer grow (that would detach
   * them), so a larger chunk from elsewhere is left to the parser. */
  private fixedInput = -1;
  private linesTaken = 0;
  private chunkStartLine = 0;

  static create(host: FastLaneHost): FastLane | null {
    const m = wasmModule();
    return m === null
      ? null
      : new FastLane(host, new WebAssembly.Instance(m, {}).exports as unknown as Exports);
  }

  private constructor(
    private readonly host: FastLaneHost,
    x: Exports,
  ) {
    this.x = x;
    this.inBase = x.input();
    this.capacity = x.out_capacity();
    this.views();
  }

  private views(): void {
    const buf = this.x.memory.buffer;
    const x = this.x;
    const n = this.capacity;
    this.u8 = new Uint8Array(buf);
    this.st = new Float64Array(buf, x.state(), S_COUNT);
    this.cols = {
      kind: new Uint8Array(buf, x.out_kind(), n),
      line: new Float64Array(buf, x.out_line(), n),
      ts: new Float64Array(buf, x.out_ts(), n),
      a: new Float64Array(buf, x.out_a(), n),
      b: new Float64Array(buf, x.out_b(), n),
      c: new Float64Array(buf, x.out_c(), n),
      d: new Float64Array(buf, x.out_d(), n),
    };
  }

  /**
   * A new chunk is about to be scanned from line `lineNo` on: copy it in (or, if the last chunk's lines were
   * mostly not the lane's, stand aside for good).
   */
  load(chunk: Buffer, lineNo: number): void {
    if (this.chunk !== null) {
      const lines = lineNo - this.chunkStartLine;
      if (lines >= 64 && this.linesTaken * 2 < lines) {
        this.active = false;
        this.chunk = null;
        return;
      }
    }
    this.chunkStartLine = lineNo;
    this.linesTaken = 0;
    this.chunk = chunk;
    this.len = chunk.length;
    if (chunk.buffer === this.u8.buffer) {
      // read straight into our memory (readBuffers): zeros after it, nothing copied
      this.base = chunk.byteOffset;
      this.u8.fill(0, this.base + chunk.length, this.base + chunk.length + PAD);
      return;
    }
    this.base = this.inBase;
    const need = this.inBase + chunk.length + PAD;
    const mem = this.x.memory;
    if (this.fixedInput >= 0 && chunk.length + PAD > this.fixedInput) {
      // larger than the input area, which ends where the read buffers begin and cannot grow now (growing would
      // detach them): the parser reads this chunk
      this.chunk = null;
      return;
    }
    if (mem.buffer.byteLength < need) {
      mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
      this.views();
    }
    this.u8.set(chunk, this.inBase);
    this.u8.fill(0, this.inBase + chunk.length, need);
  }

  /**
   * `count` buffers of `size` bytes in the module's own memory, for a reader to read the input into: a chunk read
   * there is scanned where it lies instead of being copied in. Each has room for the zeros the scanner needs
   * after it. The memory grows once, here, and never again (growing would detach the buffers); the input area
   * keeps the room it has for chunks from elsewhere. Null when buffers were given out before.
   */
  readBuffers(count: number, size: number): Buffer[] | null {
    // once only: growing the memory again would detach the buffers already given out
    if (this.fixedInput >= 0) return null;
    const mem = this.x.memory;
    const slot = Math.ceil((size + PAD) / PAGE) * PAGE;
    const inputArea = Math.max(mem.buffer.byteLength, this.inBase + size + PAD);
    const first = Math.ceil(inputArea / PAGE) * PAGE;
    const need = first + count * slot;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
    this.views();
    this.fixedInput = first - this.inBase;
    const out: Buffer[] = [];
    for (let k = 0; k < count; k++) out.push(Buffer.from(this.u8.buffer, first + k * slot, size));
    return out;
  }

  /**
   * Take whole lines of the loaded chunk from `pos` (a line start; the line before it is number `lineNo`), their
   * events sent on, the parser's counts brought up to date. Returns where it stopped (a line it leaves to the
   * parser, a partial last line, or the chunk's end); {@link FastLane.lines} says how many lines it took.
   */
  take(pos: number, lineNo: number): number {
    const host = this.host;
    const chunk = this.chunk;
    this.lines = 0;
    if (chunk === null || host.legacySeen) return pos;
    const st = this.st;
    const cap = this.capacity;
    let total = 0;
    for (;;) {
      st[S_TS] = host.ts;
      st[S_LASTFRAC] = host.resolvedFracDigits;
      st[S_LINE0] = lineNo + total + 1;
      const next = this.x.scan(this.base, pos, this.len);
      const lines = st[S_LINES];
      if (lines === 0) break;
      const events = st[S_EVENTS];
      if (events > 0) host.emitColumns(this.cols, events);
      host.absorbFast(
        {
          lines,
          requests: st[S_REQ],
          replies: st[S_REP],
          queue: st[S_QUEUE],
          backwardSteps: st[S_BACK],
          stamps: st[S_STAMPS],
          fracMask: st[S_FRACMASK],
          lastFracDigits: st[S_LASTFRAC],
          ts: st[S_TS],
          pendingPos: st[S_PEND_POS],
          pendingFrac: st[S_PEND_FRAC],
          pendingFracDigits: st[S_PEND_FD],
        },
        chunk,
      );
      total += lines;
      pos = next;
      if (events < cap || pos >= this.len) break;
    }
    this.lines = total;
    this.linesTaken += total;
    return pos;
  }
}
