/**
 * Where the per-PID loop trackers (loop.ts) keep their rings and runs and search them: a WebAssembly module
 * (wasm/loop-search.c), one instance per verdict engine and a block of its memory per tracker, or, where
 * WebAssembly is not available, the same search in TypeScript (`TsRunSearch` in loop.ts). Both give the same
 * periods and onsets after every request (test/verdict/loop.test.ts runs the oracle against each).
 *
 * Why WebAssembly: the TypeScript search looked a token up in an 8 KiB table per tracker, which missed the cache on
 * most requests once a few hundred PIDs interleave, and did its index arithmetic on doubles; the module compares
 * a token with its predecessors two at a time into a bit mask, reading the few hundred bytes of the ring they lie in
 * (a block is ~4 KiB for the default maxPeriod 32, most of it the ring's times and the runs: a request writes its
 * own slot of times and touches the runs of the periods that matched only).
 */
import { embeddedModule } from '../parse/wasm/embedded.js';
import { LOOP_SEARCH_WASM_BASE64 } from './wasm/loop-search-module.js';

interface Exports {
  memory: WebAssembly.Memory;
  block_bytes(maxP: number): number;
  alloc_block(maxP: number, seedMul: number, seedMin: number): number;
  reuse(block: number): void;
  push(block: number, token: number, ts: number, line: number, seq: number): number;
}

/** The compiled module, or null where WebAssembly is not available. */
const wasmModule = embeddedModule(LOOP_SEARCH_WASM_BASE64);

/** Doubles of a block's head (wasm/loop-search.c: two doubles, six int32). */
const HEAD_DOUBLES = 5;
/** Doubles per period's run (start, ts, line, request number, then the length as an int32 and padding). */
const RUN_DOUBLES = 5;

/** One instance of the module: the blocks of one engine's trackers. */
export class LoopSearchMemory {
  private view: Float64Array;

  private constructor(readonly x: Exports) {
    this.view = new Float64Array(x.memory.buffer);
  }

  /** A new instance, or null where WebAssembly is not available (the trackers search in TypeScript then). */
  static create(): LoopSearchMemory | null {
    const m = wasmModule();
    return m === null
      ? null
      : new LoopSearchMemory(new WebAssembly.Instance(m, {}).exports as unknown as Exports);
  }

  /** A tracker's block (byte offset), zeroed. */
  alloc(maxPeriod: number, seedMul: number, seedMin: number): number {
    const at = this.x.alloc_block(maxPeriod, seedMul, seedMin);
    if (at === 0) throw new RangeError('the loop search could not grow its memory');
    return at;
  }

  /** The memory as doubles (made again after the memory grew: growing detaches the old view). */
  private f64(): Float64Array {
    if (this.view.buffer !== this.x.memory.buffer) this.view = new Float64Array(this.x.memory.buffer);
    return this.view;
  }

  /** The token in ring slot `slot` of the block at `block` (byte offset). */
  token(block: number, slot: number): number {
    return this.f64()[block / 8 + HEAD_DOUBLES + slot];
  }

  /** Field `k` of period p's run (0 start index, 1 ts, 2 line, 3 request number) in a block of ring size R. */
  run(block: number, R: number, p: number, k: number): number {
    return this.f64()[block / 8 + HEAD_DOUBLES + 5 * R + RUN_DOUBLES * p + k];
  }
}
