/**
 * The comparison table of an experiment, pure: run records in, one row per variant out.
 *
 * The main figure is the outcome: the healthy rate with a Wilson 95 % interval, and Fisher's exact test of
 * healthy/not-healthy against the reference variant (the first one, or the one named). Continuous figures
 * (requests, time to boot) are medians with a distribution-free interval and a Mann–Whitney test. benchstat's rules
 * are applied: fewer than 4 runs per side never claim a difference, fewer than 6 give no interval. Runs that ended
 * in `error` or `interrupted` say nothing about the variant: they are counted but left out of rates and tests.
 */

import { INVALID_OUTCOMES, OUTCOME_KINDS, type OutcomeKind, type RunRecord } from '../launch/run-record.js';
import type { Mitigation } from '../launch/variants.js';
import {
  type Claim,
  claim,
  fisherExact,
  formatDelta,
  formatP,
  type Interval,
  type MannWhitneyResult,
  MIN_SAMPLES_FOR_DIFFERENCE,
  mannWhitney,
  medianCI,
  minSamplesForMedianCI,
  wilson,
} from './stats.js';

export const COMPARISON_SCHEMA = 'vfs-analyze.comparison';

export interface CompareOptions {
  /** Name of the reference variant; default the first variant seen. */
  reference?: string;
  /** Significance level, default 0.05. */
  alpha?: number;
  /** Confidence level of intervals, default 0.95. */
  level?: number;
}

export interface Continuous {
  n: number;
  median: number | null;
  /** Distribution-free interval for the median; null when n is too small (< 6 at 95 %). */
  ci: (Interval & { confidence: number }) | null;
}

export interface ContinuousTest {
  mw: MannWhitneyResult | null;
  claim: Claim;
}

export interface VariantRow {
  name: string;
  mitigations: Mitigation[];
  notes: string[];
  isReference: boolean;
  runIds: string[];
  runs: number;
  /** Runs not ended by error / interruption. */
  validRuns: number;
  outcomes: Record<OutcomeKind, number>;
  /** Healthy share of the valid runs, with its Wilson interval. */
  healthy: { k: number; n: number; rate: number | null; ci: Interval | null };
  requests: Continuous & { total: number };
  durationSec: { total: number; median: number | null };
  /** Total requests / total duration over the valid runs. */
  ratePerSec: number | null;
  /** 1 − median(requests) / median(reference requests): 0.925 means 92.5 % fewer. null for the reference. */
  reductionVsReference: number | null;
  /** Time to the outcome (goal or confirmed verdict) of the valid runs that had one. */
  timeToOutcomeSec: Continuous;
  /** Time to the goal, healthy runs only. */
  timeToBootSec: Continuous;
  /** The most frequent top looping PID among the valid runs. */
  topLoopingPid: { pid: number; name?: string; runs: number; requests: number } | null;
  vsReference: {
    healthy: { p: number; oddsRatio: number; claim: Claim };
    requests: ContinuousTest;
    timeToBoot: ContinuousTest;
  } | null;
}

export interface Comparison {
  schema: typeof COMPARISON_SCHEMA;
  schemaVersion: 1;
  reference: string;
  alpha: number;
  level: number;
  variants: VariantRow[];
  /** Plain-language notes, most important first. */
  notes: string[];
}

function continuous(xs: number[], level: number): Continuous {
  if (xs.length === 0) return { n: 0, median: null, ci: null };
  const m = medianCI(xs, level);
  return {
    n: xs.length,
    median: m.median,
    ci: m.ci ? { lo: m.ci.lo, hi: m.ci.hi, confidence: m.ci.confidence } : null,
  };
}

function emptyOutcomes(): Record<OutcomeKind, number> {
  const o = {} as Record<OutcomeKind, number>;
  for (const k of OUTCOME_KINDS) o[k] = 0;
  return o;
}

function topPid(runs: RunRecord[]): VariantRow['topLoopingPid'] {
  const by = new Map<number, { pid: number; name?: string; runs: number; requests: number }>();
  for (const r of runs) {
    const t = r.topLoopingPid;
    if (!t) continue;
    const e = by.get(t.pid) ?? { pid: t.pid, runs: 0, requests: 0 };
    e.runs++;
    e.requests += t.requests;
    if (t.name && !e.name) e.name = t.name;
    by.set(t.pid, e);
  }
  let best: VariantRow['topLoopingPid'] = null;
  for (const e of by.values()) {
    if (!best || e.runs > best.runs || (e.runs === best.runs && e.requests > best.requests)) best = e;
  }
  return best;
}

function tooFewText(n1: number, n2: number): string {
  return n1 === n2
    ? `too few runs: ${n1} per side, need ≥ ${MIN_SAMPLES_FOR_DIFFERENCE} to claim a difference`
    : `too few runs: ${n1} and ${n2}, need ≥ ${MIN_SAMPLES_FOR_DIFFERENCE} per side to claim a difference`;
}

