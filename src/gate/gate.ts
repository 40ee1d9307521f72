/**
 * The regression gate (pure): compare current samples (analyses or run records) with a stored baseline.
 *
 * Checks, each `pass`, `regression`, `insufficient` (too few samples to decide, and it says so) or `skipped` (the
 * figure is unknown on one side):
 * - outcome: a hang kind (livelock, deadlock, stall) in the current samples where the baseline had none of that kind
 *   is a regression; where the baseline had some, it is one only if the current rate's 95 % interval lies entirely
 *   above the baseline's;
 * - requests (median per sample), request rate (median of mean requests/s) and time to boot (median): a regression
 *   when the current median exceeds the baseline median by more than the percentage threshold (boot time also by
 *   more than an absolute number of seconds, to ignore jitter on short boots).
 *
 * The overall status is `regression` if any check regressed, else `insufficient` if any check could not decide for
 * lack of samples, else `pass`. The CLI maps it to an exit code (0 pass / 1 regression; insufficient is reported).
 */

import type { RunRecord } from '../launch/run-record.js';
import { bootSeconds, isProblem, median, PROBLEM_KINDS, type ReportInput, wilson } from '../report/model.js';
import type { VerdictKind } from '../verdict/types.js';
import { OUTCOME_KINDS } from '../verdict/types.js';

export const BASELINE_SCHEMA = 'vfs-analyze.baseline';
export const BASELINE_SCHEMA_VERSION = 1;

/** One analysed boot, reduced to the figures the gate compares. */
export interface GateSample {
  /** Where it came from (file name or run id). */
  id: string;
  /** Verdict kind; `null` when no verdict was computed (the outcome check then has nothing to count). */
  outcome: VerdictKind | 'error' | null;
  requests: number;
  ratePerSec: number;
  /** Seconds to the guest's "booted" milestone; null when unknown or never reached. */
  bootSec: number | null;
}

export interface GateThresholds {
  /** Regression when current median requests exceed the baseline's by more than this percentage. */
  requestsPct: number;
  /** Same for the median of mean requests/s. */
  ratePct: number;
  /** Same for the median time to boot … */
  bootPct: number;
  /** … and by more than this many seconds. */
  bootAbsSec: number;
  /** Fewest samples on EACH side before a request/rate/boot regression is called. */
  minSamples: number;
  /** Fewest samples on EACH side before an outcome regression is called. */
  minOutcomeSamples: number;
}

export const DEFAULT_THRESHOLDS: GateThresholds = {
  requestsPct: 50,
  ratePct: 50,
  bootPct: 25,
  bootAbsSec: 2,
  minSamples: 3,
  minOutcomeSamples: 1,
};

export interface Baseline {
  schema: typeof BASELINE_SCHEMA;
  schemaVersion: typeof BASELINE_SCHEMA_VERSION;
  tool: { name: 'vfs-analyze'; version: string };
  /** ISO 8601 time the baseline was written. */
  createdAt: string;
  samples: GateSample[];
  /** Thresholds stored with the baseline; command-line values override them. */
  thresholds?: Partial<GateThresholds>;
}

export type CheckStatus = 'pass' | 'regression' | 'insufficient' | 'skipped';
export type GateStatus = 'pass' | 'regression' | 'insufficient';

export interface GateCheck {
  name: 'outcome' | 'requests' | 'rate' | 'boot';
  status: CheckStatus;
  /** One sentence for people and CI logs. */
  reason: string;
  baseline?: number | null;
  current?: number | null;
  /** Relative change of the current value against the baseline, in percent. */
  changePct?: number | null;
}

export interface GateResult {
  status: GateStatus;
  checks: GateCheck[];
  /** The reasons of the checks that decided the status (regressions, or insufficient ones), else all reasons. */
  reasons: string[];
  samples: { baseline: number; current: number };
  thresholds: GateThresholds;
}

