/**
 * `vfs-analyze gate --baseline reports/baseline.json CURRENT...`: the regression gate for CI. CURRENT: analysis JSON
 * files, run folders / run.json, folders of runs, or raw virtiofsd logs (analysed here, with a verdict). Exit 0 pass
 * (also "insufficient samples" unless --strict), 1 regression, 2 usage or a missing/invalid baseline.
 * `--update-baseline` writes the baseline from the current samples instead (atomically). Wiring only.
 */
import { readFile } from 'node:fs/promises';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { FailOnError, fsError, InputError, UsageError } from '../errors.js';
import {
  BaselineFormatError,
  baselineFromSamples,
  formatGateResult,
  type GateSample,
  type GateThresholds,
  parseBaseline,
  runGate,
  sampleFromInput,
  sampleFromRunRecord,
} from '../gate/gate.js';
import { analyzeInput } from '../io/analyze-input.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isStdin } from '../io/byte-source.js';
import { loadResultPath } from '../io/load-results.js';
import { reportDocument } from '../io/report-output.js';
import { writeStdout } from '../io/stdout.js';
import { renderJson } from '../report/json.js';
import type { ReportInput } from '../report/model.js';
import { AnalysisSession } from '../session/analysis-session.js';
import { version } from '../version.js';

export const DEFAULT_BASELINE = 'reports/baseline.json';

export interface GateArgs {
  current: string[];
  baseline: string;
  updateBaseline: boolean;
  minSamples?: number;
  maxRequestsIncrease?: number;
  maxRateIncrease?: number;
  maxBootIncrease?: number;
  strict: boolean;
  json: boolean;
  year?: number;
}

