/**
 * Small-sample statistics for comparing VM boot experiments. Pure and exact where it matters.
 *
 * - {@link wilson}: Wilson score interval for a proportion (Wilson 1927; what R's `prop.test(correct=FALSE)` gives).
 * - {@link fisherExact}: two-sided Fisher's exact test on a 2×2 table, R's `fisher.test` rule (sum of the
 *   probabilities of all tables no more likely than the observed one, relative tolerance 1e-7).
 * - {@link mannWhitney}: Mann–Whitney U (Wilcoxon rank-sum), two-sided. Exact null distribution when there are no
 *   ties and both samples are < 50 (R's `wilcox.test` default); otherwise the normal approximation with tie
 *   correction and continuity correction (R's `correct = TRUE`).
 * - {@link medianCI}: median with a distribution-free confidence interval from order statistics (binomial(n, ½)).
 * - benchstat's rules: fewer than 4 samples per side can never show a difference at α = 0.05 ("too few runs"),
 *   fewer than 6 give no 95 % confidence interval for a median.
 */

/** z quantile for a two-sided 95 % interval, qnorm(0.975). */
export const Z95 = 1.959963984540054;

/** benchstat: "need >= 4 samples to detect a difference at alpha level 0.05". */
export const MIN_SAMPLES_FOR_DIFFERENCE = 4;

export interface Interval {
  lo: number;
  hi: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Normal distribution

/** Complementary error function, ~1e-14 relative accuracy (series below 2, continued fraction above). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/sqrt(pi) * sum_{n>=0} (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), modified Lentz
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF, Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

// ---------------------------------------------------------------------------------------------------------------
// Proportions

/** Wilson score interval for k successes out of n (default 95 %). n = 0 gives [0, 1]. */
export function wilson(k: number, n: number, z: number = Z95): Interval {
  checkCount(k, n);
  if (n === 0) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // exact bounds at the edges (avoid 1e-17 noise)
  return { lo: k === 0 ? 0 : Math.max(0, center - half), hi: k === n ? 1 : Math.min(1, center + half) };
}

function checkCount(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`invalid count ${k} of ${n}`);
  }
}

const logFactCache: number[] = [0];
/** ln(n!) by summation (exact to rounding for the n of VM experiments). */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`logFactorial(${n})`);
  for (let i = logFactCache.length; i <= n; i++) logFactCache[i] = logFactCache[i - 1] + Math.log(i);
  return logFactCache[n];
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

export interface FisherResult {
  /** Two-sided p-value. */
  p: number;
  /** Conditional maximum-likelihood odds ratio is not computed; this is the sample odds ratio (a·d)/(b·c). */
  oddsRatio: number;
}

/**
 * Two-sided Fisher's exact test of the 2×2 table
 * ```
 *            success  failure
 *  group 1      a        b
 *  group 2      c        d
 * ```
 * p = Σ P(table) over all tables with the observed margins and P(table) ≤ P(observed)·(1 + 1e-7) (R's rule).
 */
export function fisherExact(a: number, b: number, c: number, d: number): FisherResult {
  for (const v of [a, b, c, d]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`invalid 2x2 cell ${v}`);
  }
  const r1 = a + b;
  const r2 = c + d;
  const c1 = a + c;
  const n = r1 + r2;
  const lo = Math.max(0, c1 - r2);
  const hi = Math.min(r1, c1);
  const logDenom = logChoose(n, c1);
  const prob = (x: number): number => Math.exp(logChoose(r1, x) + logChoose(r2, c1 - x) - logDenom);
  const pObs = prob(a);
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const px = prob(x);
    if (px <= pObs * (1 + 1e-7)) p += px;
  }
  const oddsRatio = b * c === 0 ? (a * d === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : (a * d) / (b * c);
  return { p: Math.min(1, p), oddsRatio };
}

// ---------------------------------------------------------------------------------------------------------------
// Location

