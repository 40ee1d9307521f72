/**
 * PidLoop's cycle search against a naive oracle: after every request, the smallest period p whose current run of
 * tok[k] = tok[k−p] covers at least two repetitions and SEED_MIN_RUN requests, and where that run began. The
 * tracker finds it with lazily reset runs — in WebAssembly (a bit mask of the predecessors that match) and in
 * TypeScript (per-token occurrence chains), both checked here; the oracle recounts every run from scratch. Streams
 * are random over small alphabets (so runs form and break), with planted cycles, NaN tokens, tokens that collide in
 * their low 32 bits, and trackers reused for another PID mid-stream.
 */
import { describe, expect, it } from 'vitest';
import { type LoopEpisode, PidLoop } from '../../src/verdict/loop.js';
import { LoopSearchMemory } from '../../src/verdict/loop-search.js';
import { DEFAULT_THRESHOLDS, type VerdictThresholds } from '../../src/verdict/thresholds.js';
import { rng } from '../support/rng.js';

const SEED_REPS = 3;
const SEED_MIN_RUN = 24;

/** Smallest seeding period at the newest token of `toks` (0 if none) and the index its run began (i − p). */
function oracle(toks: number[], maxPeriod: number): { p: number; start: number } {
  const i = toks.length - 1;
  for (let p = 1; p <= Math.min(maxPeriod, i); p++) {
    let L = 0;
    while (i - L - p >= 0 && toks[i - L] === toks[i - L - p]) L++;
    if (L >= p * (SEED_REPS - 1) && L >= SEED_MIN_RUN) return { p, start: i - L + 1 - p };
  }
  return { p: 0, start: -1 };
}

function stream(seed: number, n: number): number[] {
  const rand = rng(seed);
  const out: number[] = [];
  const big = 2 ** 40;
  while (out.length < n) {
    const r = rand();
    if (r < 0.35) {
      // a planted cycle, repeated with a few slips
      const period = 1 + Math.floor(rand() * 12);
      const cyc = Array.from(
        { length: period },
        () => Math.floor(rand() * 4) * 8192 + Math.floor(rand() * 5),
      );
      const reps = 2 + Math.floor(rand() * (12 + 40 / period));
      for (let k = 0; k < period * reps; k++) out.push(rand() < 0.02 ? 99 : cyc[k % period]);
    } else if (r < 0.4) {
      out.push(Number.NaN);
    } else if (r < 0.45) {
      // same low 32 bits as 5 and 8197: only the full comparison tells them apart
      out.push(rand() < 0.5 ? big + 5 : 2 * big + 8197);
    } else {
      out.push(Math.floor(rand() * 3) * 8192 + Math.floor(rand() * 3));
    }
  }
  return out.slice(0, n);
}

function check(seed: number, th: VerdictThresholds, memory: () => LoopSearchMemory | null): number {
  const toks = stream(seed, 6000);
  const episodes: LoopEpisode[] = [];
  const loop = new PidLoop(7, th, (e) => episodes.push(e), memory());
  let seen: number[] = [];
  let found = 0;
  let lastEpisode: LoopEpisode | undefined;
  for (let k = 0; k < toks.length; k++) {
    if (k === 3000) {
      loop.close();
      loop.reuse(8);
      seen = [];
      lastEpisode = undefined;
    }
    seen.push(toks[k]);
    const seq = 10 * k + 1;
    loop.push(toks[k], 1000 * k, k + 1, seq);
    const want = oracle(seen, th.maxPeriod);
    expect(loop.found, `push ${k}`).toBe(want.p);
    if (want.p > 0) found++;
    const ep = loop.episode;
    if (ep !== undefined && ep !== lastEpisode) {
      // a new episode: dated from the first token of the seeding run, one period of tokens from there
      expect(ep.period).toBe(want.p);
      const first = k - seen.length + 1 + want.start;
      expect(ep.onsetSeq).toBe(10 * first + 1);
      expect(ep.onsetLine).toBe(first + 1);
      expect(ep.tokens).toEqual(seen.slice(want.start, want.start + want.p));
    }
    lastEpisode = ep;
  }
  return found;
}

/** The WebAssembly search (it must be there: a run without it would check the TypeScript one twice). */
function wasm(): LoopSearchMemory {
  const m = LoopSearchMemory.create();
  if (m === null)
    throw new Error('WebAssembly is not available: the WebAssembly loop search cannot be checked');
  return m;
}

const searches: [string, () => LoopSearchMemory | null][] = [
  ['WebAssembly', wasm],
  ['TypeScript', () => null],
];

describe.each(searches)('PidLoop cycle search (%s)', (_name, memory) => {
  it('finds the oracle period and onset after every request (default maxPeriod)', () => {
    let found = 0;
    for (let seed = 1; seed <= 6; seed++) found += check(seed, DEFAULT_THRESHOLDS, memory);
    // the streams do seed loops (the comparison is not vacuous)
    expect(found).toBeGreaterThan(1000);
  });

  it('with small and large maxPeriods (the WebAssembly mask covers 64 periods at a time)', () => {
    for (const maxPeriod of [1, 2, 3, 8, 40, 63, 64, 65, 130]) {
      let found = 0;
      for (let seed = 11; seed <= 13; seed++)
        found += check(seed, { ...DEFAULT_THRESHOLDS, maxPeriod }, memory);
      expect(found).toBeGreaterThan(0);
    }
  });

  it('keeps its memory fixed however long the stream', () => {
    const loop = new PidLoop(1, DEFAULT_THRESHOLDS, () => {}, memory());
    for (let k = 0; k < 50_000; k++) loop.push((k * 7919) % 5000, k, k, k);
    expect(loop.ringSize).toBe(2 * DEFAULT_THRESHOLDS.maxPeriod + 1);
  });
});