function test(a: number[], b: number[], alpha: number, effect: string): ContinuousTest {
  if (a.length === 0 || b.length === 0) {
    return { mw: null, claim: claim(null, a.length, b.length, { alpha }) };
  }
  const mw = mannWhitney(b, a);
  return { mw, claim: claim(mw.p, a.length, b.length, { alpha, effect }) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Build the comparison from run records (any order; variants keep their first-seen order). */
export function compareRuns(records: readonly RunRecord[], opts: CompareOptions = {}): Comparison {
  const alpha = opts.alpha ?? 0.05;
  const level = opts.level ?? 0.95;
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const g = groups.get(r.variant.name);
    if (g) g.push(r);
    else groups.set(r.variant.name, [r]);
  }
  const names = [...groups.keys()];
  const notes: string[] = [];
  if (names.length === 0) {
    return {
      schema: COMPARISON_SCHEMA,
      schemaVersion: 1,
      reference: '',
      alpha,
      level,
      variants: [],
      notes: ['no runs'],
    };
  }
  let reference = names[0];
  if (opts.reference !== undefined) {
    if (!groups.has(opts.reference)) {
      throw new RangeError(
        `reference variant "${opts.reference}" has no runs (variants: ${names.join(', ')})`,
      );
    }
    reference = opts.reference;
    // the reference goes first
    names.splice(names.indexOf(reference), 1);
    names.unshift(reference);
  }

  const rows: VariantRow[] = [];
  const valid = new Map<string, RunRecord[]>();
  for (const name of names) {
    const runs = groups.get(name)!;
    const ok = runs.filter((r) => !INVALID_OUTCOMES.has(r.outcome.kind));
    valid.set(name, ok);
    const outcomes = emptyOutcomes();
    for (const r of runs) outcomes[r.outcome.kind]++;
    const healthyK = ok.filter((r) => r.outcome.kind === 'healthy').length;
    const requests = ok.map((r) => r.totals.requests);
    const durTotal = ok.reduce((s, r) => s + r.totals.durationSec, 0);
    const reqTotal = requests.reduce((s, x) => s + x, 0);
    const tto = ok.map((r) => r.timeToOutcomeSec).filter((x): x is number => x !== null);
    const boot = ok
      .filter((r) => r.outcome.kind === 'healthy')
      .map((r) => r.timeToOutcomeSec)
      .filter((x): x is number => x !== null);
    const variantNotes = [...new Set(runs.flatMap((r) => r.variant.notes ?? []))];
    rows.push({
      name,
      mitigations: runs[0].variant.mitigations,
      notes: variantNotes,
      isReference: name === reference,
      runIds: runs.map((r) => r.id),
      runs: runs.length,
      validRuns: ok.length,
      outcomes,
      healthy: {
        k: healthyK,
        n: ok.length,
        rate: ok.length > 0 ? healthyK / ok.length : null,
        ci: ok.length > 0 ? wilson(healthyK, ok.length) : null,
      },
      requests: { ...continuous(requests, level), total: reqTotal },
      durationSec: {
        total: durTotal,
        median: continuous(
          ok.map((r) => r.totals.durationSec),
          level,
        ).median,
      },
      ratePerSec: durTotal > 0 ? reqTotal / durTotal : null,
      reductionVsReference: null,
      timeToOutcomeSec: continuous(tto, level),
      timeToBootSec: continuous(boot, level),
      topLoopingPid: topPid(ok),
      vsReference: null,
    });
    const bad = runs.length - ok.length;
    if (bad > 0) {
      const parts = [...INVALID_OUTCOMES].filter((k) => outcomes[k] > 0).map((k) => `${outcomes[k]} ${k}`);
      notes.push(
        `${name}: ${plural(bad, 'run')} (${parts.join(', ')}) left out of rates and tests: they say nothing about the variant`,
      );
    }
  }

  const ref = rows[0];
  const refRuns = valid.get(ref.name)!;
  for (const row of rows.slice(1)) {
    const ok = valid.get(row.name)!;
    if (ref.requests.median !== null && row.requests.median !== null && ref.requests.median > 0) {
      row.reductionVsReference = 1 - row.requests.median / ref.requests.median;
    }
    const f = fisherExact(
      row.healthy.k,
      row.healthy.n - row.healthy.k,
      ref.healthy.k,
      ref.healthy.n - ref.healthy.k,
    );
    const healthyEffect =
      row.healthy.rate !== null && ref.healthy.rate !== null
        ? `healthy ${row.healthy.k}/${row.healthy.n} vs ${ref.healthy.k}/${ref.healthy.n}`
        : '≠';
    const fisherClaim = claim(
      ref.healthy.n > 0 && row.healthy.n > 0 ? f.p : null,
      ref.healthy.n,
      row.healthy.n,
      {
        alpha,
        effect: healthyEffect,
      },
    );
    const reqEffect =
      ref.requests.median !== null && row.requests.median !== null
        ? `${formatDelta(ref.requests.median, row.requests.median)} requests`
        : '≠';
    const bootEffect =
      ref.timeToBootSec.median !== null && row.timeToBootSec.median !== null
        ? `${formatDelta(ref.timeToBootSec.median, row.timeToBootSec.median)} time to boot`
        : '≠';
    row.vsReference = {
      healthy: { p: f.p, oddsRatio: f.oddsRatio, claim: fisherClaim },
      requests: test(
        refRuns.map((r) => r.totals.requests),
        ok.map((r) => r.totals.requests),
        alpha,
        reqEffect,
      ),
      timeToBoot: test(
        refRuns
          .filter((r) => r.outcome.kind === 'healthy' && r.timeToOutcomeSec !== null)
          .map((r) => r.timeToOutcomeSec!),
        ok
          .filter((r) => r.outcome.kind === 'healthy' && r.timeToOutcomeSec !== null)
          .map((r) => r.timeToOutcomeSec!),
        alpha,
        bootEffect,
      ),
    };
    const vs = `${row.name} vs ${ref.name}`;
    if (fisherClaim.tooFew) {
      notes.push(`${vs}: ${tooFewText(ref.healthy.n, row.healthy.n)}`);
    } else if (fisherClaim.significant) {
      notes.push(
        `${vs}: outcomes differ — healthy in ${row.healthy.k}/${row.healthy.n} vs ${ref.healthy.k}/${ref.healthy.n} ` +
          `(Fisher's exact test p=${formatP(f.p)})`,
      );
    } else {
      notes.push(
        `${vs}: no difference in outcomes shown — healthy in ${row.healthy.k}/${row.healthy.n} vs ` +
          `${ref.healthy.k}/${ref.healthy.n} (Fisher's exact test p=${formatP(f.p)})`,
      );
    }
    const rq = row.vsReference.requests;
    if (rq.claim.significant) {
      notes.push(`${vs}: ${reqEffect} (median; Mann–Whitney p=${formatP(rq.mw!.p)})`);
    } else if (!rq.claim.tooFew && rq.mw) {
      notes.push(`${vs}: request counts not shown to differ (Mann–Whitney p=${formatP(rq.mw.p)})`);
    }
  }
  const minCi = minSamplesForMedianCI(level);
  if (rows.some((r) => r.validRuns > 0 && r.validRuns < minCi)) {
    notes.push(
      `medians of fewer than ${minCi} runs have no ${Math.round(level * 100)}% confidence interval; ` +
        'benchstat advises at least 10 runs per variant',
    );
  }
  for (const row of rows) for (const n of row.notes) if (!notes.includes(n)) notes.push(n);
  return { schema: COMPARISON_SCHEMA, schemaVersion: 1, reference, alpha, level, variants: rows, notes };
}

// ---------------------------------------------------------------------------------------------------------------
// Plain-text cells for a renderer (cli-table3, Markdown): strings only, no colour.

function fmtNum(x: number | null, digits = 0): string {
  if (x === null || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function fmtContinuous(c: Continuous, digits = 0): string {
  if (c.median === null) return '–';
  const ci = c.ci ? ` [${fmtNum(c.ci.lo, digits)}, ${fmtNum(c.ci.hi, digits)}]` : '';
  return `${fmtNum(c.median, digits)}${ci}`;
}

export const COMPARISON_COLUMNS = [
  'variant',
  'runs',
  'healthy',
  'livelock',
  'deadlock',
  'stall',
  'other',
  'error',
  'healthy rate [95% CI]',
  'vs ref (outcome)',
  'requests (total)',
  'requests (median)',
  'duration s',
  'req/s',
  'reduction',
  'time to outcome s',
  'time to boot s',
  'top looping PID',
] as const;

/** One row of strings per variant, in {@link COMPARISON_COLUMNS} order. */
export function comparisonCells(c: Comparison): string[][] {
  return c.variants.map((v) => {
    const o = v.outcomes;
    const rate =
      v.healthy.rate === null || !v.healthy.ci
        ? '–'
        : `${(v.healthy.rate * 100).toFixed(0)}% [${(v.healthy.ci.lo * 100).toFixed(0)}, ${(v.healthy.ci.hi * 100).toFixed(0)}]`;
    const top = v.topLoopingPid
      ? `${v.topLoopingPid.pid}${v.topLoopingPid.name ? ` (${v.topLoopingPid.name})` : ''} ×${v.topLoopingPid.runs}`
      : '–';
    return [
      v.isReference ? `${v.name} (ref)` : v.name,
      String(v.runs),
      String(o.healthy),
      String(o.livelock),
      String(o.deadlock),
      String(o.stall),
      String(o.busy + o.inconclusive),
      String(o.error + o.interrupted),
      rate,
      v.vsReference ? v.vsReference.healthy.claim.text : '',
      fmtNum(v.requests.total),
      fmtContinuous(v.requests),
      fmtNum(v.durationSec.total, 1),
      fmtNum(v.ratePerSec, 0),
      v.reductionVsReference === null ? '' : `${(v.reductionVsReference * 100).toFixed(1)}%`,
      fmtContinuous(v.timeToOutcomeSec, 1),
      fmtContinuous(v.timeToBootSec, 1),
      top,
    ];
  });
}