/** The gate's view of one analysed input (verdict and milestones are optional). */
export function sampleFromInput(input: ReportInput): GateSample {
  return {
    id: input.file,
    outcome: input.verdict?.kind ?? (input.binary ? 'error' : null),
    requests: input.totals.requests,
    ratePerSec: input.rate.meanPerSec,
    bootSec: bootSeconds(input),
  };
}

/** The gate's view of one run record: `interrupted` counts like `error` (not a sample of the variant). */
export function sampleFromRunRecord(r: RunRecord): GateSample {
  const kind = r.outcome.kind;
  return {
    id: r.id,
    outcome: kind === 'interrupted' ? 'error' : kind,
    requests: r.totals.requests,
    ratePerSec: r.totals.ratePerSec,
    bootSec: kind === 'healthy' ? r.timeToOutcomeSec : null,
  };
}

/** A baseline document from analysed inputs (`--update-baseline`); `createdAt` is passed in to keep this pure. */
export function baselineFromAnalyses(
  inputs: ReportInput[],
  opts: { version: string; createdAt: string; thresholds?: Partial<GateThresholds> },
): Baseline {
  return baselineFromSamples(inputs.map(sampleFromInput), opts);
}

export function baselineFromSamples(
  samples: GateSample[],
  opts: { version: string; createdAt: string; thresholds?: Partial<GateThresholds> },
): Baseline {
  return {
    schema: BASELINE_SCHEMA,
    schemaVersion: BASELINE_SCHEMA_VERSION,
    tool: { name: 'vfs-analyze', version: opts.version },
    createdAt: opts.createdAt,
    samples: samples.map((s) => ({ ...s })),
    ...(opts.thresholds ? { thresholds: { ...opts.thresholds } } : {}),
  };
}

