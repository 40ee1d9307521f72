import { describe, expect, it } from 'vitest';
import {
  claim,
  erfc,
  fisherExact,
  formatDelta,
  formatRate,
  mannWhitney,
  median,
  medianCI,
  minSamplesForMedianCI,
  normalCdf,
  pMannWhitneyExact,
  wilson,
} from '../../src/compare/stats.js';

// Reference values: scipy 1.17.1 (scipy.special.erfc, scipy.stats.norm.cdf, fisher_exact, mannwhitneyu with
// method='exact' / method='asymptotic', use_continuity=True — the same as R's fisher.test / wilcox.test), and
// Newcombe (1998), Stat Med 17:857, Table I (Wilson score intervals).

describe('erfc / normalCdf', () => {
  it('matches scipy to ~1e-13 relative', () => {
    const ref: [number, number][] = [
      [0.1, 0.8875370839817152],
      [1.0, 0.15729920705028516],
      [2.9, 4.109787809945884e-5],
      [3.1, 1.1648657367199584e-5],
      [5.0, 1.5374597944280347e-12],
      [-1.2, 1.9103139782296354],
      [1.99, 0.004888586800383002],
      [2.0, 0.004677734981047266],
      [2.01, 0.004475150644751764],
      [2.5, 0.00040695201744495886],
    ];
    for (const [x, want] of ref) expect(Math.abs(erfc(x) - want) / want).toBeLessThan(1e-12);
  });
  it('Φ at known points', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(-1.96)).toBeCloseTo(0.0249978951, 9);
    expect(normalCdf(-3.5)).toBeCloseTo(2.32629079e-4, 11);
    expect(normalCdf(2.5)).toBeCloseTo(0.993790335, 9);
  });
});

describe('wilson', () => {
  it('Newcombe 1998 Table I', () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, lo, hi] of cases) {
      const ci = wilson(k, n);
      expect(ci.lo).toBeCloseTo(lo, 4);
      expect(ci.hi).toBeCloseTo(hi, 4);
    }
  });
  it('hand-computed 5/10 and 0/10, 10/10 edges, n=0', () => {
    expect(wilson(5, 10).lo).toBeCloseTo(0.2366, 4);
    expect(wilson(5, 10).hi).toBeCloseTo(0.7634, 4);
    expect(wilson(0, 10)).toEqual({ lo: 0, hi: expect.closeTo(0.2775, 4) });
    expect(wilson(10, 10).hi).toBe(1);
    expect(wilson(10, 10).lo).toBeCloseTo(1 - 0.2775, 4);
    expect(wilson(0, 0)).toEqual({ lo: 0, hi: 1 });
  });
  it('rejects invalid counts', () => {
    expect(() => wilson(3, 2)).toThrow(RangeError);
    expect(() => wilson(-1, 2)).toThrow(RangeError);
    expect(() => wilson(0.5, 2)).toThrow(RangeError);
  });
  it('formatRate', () => {
    expect(formatRate(5, 10)).toBe('0.50 [0.24, 0.76]');
    expect(formatRate(0, 0)).toBe('n/a');
  });
});

describe('fisherExact (two-sided, R rule)', () => {
  const ref: [[number, number, number, number], number][] = [
    [[3, 1, 1, 3], 0.48571428571428565], // Fisher's tea-tasting lady
    [[10, 0, 0, 10], 1.082508822446903e-5],
    [[4, 0, 0, 4], 0.028571428571428567],
    [[2, 2, 4, 0], 0.42857142857142855],
    [[0, 5, 5, 0], 0.007936507936507938],
    [[1, 9, 11, 3], 0.0027594561852200836],
    [[7, 3, 2, 8], 0.06977851869492736],
  ];
  for (const [t, want] of ref) {
    it(`[${t.join(',')}] p=${want}`, () => {
      expect(fisherExact(...t).p).toBeCloseTo(want, 12);
    });
  }
  it('identical groups give p = 1; odds ratio', () => {
    expect(fisherExact(2, 2, 2, 2).p).toBeCloseTo(1, 12);
    expect(fisherExact(3, 1, 1, 3).oddsRatio).toBe(9);
    expect(fisherExact(4, 0, 0, 4).oddsRatio).toBe(Number.POSITIVE_INFINITY);
    expect(fisherExact(0, 0, 0, 0).p).toBe(1);
  });
});

