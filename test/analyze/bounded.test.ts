import { describe, expect, it } from 'vitest';
import { CappedTable, IdSet, IntMap, PagedCounts } from '../../src/analyze/bounded.js';
import { PostMortemReducer } from '../../src/analyze/postmortem.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
import { rng } from '../support/rng.js';

describe('IdSet', () => {
  it('counts distinct ids exactly below and above 2^22, and merges by union', () => {
    const a = new IdSet();
    const b = new IdSet();
    const ids = [0, 1, 31, 32, 4_194_303, 4_194_304, 5_000_000, 2 ** 40 + 7];
    for (const id of ids) expect(a.add(id)).toBe(true);
    for (const id of ids) expect(a.add(id)).toBe(false);
    expect(a.size).toBe(ids.length);
    for (const id of ids) expect(a.has(id)).toBe(true);
    expect(a.has(2)).toBe(false);
    expect(a.has(5_000_001)).toBe(false);
    for (const id of [1, 2, 5_000_000, 5_000_001, 9_999_999]) b.add(id);
    a.union(b);
    expect(a.size).toBe(ids.length + 3);
    expect(a.has(9_999_999)).toBe(true);
    expect(a.exact).toBe(true);
  });

  it('says when the page budget made it a lower bound', () => {
    const s = new IdSet(2);
    s.add(1 << 22);
    s.add((1 << 22) + (1 << 16));
    expect(s.add((1 << 22) + 2 * (1 << 16))).toBe(false);
    expect(s.size).toBe(2);
    expect(s.exact).toBe(false);
  });
});

describe('CappedTable', () => {
  it('is exact under its cap', () => {
    const seen = new IdSet();
    const t = new CappedTable<{ requests: number; missed: number }>(100, seen);
    for (let k = 0; k < 100; k++) t.insert(k, { requests: k + 1, missed: 0 });
    expect(t.size).toBe(100);
    expect(t.exact).toBe(true);
    expect(t.get(42)?.requests).toBe(43);
  });

  it('keeps every heavy key and bounds every count past its cap (skewed stream, 100k keys, cap 500)', () => {
    const rand = rng(7);
    const seen = new IdSet();
    const t = new CappedTable<{ requests: number; missed: number }>(500, seen);
    const truth = new Map<number, number>();
    for (let i = 0; i < 300_000; i++) {
      // half the events from 20 heavy keys, half from 100k one-off-ish keys
      const key = rand() < 0.5 ? Math.floor(rand() * 20) : 1000 + Math.floor(rand() * 100_000);
      truth.set(key, (truth.get(key) ?? 0) + 1);
      const e = t.get(key);
      if (e) e.requests++;
      else t.insert(key, { requests: 1, missed: 0 });
    }
    expect(t.size).toBeLessThanOrEqual(500);
    expect(t.exact).toBe(false);
    expect(seen.size).toBe(truth.size);
    for (const [k, v] of t.entries()) {
      const n = truth.get(k) ?? 0;
      expect(v.requests).toBeLessThanOrEqual(n);
      expect(n).toBeLessThanOrEqual(v.requests + v.missed);
      expect(v.missed).toBeLessThanOrEqual(t.floor);
    }
    for (const [k, n] of truth)
      if (n > t.floor) expect(t.has(k), `key ${k} (${n} > floor ${t.floor})`).toBe(true);
    for (let k = 0; k < 20; k++) expect(t.has(k)).toBe(true);
    // the heavy keys were inserted before any eviction: exact
    for (let k = 0; k < 20; k++) expect(t.get(k)?.requests).toBe(truth.get(k));
  });
});

describe('IntMap', () => {
  it('behaves like a Map under random set/delete churn, with colliding and large keys', () => {
    const rand = rng(3);
    const m = new IntMap<number>();
    const ref = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      const key = rand() < 0.1 ? 2 ** 33 + Math.floor(rand() * 64) : Math.floor(rand() * 2048) * 1024;
      const r = rand();
      if (r < 0.45) {
        m.set(key, i);
        ref.set(key, i);
      } else if (r < 0.9) {
        expect(m.delete(key)).toBe(ref.delete(key));
      } else expect(m.get(key)).toBe(ref.get(key));
      if (i % 10_000 === 0) expect(m.size).toBe(ref.size);
    }
    expect(m.size).toBe(ref.size);
    expect([...m.values()].sort((a, b) => a - b)).toEqual([...ref.values()].sort((a, b) => a - b));
    for (const [k, v] of ref) expect(m.get(k)).toBe(v);
  });
});

