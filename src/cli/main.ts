/** The command-line entry: yargs wiring and the single place where errors become exit codes. */

import type { CommandModule } from 'yargs';
import { describeError, ExitCode, UsageError } from '../errors.js';
import { STDIN_ARG } from '../io/byte-source.js';
import { version } from '../version.js';
import { type AnalyzeArgs, analyzeOptions, plainAnalyzeArgs, runAnalyze } from './analyze.js';

/**
 * Sub-commands are loaded only when used (or for --help): the default analyze command starts without loading
 * the launcher (execa), the report renderers or the comparison statistics.
 */
const SUBCOMMANDS: Record<string, () => Promise<CommandModule>> = {
  run: async () => (await import('./run.js')).runCommand as unknown as CommandModule,
  compare: async () => (await import('./compare.js')).compareCommand as unknown as CommandModule,
  report: async () => (await import('./report.js')).reportCommand as unknown as CommandModule,
  gate: async () => (await import('./gate.js')).gateCommand as unknown as CommandModule,
};

async function subcommandsFor(argv: string[]): Promise<CommandModule[]> {
  const first = argv[0];
  if (first !== undefined && first in SUBCOMMANDS) return [await SUBCOMMANDS[first]()];
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  return wantsHelp ? Promise.all(Object.values(SUBCOMMANDS).map((load) => load())) : [];
}

const EPILOG = `Exit codes: 0 analysed (run: the schedule ran, also when it killed leftovers; one line says
what); 1 a --fail-on verdict matched, or gate found a regression; 2 usage error or unreadable input;
3 input not usable (empty, binary, not a virtiofsd debug log); 4 internal error; 5 run: every run
ended in an error (launch failed, or the VM crashed before its goal); 6 an output could not be written
(no space, read-only, permission, not a regular file); 130 interrupted (run: also SIGTERM, SIGHUP).
Docs: README.md (JSON schema, formats, exit codes).`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  // `vfs-analyze LOG [--json]`, the command most runs are, starts its analysis without loading yargs (~0.1 s)
  const plain = plainAnalyzeArgs(argv);
  if (plain !== null && !Object.hasOwn(SUBCOMMANDS, plain.logs[0])) return exitCode(() => runAnalyze(plain));
  const { default: yargs } = await import('yargs');
  let code: number = ExitCode.ok;
  const parser = yargs(argv.map((a) => (a === '-' ? STDIN_ARG : a)))
    .scriptName('vfs-analyze')
    .usage(
      '$0 [LOG...] [options]\n\nWhy did my virtiofs-rooted VM hang? Post-mortem of virtiofsd debug logs.',
    )
    .command(
      '$0 [logs..]',
      'analyse virtiofsd debug log(s): verdict, request tables, pairing, rates; --follow a live log',
      (y) =>
        analyzeOptions(y)
          .option('follow', {
            type: 'string',
            describe: 'follow a virtiofsd log that is being written: live view and verdicts (Ctrl-C to stop)',
          })
          .option('timeout', { type: 'number', describe: 'with --follow: stop after this many seconds' }),
      async (a) => {
        if (a.follow !== undefined) {
          if (a.logs.length > 0) throw new UsageError('--follow takes one log: give it as --follow LOG only');
          const { runFollow } = await import('./follow.js');
          code = await runFollow({
            log: a.follow,
            console: a.console,
            journal: a.journal,
            timeout: a.timeout,
            json: a.json,
            progressPattern: a.progressPattern,
          });
          return;
        }
        code = await runAnalyze(a as unknown as AnalyzeArgs);
      },
    )
    .command(await subcommandsFor(argv))
    .example('$0 virtiofsd.log', 'post-mortem of one log')
    .example('$0 --json virtiofsd.log.gz > analysis.json', 'machine-readable output')
    .example('zcat big.log.gz | $0 -', 'read stdin')
    .example('$0 --run-dir DIR', 'virtiofsd log + console + journal of one run, correlated')
    .example('$0 run IMAGE --compare cache=never,metadata --runs 4', 'launch through bcvk and compare')
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
  return exitCode(async () => {
    await parser.parseAsync();
    return code;
  });
}

/** The one place where an error becomes its exit code (and one line on stderr). */
async function exitCode(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    const { code, message } = describeError(err);
    if (message) process.stderr.write(`vfs-analyze: ${message}\n`);
    if (process.env.VFS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    if (code === ExitCode.usage && err instanceof UsageError)
      process.stderr.write('Run vfs-analyze --help for usage.\n');
    return code;
  }
}
