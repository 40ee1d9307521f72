/** The post-mortem command's work (loaded by runAnalyze in analyze.ts once the analysis worker has its job). */

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
import { analysisDocument, type InputErrorRecord, renderJson } from '../report/json.js';
import { AnalysisSession } from '../session/analysis-session.js';
import { failOnMatch } from '../verdict/fail-on.js';
import { resolveThresholds } from '../verdict/thresholds.js';
import type { Verdict } from '../verdict/types.js';
import { version } from '../version.js';
import { type AnalyzeArgs, inputOptions } from './analyze.js';
import { parseFailOn, parsePatterns, parseThresholds, readConfig } from './verdict-options.js';

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

/** What terminal output needs (not loaded for --json: cli-table3 and chalk). */
function loadTerminalRenderers() {
  return Promise.all([
    import('../io/terminal.js'),
    import('../report/terminal.js'),
    import('../analyze/correlate.js'),
  ]);
}

/** The post-mortem, once runAnalyze (analyze.ts) has checked the numbers and started the worker on the log. */
export async function runAnalyzeLoaded(args: AnalyzeArgs): Promise<number> {
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

  // The terminal renderers (cli-table3, chalk: ~30 ms to load) load once the log's events flow (its first progress
  // report), in the time this thread waits for them, not after the analysis; not at once: the worker is still
  // starting then, and this thread's loading would take a core from it. --json runs never load them.
  let terminal: ReturnType<typeof loadTerminalRenderers> | null = null;
  const preloadTerminal = () => {
    if (args.json || terminal !== null) return;
    terminal = loadTerminalRenderers();
    terminal.catch(() => {}); // a failure is reported where the output needs them, not as an unhandled rejection
  };

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
        ...inputOptions(args),
        extraSink: watch,
        events: args.verdict
          ? { sink: session.events, restart: () => session.restartEvents(), warmUp: () => session.warmUp() }
          : undefined,
      },
      (f, done, total) => {
        preloadTerminal();
        progress.update(f, done, total);
      },
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
    const [{ makeChalk, terminalWidth }, { renderTerminal }, { pidLabeler }] = await (terminal ??
      loadTerminalRenderers());
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
