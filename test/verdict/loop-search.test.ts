/**
 * The loop search's WebAssembly module: the embedded build is the build of wasm/loop-search.c, and one memory holds
 * the blocks of many trackers (it grows; what a tracker reads back after that is still its own).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type LoopEpisode, PidLoop } from '../../src/verdict/loop.js';
import { LoopSearchMemory } from '../../src/verdict/loop-search.js';
import { DEFAULT_THRESHOLDS } from '../../src/verdict/thresholds.js';
import {
  LOOP_SEARCH_SOURCE_SHA256,
  LOOP_SEARCH_WASM_BASE64,
} from '../../src/verdict/wasm/loop-search-module.js';
import { expectBuiltFromSource } from '../support/wasm-build.js';

describe('loop search: the embedded module is the build of loop-search.c', () => {
  it('carries the hash of the committed source', () => {
    const hash = createHash('sha256').update(readFileSync('src/verdict/wasm/loop-search.c')).digest('hex');
    expect(LOOP_SEARCH_SOURCE_SHA256, 'loop-search.c changed: run npm run build:wasm').toBe(hash);
  });

  it('is byte for byte what clang builds from it now', async () => {
    await expectBuiltFromSource('loop-search', LOOP_SEARCH_WASM_BASE64);
  });
});

describe('loop search memory', () => {
  it('is there (Node has WebAssembly)', () => {
    expect(LoopSearchMemory.create()).not.toBeNull();
  });

  it('holds many trackers: each finds its own loop, onset and tokens after the memory grew', () => {
    const memory = LoopSearchMemory.create();
    if (memory === null) throw new Error('WebAssembly is not available');
    const episodes: LoopEpisode[] = [];
    const first = new PidLoop(1, DEFAULT_THRESHOLDS, (e) => episodes.push(e), memory);
    // the first tracker's cycle starts before the others exist (its ring is written before the memory grows)
    const cycle = [3 * 8192 + 1, 4 * 8192 + 3, 1 * 8192 + 14];
    for (let k = 0; k < 10; k++) first.push(cycle[k % 3], 1000 + k, 100 + k, 1 + k);
    // ~4 KiB a tracker: 700 of them grow the memory (64 KiB pages) many times over
    const others = Array.from(
      { length: 700 },
      (_, k) => new PidLoop(2 + k, DEFAULT_THRESHOLDS, () => {}, memory),
    );
    for (let k = 10; k < 60; k++) {
      first.push(cycle[k % 3], 1000 + k, 100 + k, 1 + k);
      for (const o of others.slice(0, 50)) o.push(7 * 8192 + (k % 5), k, k, k);
    }
    const ep = first.episode;
    expect(ep).toBeDefined();
    expect(ep?.period).toBe(3);
    // the run began at the first request (its first match is the fourth): read back from the grown memory
    expect(ep?.onsetLine).toBe(100);
    expect(ep?.onsetTs).toBe(1000);
    expect(ep?.onsetSeq).toBe(1);
    expect(ep?.tokens).toEqual(cycle);
    // and a tracker made after the growth finds its own period-5 loop
    expect(others[0].episode?.period).toBe(5);
  });
});
