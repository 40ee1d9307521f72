/** `vfs-analyze [LOG...]`: the post-mortem command. Wiring only: options → io → analysis → renderers. */

import type { Argv } from 'yargs';
import type { Correlation } from '../analyze/correlate.js';
import type { GuestResult } from '../analyze/guest-session.js';
import { UniqueWatch } from '../analyze/unique-join.js';
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';
import { ExitCode, UsageError, type VfsError } from '../errors.js';
import { analyzeInput } from '../io/analyze-input.js';
import { isStdin } from '../io/byte-source.js';
import { type GuestInputSpec, readGuestInputs } from '../io/guest-inputs.js';
import { findRunDirInputs } from '../io/guest-sources.js';
import { Progress } from '../io/progress.js';
import { writeStdout } from '../io/stdout.js';
import type { ForcedFormat } from '../parse/virtiofsd.js';
import { analysisDocument, type InputErrorRecord, renderJson } from '../report/json.js';
import { AnalysisSession } from '../session/analysis-session.js';
import { failOnMatch } from '../verdict/fail-on.js';
import { resolveThresholds } from '../verdict/thresholds.js';
import type { Verdict } from '../verdict/types.js';
import { version } from '../version.js';
import { parseFailOn, parsePatterns, parseThresholds, readConfig } from './verdict-options.js';

export interface AnalyzeArgs {
  logs: string[];
  json: boolean;
  format: ForcedFormat;
  top: number;
  recent: number;
  color?: boolean;
  year?: number;
  threads?: number;
  console: string[];
  debugPort: string[];
  journal: string[];
  runDir?: string;
  guestOffset?: string;
  progressPattern: string[];
  verdict: boolean;
  failOn: string[];
  threshold: string[];
  config?: string;
  stillRunning: boolean;
  stoppedAtEnd: boolean;
  report: string[];
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
      choices: ['auto', 'rust', 'rust-legacy', 'c', 'libfuse'] as const,
      default: 'auto' as const,
      describe:
        'force the daemon format instead of detecting it per line (libfuse: the -d output of any libfuse 2.9/3.x file system)',
    })
    .option('console', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest serial console (console.txt; raw or host-stamped)',
    })
    .option('debug-port', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest virtio-serial debug port log (raw or host-stamped)',
    })
    .option('journal', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest journal stream (journalctl -o json lines: journal.json)',
    })
    .option('run-dir', {
      type: 'string',
      describe:
        'a run folder: picks up virtiofsd.log[.gz], console.txt, journal.json, journal-initrd.json, *.host-stamped.log, probe.txt',
    })
    .option('guest-offset', {
      type: 'string',
      describe:
        'host UTC time of guest uptime 0 (ISO 8601 or epoch seconds): overrides the automatic clock alignment',
    })
    .option('progress-pattern', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'regular expression for guest lines that count as progress (and as the goal)',
    })
    .option('verdict', {
      type: 'boolean',
      default: true,
      describe:
        'judge the run (livelock, deadlock, stall, busy, healthy); --no-verdict skips it (and may use threads)',
    })
    .option('fail-on', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'exit 1 when a verdict is one of these kinds (comma-separated: livelock,deadlock,stall,busy,inconclusive), or long-episode: a loop episode lasted ≥ longEpisodeSec',
    })
    .option('threshold', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'verdict threshold NAME=VALUE (repeatable; names and defaults in README)',
    })
    .option('config', {
      type: 'string',
      describe: 'JSON config file: {"thresholds": {...}, "failOn": [...], "progressPatterns": [...]}',
    })
    .option('stopped-at-end', {
      type: 'boolean',
      default: false,
      describe:
        'virtiofsd stopped answering where its log ends (frozen or killed): the end of the log counts as "traffic stopped" (default: it does not — a log copied while virtiofsd ran ends mid-traffic)',
    })
    .option('still-running', {
      type: 'boolean',
      default: false,
      hidden: true,
      describe:
        'accepted for compatibility: a log that ends mid-traffic is read as captured while running by default',
    })
    .option('top', { type: 'number', default: 15, describe: 'rows in the top-N tables' })
    .option('recent', { type: 'number', default: 20, describe: 'requests in the recent-activity table' })
    .option('threads', {
      type: 'number',
      describe:
        'threads for logs of 48 MB+ (default: cores, max 4; 1 = one pass): with the verdict, one parsing worker; --no-verdict: one byte range per thread',
    })
    .option('color', {
      type: 'boolean',
      describe: 'force colour on or off (default: on for a TTY; NO_COLOR honoured)',
    })
    .option('year', { type: 'number', describe: 'year for syslog/journal timestamps that carry none' })
    .option('report', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'also write a report FORMAT[=PATH]: html, md, junit, json (repeatable; default reports/<name>.<ext>; md → $GITHUB_STEP_SUMMARY when set)',
    });
}