describe('median and its distribution-free CI', () => {
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('needs 6 samples at 95 % (benchstat) and gives [x1, x6] with coverage 1 − 2/64', () => {
    expect(minSamplesForMedianCI(0.95)).toBe(6);
    expect(medianCI([1, 2, 3, 4, 5]).ci).toBeNull();
    const r = medianCI([6, 1, 5, 2, 4, 3]);
    expect(r.median).toBe(3.5);
    expect(r.ci).toMatchObject({ lo: 1, hi: 6, order: [1, 6] });
    expect(r.ci?.confidence).toBeCloseTo(1 - 2 / 64, 12);
  });
  it('n = 10 uses ranks 2 and 9, coverage 97.85 %', () => {
    const xs = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    const r = medianCI(xs);
    expect(r.ci).toMatchObject({ lo: 2, hi: 9, order: [2, 9] });
    expect(r.ci?.confidence).toBeCloseTo(1 - 22 / 1024, 12);
  });
  it('n = 20 uses ranks 6 and 15 (P(B≤5) = 0.0207)', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(medianCI(xs).ci).toMatchObject({ lo: 6, hi: 15, order: [6, 15] });
  });
});

describe('mannWhitney', () => {
  it('exact: complete separation 4+4 gives the benchstat minimum p = 0.0286', () => {
    const r = mannWhitney([1, 2, 3, 4], [5, 6, 7, 8]);
    expect(r).toMatchObject({ u: 0, method: 'exact', ties: false });
    expect(r.p).toBeCloseTo(0.02857142857142857, 12);
  });
  it('exact: 3+3 can never go below 0.1', () => {
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(0.1, 12);
  });
  it("exact: R's ?wilcox.test example (W = 35)", () => {
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const r = mannWhitney(x, y);
    expect(r.u).toBe(35);
    expect(r.p).toBeCloseTo(0.2544122544122544, 12);
  });
  it('exact 6+7', () => {
    const r = mannWhitney([12, 15, 11, 19, 14, 13], [22, 18, 16, 25, 21, 17, 20]);
    expect(r.u).toBe(3);
    expect(r.p).toBeCloseTo(0.008158508158508158, 12);
  });
  it('exact distribution agrees with brute-force enumeration', () => {
    // all C(7,3) placements of 3 x-ranks among 7
    const m = 3;
    const n = 4;
    const counts = new Map<number, number>();
    let total = 0;
    for (let a = 0; a < 7; a++)
      for (let b = a + 1; b < 7; b++)
        for (let c = b + 1; c < 7; c++) {
          const u = a + b + c - (0 + 1 + 2); // U = rank sum − m(m+1)/2 with 0-based ranks
          counts.set(u, (counts.get(u) ?? 0) + 1);
          total++;
        }
    let cum = 0;
    for (let q = 0; q <= m * n; q++) {
      cum += counts.get(q) ?? 0;
      expect(pMannWhitneyExact(q, m, n)).toBeCloseTo(cum / total, 14);
    }
  });
  it('normal approximation with ties and continuity correction', () => {
    const r = mannWhitney([1, 2, 2, 3, 3, 3, 4, 5], [3, 4, 4, 5, 5, 6, 7, 7, 8]);
    expect(r).toMatchObject({ u: 7.5, method: 'normal', ties: true });
    expect(r.p).toBeCloseTo(0.006373133838085873, 10);
  });
  it('normal approximation for n ≥ 50', () => {
    const a = Array.from({ length: 60 }, (_, i) => i + 1);
    const b = Array.from({ length: 55 }, (_, i) => i + 21.5);
    const r = mannWhitney(a, b);
    expect(r).toMatchObject({ u: 780, method: 'normal' });
    expect(r.p).toBeCloseTo(1.1258207796772894e-6, 12);
  });
  it('is symmetric in its p-value and handles empty / constant samples', () => {
    expect(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4]).p).toBeCloseTo(0.02857142857142857, 12);
    expect(mannWhitney([], [1]).method).toBe('none');
    expect(mannWhitney([1, 1], [1, 1]).p).toBe(1);
  });
});

describe('claim (benchstat rules) and formatting', () => {
  it('fewer than 4 per side never claims a difference even with p < alpha', () => {
    const c = claim(0.01, 2, 5);
    expect(c).toMatchObject({ significant: false, mark: '~', tooFew: true });
    expect(c.text).toContain('too few runs: 2+5, need ≥ 4 per side');
  });
  it('significant and not', () => {
    expect(claim(0.0286, 4, 4, { effect: '−90.0%' }).text).toBe('−90.0% (p=0.029 n=4+4)');
    expect(claim(0.446, 10, 10).text).toBe('~ (p=0.446 n=10+10)');
    expect(claim(null, 10, 10).significant).toBe(false);
  });
  it('formatDelta', () => {
    expect(formatDelta(184758, 13821)).toBe('−92.5%');
    expect(formatDelta(100, 103)).toBe('+3.0%');
    expect(formatDelta(0, 3)).toBe('n/a');
    expect(formatDelta(100, 100)).toBe('0.0%');
  });
});