/** Median (mean of the two middle values for even n). NaN for an empty sample. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function binomHalfCdf(k: number, n: number): number {
  // P(B <= k), B ~ Binomial(n, 1/2)
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(n, i) - n * Math.LN2);
  return p;
}

export interface MedianCI {
  n: number;
  median: number;
  /** null when n is too small for the requested confidence (n < 6 at 95 %). */
  ci: (Interval & { confidence: number; order: [number, number] }) | null;
}

/**
 * Median with a distribution-free interval [x(k), x(n−k+1)], k the largest rank with P(B ≤ k−1) ≤ (1−level)/2
 * for B ~ Binomial(n, ½). `ci.confidence` is the actual coverage (≥ level); `order` the 1-based ranks used.
 */
export function medianCI(xs: readonly number[], level = 0.95): MedianCI {
  const n = xs.length;
  const s = [...xs].sort((x, y) => x - y);
  const med = median(s);
  const alphaHalf = (1 - level) / 2;
  let k = 0;
  while (k + 1 <= Math.floor((n + 1) / 2) && binomHalfCdf(k, n) <= alphaHalf * (1 + 1e-12)) k++;
  if (k === 0) return { n, median: med, ci: null };
  const coverage = 1 - 2 * binomHalfCdf(k - 1, n);
  return { n, median: med, ci: { lo: s[k - 1], hi: s[n - k], confidence: coverage, order: [k, n - k + 1] } };
}

/** Smallest n for which {@link medianCI} gives an interval at this level (6 at 95 %). */
export function minSamplesForMedianCI(level = 0.95): number {
  for (let n = 1; n < 1000; n++) if (binomHalfCdf(0, n) <= ((1 - level) / 2) * (1 + 1e-12)) return n;
  return Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------------------------
// Mann–Whitney U

export interface MannWhitneyResult {
  /** U of the first sample: #{(x, y): x > y} + ½ #{x = y} (R's W). */
  u: number;
  n1: number;
  n2: number;
  /** Two-sided p-value (1 when a sample is empty). */
  p: number;
  method: 'exact' | 'normal' | 'none';
  ties: boolean;
}

/** Number of rank arrangements with U = u for sample sizes m, n, u = 0..m·n (no ties). */
function exactUCounts(m: number, n: number): number[] {
  // f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u), built over n with a table per m.
  // dp[i][u] for current j; iterate j = 0..n
  const max = m * n;
  let prev: number[][] = [];
  for (let i = 0; i <= m; i++) prev.push(i === 0 ? [1] : [1]); // j = 0: only u = 0
  for (let j = 1; j <= n; j++) {
    const cur: number[][] = [[1]]; // i = 0: only u = 0
    for (let i = 1; i <= m; i++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const a = cur[i - 1]; // f(i-1, j, u - j)
      const b = prev[i]; // f(i, j-1, u)
      for (let u = 0; u < size; u++) {
        row[u] = (u - j >= 0 && u - j < a.length ? a[u - j] : 0) + (u < b.length ? b[u] : 0);
      }
      cur.push(row);
    }
    prev = cur;
  }
  const counts = prev[m];
  while (counts.length < max + 1) counts.push(0);
  return counts;
}

/** Exact P(U ≤ q) for sample sizes m, n without ties. */
export function pMannWhitneyExact(q: number, m: number, n: number): number {
  const counts = exactUCounts(m, n);
  let total = 0;
  let below = 0;
  for (let u = 0; u < counts.length; u++) {
    total += counts[u];
    if (u <= q) below += counts[u];
  }
  return below / total;
}

/** Two-sided Mann–Whitney U test of x against y (see the module comment for the method choice). */
export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: Number.NaN, n1, n2, p: 1, method: 'none', ties: false };
  const all = [...x.map((v) => ({ v, g: 0 })), ...y.map((v) => ({ v, g: 1 }))].sort((a, b) => a.v - b.v);
  const N = all.length;
  let rankSum1 = 0;
  let tieTerm = 0;
  let ties = false;
  for (let i = 0; i < N; ) {
    let j = i;
    while (j + 1 < N && all[j + 1].v === all[i].v) j++;
    const rank = (i + j + 2) / 2; // average of 1-based ranks i+1..j+1
    const t = j - i + 1;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
    for (let k = i; k <= j; k++) if (all[k].g === 0) rankSum1 += rank;
    i = j + 1;
  }
  const u = rankSum1 - (n1 * (n1 + 1)) / 2;
  if (!ties && n1 < 50 && n2 < 50) {
    const mean = (n1 * n2) / 2;
    const p = u > mean ? 1 - pMannWhitneyExact(u - 1, n1, n2) : pMannWhitneyExact(u, n1, n2);
    return { u, n1, n2, p: Math.min(1, 2 * p), method: 'exact', ties };
  }
  const mean = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sigma === 0) return { u, n1, n2, p: 1, method: 'normal', ties };
  const diff = u - mean;
  const z = (diff - Math.sign(diff) * 0.5) / sigma;
  const p = 2 * Math.min(normalCdf(z), normalCdf(-z));
  return { u, n1, n2, p: Math.min(1, p), method: 'normal', ties };
}