/** Thrown by {@link parseBaseline}: the CLI turns it into a usage error (exit 2). */
export class BaselineFormatError extends Error {
  override readonly name = 'BaselineFormatError';
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const OUTCOMES = new Set<string>(OUTCOME_KINDS);
const THRESHOLD_KEYS = Object.keys(DEFAULT_THRESHOLDS) as (keyof GateThresholds)[];

/** Validate a parsed baseline JSON document; throws {@link BaselineFormatError} with the first problem found. */
export function parseBaseline(json: unknown): Baseline {
  const fail = (m: string): never => {
    throw new BaselineFormatError(`not a vfs-analyze baseline: ${m}`);
  };
  if (!isObj(json)) return fail('not a JSON object');
  if (json.schema !== BASELINE_SCHEMA)
    return fail(`schema is ${JSON.stringify(json.schema)}, expected "${BASELINE_SCHEMA}"`);
  if (json.schemaVersion !== BASELINE_SCHEMA_VERSION) {
    return fail(
      `unsupported schemaVersion ${JSON.stringify(json.schemaVersion)} (this version reads ${BASELINE_SCHEMA_VERSION})`,
    );
  }
  if (!Array.isArray(json.samples)) return fail('"samples" is not an array');
  const samples: GateSample[] = json.samples.map((s: unknown, i: number) => {
    if (!isObj(s)) return fail(`samples[${i}] is not an object`);
    const num = (k: string) =>
      typeof s[k] === 'number' && Number.isFinite(s[k])
        ? (s[k] as number)
        : fail(`samples[${i}].${k} is not a number`);
    const outcome = s.outcome;
    if (outcome !== null && !(typeof outcome === 'string' && OUTCOMES.has(outcome))) {
      fail(`samples[${i}].outcome ${JSON.stringify(outcome)} is not a verdict kind`);
    }
    const boot = s.bootSec;
    if (boot !== null && boot !== undefined && !(typeof boot === 'number' && Number.isFinite(boot))) {
      fail(`samples[${i}].bootSec is not a number or null`);
    }
    return {
      id: typeof s.id === 'string' ? s.id : `sample ${i + 1}`,
      outcome: outcome as GateSample['outcome'],
      requests: num('requests'),
      ratePerSec: num('ratePerSec'),
      bootSec: typeof boot === 'number' ? boot : null,
    };
  });
  let thresholds: Partial<GateThresholds> | undefined;
  if (json.thresholds !== undefined) {
    if (!isObj(json.thresholds)) return fail('"thresholds" is not an object');
    thresholds = {};
    for (const k of THRESHOLD_KEYS) {
      const v = json.thresholds[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        fail(`thresholds.${k} is not a non-negative number`);
      thresholds[k] = v as number;
    }
  }
  const tool = isObj(json.tool) && typeof json.tool.version === 'string' ? json.tool.version : 'unknown';
  return {
    schema: BASELINE_SCHEMA,
    schemaVersion: BASELINE_SCHEMA_VERSION,
    tool: { name: 'vfs-analyze', version: tool },
    createdAt: typeof json.createdAt === 'string' ? json.createdAt : '',
    samples,
    ...(thresholds ? { thresholds } : {}),
  };
}

function fmt(v: number, digits = 1): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function pctChange(base: number, cur: number): number | null {
  if (base === 0) return cur === 0 ? 0 : null;
  return ((cur - base) / base) * 100;
}

function outcomeCheck(base: GateSample[], cur: GateSample[], th: GateThresholds): GateCheck {
  const b = base.filter((s) => s.outcome !== null && s.outcome !== 'error');
  const c = cur.filter((s) => s.outcome !== null && s.outcome !== 'error');
  if (b.length === 0 || c.length === 0) {
    return {
      name: 'outcome',
      status: 'skipped',
      reason: `outcome not compared: no verdicts in the ${b.length === 0 ? 'baseline' : 'current'} samples`,
    };
  }
  if (b.length < th.minOutcomeSamples || c.length < th.minOutcomeSamples) {
    return {
      name: 'outcome',
      status: 'insufficient',
      reason: `outcome not judged: ${b.length} baseline and ${c.length} current sample(s) with a verdict, fewer than the minimum ${th.minOutcomeSamples}`,
    };
  }
  const regressions: string[] = [];
  for (const kind of PROBLEM_KINDS) {
    const kb = b.filter((s) => s.outcome === kind).length;
    const kc = c.filter((s) => s.outcome === kind).length;
    if (kc === 0) continue;
    if (kb === 0) {
      regressions.push(
        `${kind} in ${kc} of ${c.length} current sample(s), none in ${b.length} baseline sample(s)`,
      );
      continue;
    }
    const wb = wilson(kb, b.length);
    const wc = wilson(kc, c.length);
    if (wc.low > wb.high) {
      regressions.push(
        `${kind} rate ${fmt(wc.rate * 100)}% (${kc}/${c.length}) vs baseline ${fmt(wb.rate * 100)}% (${kb}/${b.length}), 95% intervals apart`,
      );
    }
  }
  const hungB = b.filter((s) => isProblem(s.outcome)).length;
  const hungC = c.filter((s) => isProblem(s.outcome)).length;
  if (regressions.length > 0) {
    return {
      name: 'outcome',
      status: 'regression',
      reason: regressions.join('; '),
      baseline: hungB,
      current: hungC,
    };
  }
  return {
    name: 'outcome',
    status: 'pass',
    reason: `outcome: ${hungC} of ${c.length} current sample(s) hung, baseline ${hungB} of ${b.length}`,
    baseline: hungB,
    current: hungC,
  };
}

function metricCheck(
  name: 'requests' | 'rate' | 'boot',
  label: string,
  unit: string,
  base: (number | null)[],
  cur: (number | null)[],
  limitPct: number,
  th: GateThresholds,
  absMin = 0,
): GateCheck {
  const bv = base.filter((v): v is number => v !== null);
  const cv = cur.filter((v): v is number => v !== null);
  if (bv.length === 0 || cv.length === 0) {
    return {
      name,
      status: 'skipped',
      reason: `${label} not compared: unknown in the ${bv.length === 0 ? 'baseline' : 'current'} samples`,
    };
  }
  const mb = median(bv) as number;
  const mc = median(cv) as number;
  const change = pctChange(mb, mc);
  const desc = `${label} median ${fmt(mc)}${unit} vs baseline ${fmt(mb)}${unit}${change === null ? '' : ` (${change >= 0 ? '+' : ''}${fmt(change)}%)`}`;
  const exceeds = (change === null || change > limitPct) && mc - mb > absMin;
  if (bv.length < th.minSamples || cv.length < th.minSamples) {
    return {
      name,
      status: 'insufficient',
      reason: `${desc}: not judged, ${bv.length} baseline and ${cv.length} current sample(s), fewer than the minimum ${th.minSamples}${exceeds ? ' (it would exceed the threshold)' : ''}`,
      baseline: mb,
      current: mc,
      changePct: change,
    };
  }
  return {
    name,
    status: exceeds ? 'regression' : 'pass',
    reason: `${desc}${exceeds ? `, above the +${fmt(limitPct)}% threshold` : `, within +${fmt(limitPct)}%`}`,
    baseline: mb,
    current: mc,
    changePct: change,
  };
}

/** Compare current samples with a baseline. `thresholds` override the baseline's stored ones, which override defaults. */
export function runGate(
  baseline: Baseline,
  current: GateSample[],
  thresholds: Partial<GateThresholds> = {},
): GateResult {
  const th: GateThresholds = { ...DEFAULT_THRESHOLDS, ...baseline.thresholds, ...thresholds };
  const base = baseline.samples;
  const checks: GateCheck[] = [];
  if (base.length === 0 || current.length === 0) {
    const reason = `nothing to compare: ${base.length} baseline and ${current.length} current sample(s)`;
    return {
      status: 'insufficient',
      checks: [{ name: 'outcome', status: 'insufficient', reason }],
      reasons: [reason],
      samples: { baseline: base.length, current: current.length },
      thresholds: th,
    };
  }
  const valid = (ss: GateSample[]) => ss.filter((s) => s.outcome !== 'error');
  const vb = valid(base);
  const vc = valid(current);
  checks.push(outcomeCheck(base, current, th));
  checks.push(
    metricCheck(
      'requests',
      'requests',
      '',
      vb.map((s) => s.requests),
      vc.map((s) => s.requests),
      th.requestsPct,
      th,
    ),
  );
  checks.push(
    metricCheck(
      'rate',
      'requests/s',
      '/s',
      vb.map((s) => s.ratePerSec),
      vc.map((s) => s.ratePerSec),
      th.ratePct,
      th,
    ),
  );
  checks.push(
    metricCheck(
      'boot',
      'time to boot',
      ' s',
      vb.map((s) => s.bootSec),
      vc.map((s) => s.bootSec),
      th.bootPct,
      th,
      th.bootAbsSec,
    ),
  );
  const status: GateStatus = checks.some((c) => c.status === 'regression')
    ? 'regression'
    : checks.some((c) => c.status === 'insufficient')
      ? 'insufficient'
      : 'pass';
  const deciding = checks.filter((c) => c.status === status);
  return {
    status,
    checks,
    reasons: (deciding.length > 0 ? deciding : checks).map((c) => c.reason),
    samples: { baseline: base.length, current: current.length },
    thresholds: th,
  };
}

/** Plain-text report of a gate result for the terminal / CI log. */
export function formatGateResult(r: GateResult): string {
  const head =
    r.status === 'pass'
      ? 'gate: PASS'
      : r.status === 'regression'
        ? 'gate: REGRESSION'
        : 'gate: INSUFFICIENT SAMPLES (no regression called)';
  const lines = [`${head} (${r.samples.current} current vs ${r.samples.baseline} baseline sample(s))`];
  for (const c of r.checks) lines.push(`  ${c.status.padEnd(12)} ${c.reason}`);
  return `${lines.join('\n')}\n`;
}