describe('PagedCounts', () => {
  it('counts ids above 2^22 without an object per id, within its page budget', () => {
    const p = new PagedCounts(2);
    const base = 1 << 22;
    for (let i = 0; i < 100_000; i++) expect(p.add(base + i)).toBe(0);
    expect(p.add(base + 5)).toBe(1);
    expect(p.get(base + 5)).toBe(2);
    expect(p.add(base + 3 * 65_536)).toBe(-1);
    expect([...p.entries()].length).toBe(100_000);
  });
});

describe('PostMortemReducer memory caps', () => {
  /** `pids` distinct PIDs, one request each, then a heavy PID; optionally split across two reducers. */
  function feed(r: PostMortemReducer, from: number, to: number, heavyEvery: number): void {
    for (let i = from; i < to; i++) {
      const heavy = i % heavyEvery === 0;
      const pid = heavy ? 7 : 1000 + i;
      r.request(1.7e12 + i, 2 * i + 1, 3, heavy ? 1 : 2 + (i % 50), 2 * i + 2, pid, Daemon.rust);
      r.reply(1.7e12 + i, 2 * i + 2, 2 * i + 2, i % 1000 === 0 ? -2 : 0, 120);
    }
  }

  it('keeps totals and distinct counts exact, the busy PID exact, and says the rest is approximate', () => {
    const r = new PostMortemReducer({ maxPids: 1000 });
    feed(r, 0, 50_000, 10);
    const pm = r.snapshot();
    expect(pm.totals.requests).toBe(50_000);
    expect(pm.totals.distinctPids).toBe(45_001);
    expect(pm.byPid.length).toBeLessThanOrEqual(1000);
    expect(pm.byPid[0]).toMatchObject({ pid: 7, requests: 5000, errors: 50 });
    expect(pm.byPid[0].missedAtMost).toBeUndefined();
    expect(pm.bounds).toMatchObject({ pidsExact: false, maxPids: 1000, distinctExact: true });
    expect(pm.bounds.pidEvictions).toBeGreaterThan(40_000);
    expect(pm.bounds.pidMaxError).toBe(1);
  });

  it('stays exact (and says so) under the cap', () => {
    const r = new PostMortemReducer({ maxPids: 100_000 });
    feed(r, 0, 20_000, 10);
    const pm = r.snapshot();
    expect(pm.byPid.length).toBe(18_001);
    expect(pm.bounds).toMatchObject({ pidsExact: true, pidEvictions: 0, pidMaxError: 0, inodesExact: true });
  });

  it('merges two capped ranges with the bounds still true', () => {
    const a = new PostMortemReducer({ maxPids: 1000 });
    const b = new PostMortemReducer({ maxPids: 1000 });
    feed(a, 0, 30_000, 10);
    feed(b, 30_000, 60_000, 10);
    a.absorb(b, 60_000);
    const pm = a.snapshot();
    expect(pm.totals.requests).toBe(60_000);
    expect(pm.totals.distinctPids).toBe(54_001);
    expect(pm.byPid[0]).toMatchObject({ pid: 7, requests: 6000 });
    expect(pm.byPid.length).toBeLessThanOrEqual(1000);
    expect(pm.bounds.pidsExact).toBe(false);
    for (const row of pm.byPid.slice(1))
      expect(row.requests + (row.missedAtMost ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('counts five million nodeids above 2^22 exactly in pages', () => {
    const r = new PostMortemReducer();
    const base = 1 << 22;
    for (let i = 0; i < 300_000; i++) r.request(1.7e12, i + 1, 3, base + i, 2 * i + 2, 100, Daemon.rust);
    r.request(1.7e12, 300_001, 3, base + 17, 600_004, 100, Daemon.rust);
    const pm = r.snapshot();
    expect(pm.totals.distinctInodes).toBe(300_000);
    expect(pm.byInode.top[0]).toEqual({ nodeid: base + 17, requests: 2, share: 2 / 300_001 });
    expect(pm.bounds.inodesExact).toBe(true);
  });
});