function gateOptions<T>(y: Argv<T>) {
  return y
    .positional('current', {
      describe: 'current samples: analysis JSON, run folder / run.json, folder of runs, or virtiofsd log',
      type: 'string',
      array: true,
      default: [] as string[],
    })
    .option('baseline', {
      type: 'string',
      default: DEFAULT_BASELINE,
      describe: 'baseline JSON to compare with (or to write with --update-baseline)',
    })
    .option('update-baseline', {
      type: 'boolean',
      default: false,
      describe: 'write the baseline from the current samples (atomically) instead of gating; exits 0',
    })
    .option('min-samples', {
      type: 'number',
      describe: 'fewest samples on each side before a requests/rate/boot regression is called (default 3)',
    })
    .option('max-requests-increase', {
      type: 'number',
      describe: 'regression when median requests grow by more than PCT percent (default 50)',
    })
    .option('max-rate-increase', {
      type: 'number',
      describe: 'regression when median requests/s grows by more than PCT percent (default 50)',
    })
    .option('max-boot-increase', {
      type: 'number',
      describe: 'regression when median time to boot grows by more than PCT percent (default 25, and > 2 s)',
    })
    .option('strict', {
      type: 'boolean',
      default: false,
      describe: 'fail (exit 1) when there are too few samples to decide',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print the gate result as JSON' })
    .option('year', { type: 'number', describe: 'year for syslog/journal timestamps in raw logs' })
    .example('$0 gate --baseline reports/baseline.json run1.json run2.json run3.json', 'gate three analyses')
    .example('$0 gate --update-baseline reports/runs', 'store the current runs as the baseline');
}

/** Command-line thresholds (only those given), validated. */
export function thresholdOverrides(args: GateArgs): Partial<GateThresholds> {
  const out: Partial<GateThresholds> = {};
  const pct = (v: number | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${flag} must be a percentage ≥ 0`);
    return v;
  };
  if (args.minSamples !== undefined) {
    if (!Number.isInteger(args.minSamples) || args.minSamples < 1)
      throw new UsageError('--min-samples must be a positive integer');
    out.minSamples = args.minSamples;
  }
  const r = pct(args.maxRequestsIncrease, 'max-requests-increase');
  if (r !== undefined) out.requestsPct = r;
  const q = pct(args.maxRateIncrease, 'max-rate-increase');
  if (q !== undefined) out.ratePct = q;
  const b = pct(args.maxBootIncrease, 'max-boot-increase');
  if (b !== undefined) out.bootPct = b;
  return out;
}

/** Read and validate the baseline; every problem is one line, exit 2 (not followed by the usage hint). */
export async function readBaseline(path: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = fsError(path, err);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InputError(path, 'baseline not found (create it with --update-baseline)');
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `baseline is not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseBaseline(json);
  } catch (err) {
    if (err instanceof BaselineFormatError) throw new InputError(path, err.message);
    throw err;
  }
}

/** Analyse a raw virtiofsd log with a verdict (host-only) and reduce it to a gate sample. */
async function sampleFromLog(path: string, year: number | undefined): Promise<GateSample> {
  const session = new AnalysisSession({ files: { virtiofsd: path }, evidenceFiles: {} });
  const events = {
    sink: session.events,
    restart: () => session.restartEvents(),
    warmUp: () => session.warmUp(),
  };
  const outcome = await analyzeInput(path, { events, assumeYear: year });
  if (!outcome.analysis) throw outcome.error ?? new InputError(path, 'nothing to analyse');
  if (outcome.error) process.stderr.write(`vfs-analyze: warning: ${outcome.error.message}\n`);
  const input: ReportInput = { ...outcome.analysis };
  const { verdict } = session.postMortem(outcome.analysis, { withVerdict: true, hasGuest: false });
  if (verdict) input.verdict = verdict;
  return sampleFromInput(input);
}

/** Every current path → gate samples (analysis documents give one per input). */
export async function collectSamples(paths: readonly string[], year?: number): Promise<GateSample[]> {
  const samples: GateSample[] = [];
  for (const p of paths) {
    if (isStdin(p)) {
      samples.push(await sampleFromLog(p, year));
      continue;
    }
    for (const item of await loadResultPath(p)) {
      switch (item.kind) {
        case 'analysis': {
          const doc = reportDocument(item.doc);
          for (const input of doc.inputs)
            samples.push({ ...sampleFromInput(input), id: `${item.path}: ${input.file}` });
          for (const e of doc.errors)
            samples.push({
              id: `${item.path}: ${e.file}`,
              outcome: 'error',
              requests: 0,
              ratePerSec: 0,
              bootSec: null,
            });
          break;
        }
        case 'run':
          samples.push(sampleFromRunRecord(item.record));
          break;
        case 'log':
          samples.push(await sampleFromLog(item.path, year));
          break;
        case 'comparison':
          throw new InputError(
            item.path,
            'a comparison document: give the run records (the folder of runs) instead',
          );
        case 'baseline':
          throw new InputError(
            item.path,
            'a baseline: give it with --baseline, and current samples as arguments',
          );
      }
    }
  }
  return samples;
}

export async function runGateCommand(args: GateArgs): Promise<number> {
  const overrides = thresholdOverrides(args);
  if (args.current.length === 0)
    throw new UsageError('no current samples: give analysis JSON files, run folders or virtiofsd logs');
  if (args.baseline === '' || isStdin(args.baseline)) throw new UsageError('--baseline needs a file path');

  if (args.updateBaseline) {
    const samples = await collectSamples(args.current, args.year);
    if (samples.length === 0)
      throw new UsageError('no samples found in the current inputs: baseline not written');
    const baseline = baselineFromSamples(samples, {
      version: version(),
      createdAt: new Date().toISOString(),
      ...(Object.keys(overrides).length > 0 ? { thresholds: overrides } : {}),
    });
    await writeFileAtomic(args.baseline, renderJson(baseline), { mkdirs: true });
    const line = `gate: baseline written to ${args.baseline} (${samples.length} sample(s))`;
    if (args.json)
      await writeStdout(renderJson({ status: 'baseline-updated', path: args.baseline, baseline }));
    else await writeStdout(`${line}\n`);
    return 0;
  }

  const baseline = await readBaseline(args.baseline);
  const samples = await collectSamples(args.current, args.year);
  const result = runGate(baseline, samples, overrides);
  const note =
    result.status === 'insufficient'
      ? args.strict
        ? 'too few samples to decide, and --strict is set: failing'
        : 'too few samples to decide: passing without a verdict (add samples, lower --min-samples, or use --strict to fail)'
      : null;
  if (args.json) {
    await writeStdout(
      renderJson({
        ...result,
        pass: result.status === 'pass' || (result.status === 'insufficient' && !args.strict),
        ...(note ? { note } : {}),
        baseline: { path: args.baseline, createdAt: baseline.createdAt, samples: baseline.samples.length },
        current: samples,
      }),
    );
  } else {
    await writeStdout(`${formatGateResult(result)}${note ? `  note: ${note}\n` : ''}`);
  }
  if (result.status === 'regression') {
    const reason = result.reasons[0] ?? 'regression';
    throw new FailOnError(
      `gate: regression: ${reason}${result.reasons.length > 1 ? ` (+${result.reasons.length - 1} more)` : ''}`,
    );
  }
  if (result.status === 'insufficient' && args.strict) {
    throw new FailOnError(`gate: insufficient samples (--strict): ${result.reasons[0] ?? ''}`);
  }
  return 0;
}

export const gateCommand: CommandModule<object, GateArgs> = {
  command: 'gate [current..]',
  describe:
    'regression gate: compare current analyses/runs with a stored baseline (exit 0 pass, 1 regression)',
  builder: (y) => gateOptions(y) as unknown as Argv<GateArgs>,
  handler: async (a: ArgumentsCamelCase<GateArgs>) => {
    await runGateCommand(a);
  },
};
