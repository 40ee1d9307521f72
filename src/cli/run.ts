/**
 * `vfs-analyze run IMAGE --compare cache=never,metadata [--runs N] ...`: launch bcvk once per scheduled run
 * (interleaved), judge each run live, stop it as soon as the outcome is known, save `reports/runs/<id>/`, and print
 * the comparison. Wiring only: options → validation (before anything starts) → src/launch/runner.ts.
 */

import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { compareRuns } from '../compare/comparison.js';
import { LaunchError, UsageError } from '../errors.js';
import { checkReportSpecs, describeWritten, writeComparisonReports } from '../io/report-output.js';
import { writeStdout } from '../io/stdout.js';
import { ExperimentInterrupted, type ExperimentResult, runExperiment } from '../launch/runner.js';
import { probe } from '../launch/supervise.js';
import { interleave, parseCompare, parseMitigation, parseMitigationValue } from '../launch/variants.js';
import { renderJson } from '../report/json.js';
import { renderComparison } from './compare.js';
import { parsePatterns, parseThresholds, readConfig } from './verdict-options.js';

export interface RunArgs {
  image: string;
  compare: string[];
  mitigate: string[];
  runs: number;
  timeout: number;
  bcvk: string;
  podman: string;
  virtiofsd?: string;
  karg: string[];
  execute: string[];
  bcvkArg: string[];
  progressPattern: string[];
  reports: string;
  workDir: string;
  grace: number;
  json: boolean;
  pollMs: number;
  keepWork: boolean;
  threshold: string[];
  config?: string;
  report: string[];
  probe: boolean;
}

/** The guest probe shipped with the package (probe/vfs-probe.sh). */
const PROBE_SCRIPT = new URL('../../probe/vfs-probe.sh', import.meta.url);

/** bcvk's own search order for virtiofsd (bcvk-contract §3). */
export const VIRTIOFSD_SEARCH = [
  '/usr/libexec/virtiofsd',
  '/usr/bin/virtiofsd',
  '/usr/local/bin/virtiofsd',
  '/usr/lib/virtiofsd',
];

async function executable(p: string): Promise<boolean> {
  return access(p, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * The real virtiofsd as an argv prefix: `--virtiofsd PATH`, else `VFS_REAL_VIRTIOFSD` (a path, or a JSON array such
 * as `["/lib/ld-linux.so","--library-path","/lib","/usr/libexec/virtiofsd"]`), else `VIRTIOFSD_BIN`, else bcvk's
 * search list.
 */
export async function resolveRealVirtiofsd(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  let argv: string[] | null = null;
  let from = '';
  if (flag !== undefined && flag !== '') {
    argv = [flag];
    from = '--virtiofsd';
  } else if (env.VFS_REAL_VIRTIOFSD) {
    const v = env.VFS_REAL_VIRTIOFSD.trim();
    from = 'VFS_REAL_VIRTIOFSD';
    if (v.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        throw new UsageError('VFS_REAL_VIRTIOFSD: not a JSON array of strings');
      }
      if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === 'string')) {
        throw new UsageError('VFS_REAL_VIRTIOFSD: expected a non-empty JSON array of strings');
      }
      argv = parsed as string[];
    } else argv = [v];
  } else if (env.VIRTIOFSD_BIN) {
    argv = [env.VIRTIOFSD_BIN];
    from = 'VIRTIOFSD_BIN';
  } else {
    for (const p of VIRTIOFSD_SEARCH) {
      if (await executable(p)) return [p];
    }
    throw new UsageError(
      `virtiofsd not found (searched ${VIRTIOFSD_SEARCH.join(', ')}); give the real binary with --virtiofsd PATH`,
    );
  }
  argv[0] = resolve(argv[0]);
  if (!(await executable(argv[0]))) throw new UsageError(`${from}: ${argv[0]} is not an executable file`);
  return argv;
}