function parseOffset(value: string): number {
  const n = Number(value);
  const ms = Number.isFinite(n) ? n * 1000 : Date.parse(value);
  if (!Number.isFinite(ms))
    throw new UsageError(`--guest-offset: not a time: ${JSON.stringify(value)} (ISO 8601 or epoch seconds)`);
  return ms;
}

/** Guest inputs from the options and --run-dir; the run dir may also supply the virtiofsd log. */
async function resolveInputs(args: AnalyzeArgs): Promise<{ logs: string[]; guest: GuestInputSpec[] }> {
  const logs = [...args.logs];
  const guest: GuestInputSpec[] = [
    ...args.console.map((file) => ({ file, source: 'console' as const })),
    ...args.debugPort.map((file) => ({ file, source: 'debug-port' as const })),
    ...args.journal.map((file) => ({ file, source: 'journal' as const })),
  ];
  if (args.runDir !== undefined) {
    const found = await findRunDirInputs(args.runDir);
    if (found.virtiofsdLog && logs.length === 0) logs.push(found.virtiofsdLog);
    // A host-stamped console carries exact host times; prefer it to the raw copy of the same lines.
    const consoleFile = found.consoleHostStamped ?? found.console;
    if (consoleFile) guest.push({ file: consoleFile, source: 'console' });
    if (found.debugPortHostStamped) guest.push({ file: found.debugPortHostStamped, source: 'debug-port' });
    if (found.probeLog) guest.push({ file: found.probeLog, source: 'debug-port' });
    if (found.journalInitrd) guest.push({ file: found.journalInitrd, source: 'journal' });
    if (found.journal) guest.push({ file: found.journal, source: 'journal' });
  }
  return { logs, guest };
}

