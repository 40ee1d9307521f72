/** `vfs-analyze [LOG...]`: the post-mortem command. Wiring only: options → io → analysis → renderers. */
import type { Argv } from 'yargs';
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';
import { UsageError, type VfsError } from '../errors.js';
import { analyzeInput } from '../io/analyze-input.js';
import { isStdin } from '../io/byte-source.js';
import { Progress } from '../io/progress.js';
import { writeStdout } from '../io/stdout.js';
import type { ForcedFormat } from '../parse/virtiofsd.js';
import { analysisDocument, type InputErrorRecord, renderJson } from '../report/json.js';
import { version } from '../version.js';

export interface AnalyzeArgs {
  logs: string[];
  json: boolean;
  format: ForcedFormat;
  top: number;
  recent: number;
  color?: boolean;
  year?: number;
}

export function analyzeOptions<T>(y: Argv<T>) {
  return y
    .positional('logs', {
      describe: 'virtiofsd debug log(s): plain or .gz, "-" for stdin',
      type: 'string',
      array: true,
      default: [] as string[],
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print one JSON document (schema in README)',
    })
    .option('format', {
      choices: ['auto', 'rust', 'rust-legacy', 'c'] as const,
      default: 'auto' as const,
      describe: 'force the daemon format instead of detecting it per line',
    })
    .option('top', { type: 'number', default: 15, describe: 'rows in the top-N tables' })
    .option('recent', { type: 'number', default: 20, describe: 'requests in the recent-activity table' })
    .option('color', {
      type: 'boolean',
      describe: 'force colour on or off (default: on for a TTY; NO_COLOR honoured)',
    })
    .option('year', { type: 'number', describe: 'year for syslog/journal timestamps that carry none' });
}

export async function runAnalyze(args: AnalyzeArgs): Promise<number> {
  if (args.logs.length === 0) throw new UsageError('no input: give a virtiofsd log file (or "-" for stdin)');
  if (!Number.isInteger(args.top) || args.top < 1) throw new UsageError('--top must be a positive integer');
  if (!Number.isInteger(args.recent) || args.recent < 0) throw new UsageError('--recent must be 0 or more');
  if (args.logs.filter(isStdin).length > 1) throw new UsageError('stdin ("-") can be read only once');
  const progress = new Progress();
  const analyses: InputAnalysis[] = [];
  const errors: InputErrorRecord[] = [];
  let exit = 0;
  for (const log of args.logs) {
    const outcome = await analyzeInput(
      log,
      {
        format: args.format,
        top: Math.max(args.top, 15),
        recent: Math.max(args.recent, 1),
        assumeYear: args.year,
      },
      (f, done, total) => progress.update(f, done, total),
    );
    progress.clear();
    if (outcome.analysis) analyses.push(outcome.analysis);
    if (outcome.error) {
      const e: VfsError = outcome.error;
      errors.push({ file: outcome.file, message: e.message, exitCode: e.exitCode });
      process.stderr.write(`vfs-analyze: ${e.message}\n`);
      exit = Math.max(exit, e.exitCode);
    }
  }
  if (args.json) {
    await writeStdout(renderJson(analysisDocument(version(), analyses, errors)));
  } else {
    // Loaded only for terminal output: --json runs skip cli-table3 and chalk.
    const { makeChalk, terminalWidth } = await import('../io/terminal.js');
    const { renderTerminal } = await import('../report/terminal.js');
    const chalk = makeChalk(process.stdout, args.color);
    const width = terminalWidth(process.stdout);
    const parts = analyses.map((a) =>
      renderTerminal(a, { chalk, top: args.top, recent: args.recent, width }),
    );
    if (parts.length > 0) await writeStdout(parts.join('\n'));
  }
  return exit;
}