export function runOptions<T>(y: Argv<T>) {
  return y
    .positional('image', {
      type: 'string',
      describe: 'bootc container image (bcvk runs it with --pull=never)',
      demandOption: true,
    })
    .option('compare', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'one dimension KEY=V1,V2 (cache, threads, karg, journal, bcvk); repeat for a matrix',
    })
    .option('mitigate', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'a mitigation KEY=VALUE applied to every variant',
    })
    .option('runs', { type: 'number', default: 1, describe: 'runs per variant, interleaved (A B A B …)' })
    .option('timeout', {
      type: 'number',
      default: 300,
      describe: 'seconds per run (bcvk has no boot timeout)',
    })
    .option('bcvk', { type: 'string', default: 'bcvk', describe: 'bcvk program' })
    .option('podman', {
      type: 'string',
      default: 'podman',
      describe: 'podman program (for rm -f after each run)',
    })
    .option('virtiofsd', {
      type: 'string',
      describe: "the real virtiofsd (default: VFS_REAL_VIRTIOFSD, VIRTIOFSD_BIN, then bcvk's search list)",
    })
    .option('karg', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'kernel argument for every run',
    })
    .option('execute', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'bcvk --execute command; the goal becomes its end (power-off)',
    })
    .option('bcvk-arg', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'extra bcvk option for every run, one token (e.g. --memory=2G)',
    })
    .option('progress-pattern', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'regular expression for guest lines that count as progress and as the goal',
    })
    .option('reports', { type: 'string', default: 'reports', describe: 'folder for runs/<id>/' })
    .option('work-dir', {
      type: 'string',
      default: '/var/tmp',
      describe: "host folder bcvk's container sees, for the virtiofsd wrapper and its log",
    })
    .option('grace', {
      type: 'number',
      default: 5,
      describe:
        'seconds between SIGTERM and SIGKILL of bcvk, and for what it started to end before it is SIGKILLed (named on stderr)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print runs and comparison as JSON' })
    .option('threshold', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'verdict threshold NAME=VALUE for the live verdicts (repeatable; see README)',
    })
    .option('config', {
      type: 'string',
      describe: 'JSON config file: {"thresholds": {...}, "progressPatterns": [...]}',
    })
    .option('probe', {
      type: 'boolean',
      default: false,
      describe:
        'inject the guest probe (probe/vfs-probe.sh) as a systemd unit: names every PID, shows CPU and syscalls',
    })
    .option('report', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'also write a comparison report FORMAT[=PATH]: html, md, junit, json (repeatable)',
    })
    .option('poll-ms', { type: 'number', default: 1000, hidden: true })
    .option('keep-work', { type: 'boolean', default: false, hidden: true });
}

function experimentJson(result: ExperimentResult, reportsDir: string) {
  return {
    schema: 'vfs-analyze.experiment',
    schemaVersion: 1,
    reportsDir,
    interrupted: result.interrupted,
    runs: result.records.map((r, i) => ({
      id: r.id,
      dir: result.runDirs[i],
      variant: r.variant.name,
      run: r.schedule?.run,
      outcome: r.outcome,
      stopReason: r.stopReason,
      timeToOutcomeSec: r.timeToOutcomeSec,
      totals: r.totals,
      onsetToStopSec: r.launch.stop.onsetToStopSec,
    })),
    comparison: compareRuns(result.records),
  };
}

