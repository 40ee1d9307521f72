/**
 * `vfs-analyze compare PATH... [--reference VARIANT|RUN] [--json]`: the comparison table recomputed from saved run
 * records (a record.json, a run folder, `reports/runs`, or a reports folder), without relaunching anything.
 * Also home of the terminal rendering of a comparison, shared with `vfs-analyze run`.
 */

import { basename } from 'node:path';
import Table from 'cli-table3';
import type { Argv, CommandModule } from 'yargs';
import { COMPARISON_COLUMNS, type Comparison, compareRuns, comparisonCells } from '../compare/comparison.js';
import { fsError, UnusableInputError, UsageError } from '../errors.js';
import { checkReportSpecs, describeWritten, writeComparisonReports } from '../io/report-output.js';
import { writeStdout } from '../io/stdout.js';
import { loadRunRecords } from '../launch/records.js';
import type { RunRecord } from '../launch/run-record.js';
import { renderJson } from '../report/json.js';

export interface CompareArgs {
  paths: string[];
  reference?: string;
  json: boolean;
  report?: string[];
}

/**
 * The comparison as text: one column per variant (a transposed table reads at 80 columns with a few variants),
 * then the notes. Plain text, no colour: identical from `run` and from `compare` on the same records.
 */
export function renderComparison(c: Comparison): string {
  if (c.variants.length === 0) return 'no runs\n';
  const cells = comparisonCells(c);
  const t = new Table({
    head: ['', ...cells.map((row) => row[0])],
    style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
    wordWrap: true,
    colWidths: [22, ...cells.map(() => Math.max(14, Math.min(40, Math.floor(90 / cells.length))))],
  });
  for (let i = 1; i < COMPARISON_COLUMNS.length; i++) {
    t.push([COMPARISON_COLUMNS[i], ...cells.map((row) => row[i])]);
  }
  const notes = c.notes.map((n) => `- ${n}`).join('\n');
  return `${t.toString()}\n${notes ? `\n${notes}\n` : ''}`;
}

/** `--reference`: a variant name, or a run (id, folder or record path) whose variant becomes the reference. */
export function resolveReference(
  records: readonly { record: RunRecord; path: string }[],
  ref: string | undefined,
): string | undefined {
  if (ref === undefined) return undefined;
  const variants = [...new Set(records.map((r) => r.record.variant.name))];
  if (variants.includes(ref)) return ref;
  const key = basename(ref.replace(/\/+$/, ''));
  const run = records.find(
    (r) => r.record.id === ref || r.record.id === key || r.path === ref || basename(r.path, '.json') === key,
  );
  if (run) return run.record.variant.name;
  throw new UsageError(
    `--reference ${ref}: neither a variant (${variants.join(', ')}) nor one of the runs given`,
  );
}

export function compareOptions<T>(y: Argv<T>) {
  return y
    .positional('paths', {
      describe: 'run folders (reports/runs/<id>), record.json files, reports/runs, or a reports folder',
      type: 'string',
      array: true,
      demandOption: true,
    })
    .option('reference', {
      type: 'string',
      describe: 'reference variant (default: the first), or a saved run whose variant is the reference',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print the comparison as JSON' })
    .option('report', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'also write a report FORMAT[=PATH]: html, md, junit, json (repeatable)',
    });
}

export async function runCompare(args: CompareArgs): Promise<number> {
  if (args.paths.length === 0) throw new UsageError('compare: give run folders or a reports folder');
  checkReportSpecs(args.report ?? [], { stdoutInUse: true });
  let loaded: Awaited<ReturnType<typeof loadRunRecords>>;
  try {
    loaded = await loadRunRecords(args.paths);
  } catch (e) {
    const path = (e as NodeJS.ErrnoException).path ?? args.paths.join(' ');
    throw fsError(path, e);
  }
  for (const p of loaded.problems) process.stderr.write(`vfs-analyze: ${p.path}: ${p.message}\n`);
  if (loaded.records.length === 0) {
    throw new UnusableInputError(args.paths.join(' '), 'no run records (record.json) found');
  }
  const reference = resolveReference(loaded.records, args.reference);
  const comparison = compareRuns(
    loaded.records.map((r) => r.record),
    reference === undefined ? {} : { reference },
  );
  await writeStdout(args.json ? renderJson(comparison) : renderComparison(comparison));
  if (args.report && args.report.length > 0) {
    const written = await writeComparisonReports(
      { records: loaded.records.map((r) => r.record), comparison },
      args.report,
      { stdoutInUse: true },
    );
    process.stderr.write(describeWritten(written));
  }
  return loaded.problems.length > 0 ? 3 : 0;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <paths..>',
  describe: 'recompute the comparison table from saved run records (no relaunch)',
  builder: (y) => compareOptions(y) as unknown as Argv<CompareArgs>,
  handler: async (a) => {
    const code = await runCompare(a);
    if (code !== 0) throw new UnusableInputError(a.paths.join(' '), 'some run records could not be read');
  },
};