// ---------------------------------------------------------------------------------------------------------------
// Claims and formatting (benchstat style)

export interface Claim {
  /** p-value, or null when no test could be made (too few samples, no data). */
  p: number | null;
  /** True only when enough samples and p < alpha. */
  significant: boolean;
  /** "~" when not significant or not testable, else the direction and size as given by the caller. */
  mark: string;
  /** benchstat-like text, e.g. "~ (p=0.446 n=10+10)" or "too few runs: 2+3, need ≥ 4 per side". */
  text: string;
  tooFew: boolean;
}

/** Apply benchstat's rule to a test result: fewer than 4 samples on either side never claims a difference. */
export function claim(
  p: number | null,
  n1: number,
  n2: number,
  opts: { alpha?: number; effect?: string } = {},
): Claim {
  const alpha = opts.alpha ?? 0.05;
  const ns = `n=${n1}+${n2}`;
  if (n1 < MIN_SAMPLES_FOR_DIFFERENCE || n2 < MIN_SAMPLES_FOR_DIFFERENCE) {
    return {
      p,
      significant: false,
      mark: '~',
      text: `~ (too few runs: ${n1}+${n2}, need ≥ ${MIN_SAMPLES_FOR_DIFFERENCE} per side to claim a difference)`,
      tooFew: true,
    };
  }
  if (p === null || Number.isNaN(p)) {
    return { p: null, significant: false, mark: '~', text: `~ (no test ${ns})`, tooFew: false };
  }
  if (p < alpha) {
    const mark = opts.effect ?? '≠';
    return { p, significant: true, mark, text: `${mark} (p=${formatP(p)} ${ns})`, tooFew: false };
  }
  return { p, significant: false, mark: '~', text: `~ (p=${formatP(p)} ${ns})`, tooFew: false };
}

/** p-value with three decimals like benchstat ("p=0.000" means < 0.0005). */
export function formatP(p: number): string {
  return p.toFixed(3);
}

/** Relative change of b against a as a signed percentage ("−92.5%", "+3.0%"); "n/a" when a is 0 or not finite. */
export function formatDelta(a: number, b: number, digits = 1): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return 'n/a';
  const d = ((b - a) / Math.abs(a)) * 100;
  const s = Math.abs(d).toFixed(digits);
  if (Number(s) === 0) return `${(0).toFixed(digits)}%`;
  return `${d < 0 ? '−' : '+'}${s}%`;
}

/** "0.50 [0.24, 0.76]"-style proportion with its interval. */
export function formatRate(k: number, n: number, digits = 2): string {
  if (n === 0) return 'n/a';
  const ci = wilson(k, n);
  return `${(k / n).toFixed(digits)} [${ci.lo.toFixed(digits)}, ${ci.hi.toFixed(digits)}]`;
}
