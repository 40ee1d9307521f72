/** The command-line entry: yargs wiring and the single place where errors become exit codes. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError, ExitCode, UsageError } from '../errors.js';
import { STDIN_ARG } from '../io/byte-source.js';
import { version } from '../version.js';
import { type AnalyzeArgs, analyzeOptions, runAnalyze } from './analyze.js';
import { gateCommand } from './gate.js';
import { reportCommand } from './report.js';

const EPILOG = `Exit codes: 0 analysed; 1 a --fail-on condition held; 2 usage error or unreadable input;
3 input not usable (empty, binary, not a virtiofsd debug log); 4 internal error; 130 interrupted.
Docs: README.md (JSON schema, formats).`;

export async function main(argv: string[] = hideBin(process.argv)): Promise<number> {
  let code: number = ExitCode.ok;
  const parser = yargs(argv.map((a) => (a === '-' ? STDIN_ARG : a)))
    .scriptName('vfs-analyze')
    .usage(
      '$0 [LOG...] [options]\n\nWhy did my virtiofs-rooted VM hang? Post-mortem of virtiofsd debug logs.',
    )
    .command(
      '$0 [logs..]',
      'analyse virtiofsd debug log(s): request tables, pairing, rates',
      (y) => analyzeOptions(y),
      async (a) => {
        code = await runAnalyze(a as unknown as AnalyzeArgs);
      },
    )
    .command(reportCommand)
    .command(gateCommand)
    .example('$0 virtiofsd.log', 'post-mortem of one log')
    .example('$0 --json virtiofsd.log.gz > analysis.json', 'machine-readable output')
    .example('zcat big.log.gz | $0 -', 'read stdin')
    .strict()
    .epilog(EPILOG)
    .version(version())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 80))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    const { code: c, message } = describeError(err);
    if (message) process.stderr.write(`vfs-analyze: ${message}\n`);
    if (process.env.VFS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    if (c === ExitCode.usage && err instanceof UsageError)
      process.stderr.write('Run vfs-analyze --help for usage.\n');
    return c;
  }
  return code;
}