export async function runAnalyze(args: AnalyzeArgs): Promise<number> {
  if (!Number.isInteger(args.top) || args.top < 1) throw new UsageError('--top must be a positive integer');
  if (!Number.isInteger(args.recent) || args.recent < 0) throw new UsageError('--recent must be 0 or more');
  if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1))
    throw new UsageError('--threads must be a positive integer');
  const manualOffset = args.guestOffset === undefined ? undefined : parseOffset(args.guestOffset);
  const config = await readConfig(args.config);
  const patterns = parsePatterns([...(config.progressPatterns ?? []), ...args.progressPattern]);
  const thresholds = parseThresholds(args.threshold, config.thresholds);
  const failOn = parseFailOn([...(config.failOn ?? []), ...args.failOn]);
  // The report writers (HTML, JUnit, Markdown, comparisons) load only when a report is asked for: ~50 ms of start-up.
  const reportOutput = args.report.length > 0 ? await import('../io/report-output.js') : null;
  reportOutput?.checkReportSpecs(args.report, { stdoutInUse: true }); // fail fast, before a long analysis
  const { logs, guest: guestSpecs } = await resolveInputs(args);
  if (logs.length === 0)
    throw new UsageError('no input: give a virtiofsd log file (or "-" for stdin, or --run-dir)');
  if (logs.filter(isStdin).length > 1) throw new UsageError('stdin ("-") can be read only once');

  const errors: InputErrorRecord[] = [];
  let exit = 0;
  const report = (file: string, e: VfsError) => {
    errors.push({ file, message: e.message, exitCode: e.exitCode });
    process.stderr.write(`vfs-analyze: ${e.message}\n`);
    exit = Math.max(exit, e.exitCode);
  };

  const guestRead =
    guestSpecs.length > 0 ? await readGuestInputs(guestSpecs, { progressPatterns: patterns }) : null;
  for (const { file, error } of guestRead?.errors ?? []) report(file, error);

  const progress = new Progress();
  const analyses: InputAnalysis[] = [];
  const correlations: (Correlation | null)[] = [];
  const verdicts: (Verdict | null)[] = [];
  let guest: GuestResult | null = null;
  // the guest probe's fuse_request_send lines (kernels with fuse tracepoints): find the same uniques in the log
  const wanted = guestRead?.session.fuseUniques();
  for (const log of logs) {
    const watch = wanted && wanted.size > 0 ? new UniqueWatch(wanted) : undefined;
    const session = new AnalysisSession({
      guest: guestRead?.session,
      thresholds,
      progressPatterns: patterns,
      files: { virtiofsd: log },
      evidenceFiles: { virtiofsd: log },
    });
    const outcome = await analyzeInput(
      log,
      {
        extraSink: watch,
        format: args.format,
        top: Math.max(args.top, 15),
        recent: Math.max(args.recent, 1),
        assumeYear: args.year,
        threads: args.threads,
        events: args.verdict ? { sink: session.events, restart: () => session.restartEvents() } : undefined,
      },
      (f, done, total) => progress.update(f, done, total),
    );
    progress.clear();
    if (outcome.error) report(outcome.file, outcome.error);
    const a = outcome.analysis;
    if (!a) continue;
    analyses.push(a);
    const r = session.postMortem(a, {
      withVerdict: args.verdict,
      hasGuest: guestRead !== null,
      fuseHits: watch?.hits,
      manualOffsetMs: manualOffset,
      endOfLog: args.stoppedAtEnd ? 'stopped' : 'running',
    });
    guest ??= r.guest;
    correlations.push(r.correlation);
    verdicts.push(r.verdict);
  }

  const doc = analysisDocument(version(), analyses, errors, guest, correlations, verdicts);
  if (args.json) {
    await writeStdout(renderJson(doc));
  } else {
    // Loaded only for terminal output: --json runs skip cli-table3 and chalk.
    const { makeChalk, terminalWidth } = await import('../io/terminal.js');
    const { renderTerminal } = await import('../report/terminal.js');
    const { pidLabeler } = await import('../analyze/correlate.js');
    const chalk = makeChalk(process.stdout, args.color);
    const width = terminalWidth(process.stdout);
    const pidLabel = pidLabeler(guest);
    const parts = analyses.map((a, i) =>
      renderTerminal(a, {
        chalk,
        top: args.top,
        recent: args.recent,
        width,
        pidLabel,
        guest,
        correlation: correlations[i],
        verdict: verdicts[i],
      }),
    );
    if (parts.length > 0) await writeStdout(parts.join('\n'));
  }
  if (reportOutput !== null) {
    process.stderr.write(
      reportOutput.describeWritten(await reportOutput.writeReports(doc, args.report, { stdoutInUse: true })),
    );
  }
  const longSec = resolveThresholds(thresholds).longEpisodeSec;
  const failed = verdicts
    .map((v) => (v === null ? undefined : failOnMatch(v, failOn, longSec)))
    .filter((x): x is string => x !== undefined);
  if (failed.length > 0) {
    for (const why of failed) process.stderr.write(`vfs-analyze: --fail-on ${why}\n`);
    exit = Math.max(exit, ExitCode.failOn);
  }
  return exit;
}