export async function runRun(args: RunArgs): Promise<number> {
  // Everything is validated before anything starts.
  const base = args.mitigate.map(parseMitigation).filter((m) => m !== null);
  const variants = parseCompare(args.compare, base);
  if (!Number.isInteger(args.runs) || args.runs < 1)
    throw new UsageError('--runs must be a whole number ≥ 1');
  const schedule = interleave(variants, args.runs);
  if (!(args.timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  if (!(args.grace >= 0)) throw new UsageError('--grace must be 0 or more seconds');
  if (!(args.pollMs >= 50)) throw new UsageError('--poll-ms must be ≥ 50');
  for (const k of args.karg) parseMitigationValue('karg', k);
  for (const b of args.bcvkArg) parseMitigationValue('bcvk', b);
  const config = await readConfig(args.config);
  const patterns = parsePatterns([...(config.progressPatterns ?? []), ...args.progressPattern]);
  const thresholds = parseThresholds(args.threshold ?? [], config.thresholds);
  checkReportSpecs(args.report ?? [], { stdoutInUse: true });
  if (args.image === '' || args.image.startsWith('-')) throw new UsageError(`invalid image "${args.image}"`);
  const realVirtiofsd = await resolveRealVirtiofsd(args.virtiofsd);
  if ((await probe(args.bcvk, ['--version'])) === null) {
    throw new UsageError(`--bcvk ${args.bcvk}: cannot run "${args.bcvk} --version"`);
  }
  const workBase = resolve(args.workDir);
  if (!(await executable(workBase))) throw new UsageError(`--work-dir ${workBase}: not an accessible folder`);

  const tty = process.stderr.isTTY === true;
  let shown = false;
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  const messages: string[] = [];
  if (!/^\/(usr|var\/tmp)\//.test(realVirtiofsd[realVirtiofsd.length - 1])) {
    messages.push(
      `note: the real virtiofsd ${realVirtiofsd[realVirtiofsd.length - 1]} is outside /usr and /var/tmp; real bcvk ` +
        'runs virtiofsd inside its container, which sees only the host /usr and /var/tmp',
    );
  }
  for (const v of variants) for (const n of v.notes ?? []) messages.push(`note: ${v.name}: ${n}`);
  for (const m of messages) process.stderr.write(`vfs-analyze: ${m}\n`);

  const reportsDir = resolve(args.reports);
  let result: ExperimentResult;
  let interrupted: ExperimentInterrupted | null = null;
  try {
    result = await runExperiment({
      image: args.image,
      schedule,
      timeoutSec: args.timeout,
      bcvk: args.bcvk,
      podman: args.podman,
      realVirtiofsd,
      kargs: args.karg,
      execute: args.execute,
      bcvkArgs: args.bcvkArg,
      progressPatterns: patterns,
      thresholds,
      probeScript: args.probe ? await readFile(PROBE_SCRIPT, 'utf8') : undefined,
      reportsDir,
      workBase,
      graceMs: args.grace * 1000,
      pollMs: args.pollMs,
      confirmPolls: 2,
      keepWork: args.keepWork,
      onProgress: tty
        ? (line) => {
            const w = process.stderr.columns || 100;
            process.stderr.write(`\r\x1b[K${line.slice(0, w - 1)}`);
            shown = true;
          }
        : undefined,
      onMessage: (line) => {
        clear();
        process.stderr.write(`vfs-analyze: ${line}\n`);
      },
    });
  } catch (e) {
    clear();
    if (!(e instanceof ExperimentInterrupted)) throw e;
    interrupted = e;
    result = e.result;
  }
  clear();
  if (result.records.length > 0) {
    await writeStdout(
      args.json
        ? renderJson(experimentJson(result, reportsDir))
        : renderComparison(compareRuns(result.records)),
    );
  }
  if (result.records.length > 0 && args.report && args.report.length > 0) {
    const written = await writeComparisonReports({ records: result.records }, args.report, {
      stdoutInUse: true,
    });
    process.stderr.write(describeWritten(written));
  }
  if (interrupted) throw interrupted;
  if (result.records.length > 0 && result.records.every((r) => r.outcome.kind === 'error')) {
    const first = result.records[0];
    const why = (first.outcome.title ?? '')
      .replace(/^error: /, '')
      .replace(/; (verdict then|the live verdict).*$/, '');
    throw new LaunchError(
      `every run ended in an error (${why || `bcvk exit ${first.exitCode ?? 'by signal'}`}; see ${result.runDirs[0]}/bcvk.stderr.txt)`,
    );
  }
  return 0;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <image>',
  describe: 'launch IMAGE through bcvk per variant, judge each run live, stop early, compare',
  builder: (y) =>
    runOptions(y)
      .example('$0 run quay.io/x/y --compare cache=never,metadata --runs 4', 'the #90 experiment')
      .example(
        '$0 run IMG --compare cache=never,metadata --compare threads=0,4',
        'a 2×2 matrix',
      ) as unknown as Argv<RunArgs>,
  handler: async (a) => {
    try {
      await runRun(a);
    } finally {
      exitWithinBound();
    }
  },
};

/**
 * The run's records are written and its results printed: nothing may keep vfs-analyze waiting now (a handle a
 * descendant still holds, a stuck child). Node exits on its own when nothing is pending; this bounds the wait.
 */
function exitWithinBound(ms = 3000): void {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(
      `vfs-analyze: still waiting on ${open.join(', ') || 'nothing known'} ${ms / 1000} s after the results; exiting\n`,
    );
    process.exit();
  }, ms).unref();
}
