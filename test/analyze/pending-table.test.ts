import { describe, expect, it } from 'vitest';
import { type PendingRequest, PendingTable } from '../../src/analyze/pending-table.js';
import { rng } from '../support/rng.js';

/** The same operations on a plain Map, with eviction of the oldest outstanding request by arrival. */
class Model {
  readonly live = new Map<number, PendingRequest & { seq: number }>();
  evicted = 0;
  private seq = 0;
  constructor(private readonly max: number) {}
  set(p: PendingRequest): boolean {
    const old = this.live.get(p.unique);
    this.live.set(p.unique, { ...p, seq: old ? old.seq : this.seq++ });
    while (this.live.size > this.max) {
      let oldest: number | null = null;
      let s = Number.POSITIVE_INFINITY;
      for (const [u, q] of this.live) if (q.seq < s) [oldest, s] = [u, q.seq];
      this.live.delete(oldest as number);
      this.evicted++;
    }
    return old !== undefined;
  }
  take(u: number): PendingRequest | undefined {
    const p = this.live.get(u);
    this.live.delete(u);
    return p;
  }
  values(): PendingRequest[] {
    return [...this.live.values()].map(({ seq: _, ...p }) => p).sort((a, b) => a.line - b.line);
  }
}

describe('PendingTable', () => {
  it('matches a plain map through requests, replies, uniques asked again, collisions and evictions', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = rng(seed);
      const max = seed === 4 ? 300 : 5000;
      const t = new PendingTable(max);
      const m = new Model(max);
      let line = 0;
      let next = 2;
      const out: number[] = [];
      for (let step = 0; step < 20_000; step++) {
        const x = r();
        if (x < 0.5 || out.length === 0) {
          // mostly fresh, nearly sequential uniques; some far apart (same slot: the overflow map), some again
          const last = out.length > 0 ? out[out.length - 1] : next;
          const u =
            x < 0.05 ? last + 65_536 * (1 + Math.floor(r() * 3)) : x < 0.08 && out.length ? out[0] : next;
          next += 2;
          const p = {
            unique: u,
            opcode: step % 50,
            nodeid: step,
            pid: step % 7,
            ts: step,
            line: ++line,
            tag: step,
          };
          expect(t.set(p.unique, p.opcode, p.nodeid, p.pid, p.ts, p.line, p.tag)).toBe(m.set(p));
          out.push(u);
        } else {
          const u = out.splice(Math.floor(r() * Math.min(out.length, 40)), 1)[0];
          const want = m.take(u);
          expect(t.take(u)).toBe(want !== undefined);
          if (want)
            expect([t.takenOpcode, t.takenPid, t.takenLine, t.takenTag]).toEqual([
              want.opcode,
              want.pid,
              want.line,
              want.tag,
            ]);
        }
        if (step % 997 === 0) expect(t.values()).toEqual(m.values());
      }
      expect(t.size).toBe(m.live.size);
      expect(t.evicted).toBe(m.evicted);
      expect(t.values()).toEqual(m.values());
      t.remap(
        (l) => l + 1000,
        (g) => g * 2,
      );
      expect(t.values()).toEqual(m.values().map((p) => ({ ...p, line: p.line + 1000, tag: p.tag * 2 })));
      t.clear();
      expect(t.values()).toEqual([]);
    }
  });

  it('never matches a negative unique (a line that carried none) with an empty slot', () => {
    const t = new PendingTable(16);
    expect(t.take(-1)).toBe(false);
    expect(t.has(-1)).toBe(false);
    t.set(65_535, 3, 1, 7, 0, 1);
    expect(t.take(-1)).toBe(false);
    expect(t.size).toBe(1);
    expect(t.take(65_535)).toBe(true);
    expect(t.take(-1)).toBe(false);
    expect(t.size).toBe(0);
  });
});
