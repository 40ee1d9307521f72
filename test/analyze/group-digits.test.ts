import { describe, expect, it } from 'vitest';
import { groupDigits } from '../../src/analyze/group-digits.js';
import { rng } from '../support/rng.js';

describe('groupDigits', () => {
  it('spells every number as Intl.NumberFormat("en-US") does', () => {
    const nf = new Intl.NumberFormat('en-US');
    const edge = [0, -0, 1, -1, 9, 10, 99, 100, 999, 1000, -1000, 12_345, 999_999, 1_000_000, -1_234_567];
    edge.push(
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      2 ** 53,
      1e21,
      1.5,
      -2.25,
      0.0004,
      Number.NaN,
    );
    edge.push(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    const r = rng(7);
    for (let k = 0; k < 2000; k++) {
      const digits = 1 + Math.floor(r() * 16);
      edge.push(Math.floor((r() - 0.3) * 10 ** digits));
    }
    for (const x of edge) expect(groupDigits(x), String(x)).toBe(nf.format(x));
  });
});
