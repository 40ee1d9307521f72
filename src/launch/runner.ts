/**
 * The experiment driver: for each scheduled run (interleaved A B A B …) generate the virtiofsd wrapper, start bcvk,
 * follow the virtiofsd log, console and journal live through the streaming parsers and the verdict engine, stop as
 * soon as the outcome is known (goal, confirmed livelock/deadlock/stall, timeout, exit, interrupt), clean up
 * (SIGTERM, SIGKILL after the grace period, `podman rm -f`), and write the run folder. This is the IO shell around
 * the pure pieces: plan.ts (argv), wrapper.ts (script), live.ts (state), stop-policy.ts (decisions).
 */

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, release } from 'node:os';
import { join } from 'node:path';
import { InterruptedError } from '../errors.js';
import { FileFollower } from '../io/follow.js';
import { AnalysisSession, type LiveStatus } from '../session/analysis-session.js';
import { compactCount } from '../verdict/format.js';
import type { VerdictThresholdsInput } from '../verdict/thresholds.js';
import { version as toolVersion } from '../version.js';
import {
  describeLeftovers,
  describeSwept,
  killRunProcesses,
  type Leftover,
  removeActive,
  selfOwner,
  sweepKilledRuns,
  writeActive,
} from './leftovers.js';
import { containerName, makeRunId, planBcvkRun, planContainerRemoval } from './plan.js';
import { PROBE_UNIT_NAME, probeUnit } from './probe-unit.js';
import { writeRunDir } from './records.js';
import { RUN_RECORD_SCHEMA, RUN_RECORD_SCHEMA_VERSION, type RunRecord } from './run-record.js';
import { type PollFacts, type StopDecision, StopPolicy } from './stop-policy.js';
import { InterruptScope, probe, removeContainer, SupervisedChild } from './supervise.js';
import type { ScheduledRun } from './variants.js';
import { generateWrapper, wrapperOptionsFor, writeWrapper } from './wrapper.js';

export interface ExperimentOptions {
  image: string;
  schedule: ScheduledRun[];
  timeoutSec: number;
  bcvk: string;
  podman: string;
  /** The real virtiofsd as an argv prefix (a binary, or loader + binary). */
  realVirtiofsd: string[];
  /** Kernel arguments for every run (after the variant's). */
  kargs: string[];
  execute: string[];
  /** Extra bcvk arguments for every run. */
  bcvkArgs: string[];
  progressPatterns: RegExp[];
  /** Folder that receives `runs/<id>/`. */
  reportsDir: string;
  /** Host folder the container can see, for the wrapper and its log (default /var/tmp). */
  workBase: string;
  graceMs: number;
  pollMs: number;
  confirmPolls: number;
  thresholds?: VerdictThresholdsInput;
  /** Progress line (called about once a second; the caller decides whether a TTY shows it). */
  onProgress?: (line: string) => void;
  /** Plain messages for stderr (one per run, warnings). */
  onMessage?: (line: string) => void;
  /** Keep the per-run work folder in workBase (debugging). */
  keepWork?: boolean;
  /** The guest probe's script: injected as a systemd unit (`--systemd-units`) into every run. */
  probeScript?: string;
}

/** What a launched run adds to the RunRecord (written into record.json next to the RunRecord fields). */
export interface LaunchDetails {
  launch: {
    container: string;
    timeoutSec: number;
    realVirtiofsd: string[];
    planWarnings: string[];
    kargs: string[];
    stop: {
      reason: string;
      note?: string;
      verdictTitle: string;
      /** ISO times: outcome known (goal line, first poll of the confirmed streak), decision taken, cleanup done. */
      knownAt: string;
      decidedAt: string;
      cleanedAt: string;
      /** Verdict onset (ms since epoch as ISO), when the verdict has one. */
      onset: string | null;
      /** Seconds from the verdict's onset to the child being stopped (early stops: must be ≤ 15). */
      onsetToStopSec: number | null;
      onsetToDecisionSec: number | null;
      confirmPolls?: number;
      /** How bcvk ended: already exited, SIGTERM, or SIGKILL after the grace period. */
      how: 'exited' | 'sigterm' | 'sigkill' | 'not-started';
      stopMs: number;
      /**
       * Processes of the run still alive once bcvk had ended (in its process group, or found by the run's
       * environment marker after leaving it), SIGKILLed by vfs-analyze; `survivors`: still alive after that.
       */
      leftovers: { killed: Leftover[]; survivors: Leftover[] };
      podmanRm: { ok: boolean; exitCode: number | null; ms: number; stderr?: string };
    };
    bcvk: { exitCode: number | null; signal: string | null; spawnError?: string; stderrTail: string };
    /**
     * How the run made sure nothing outlives it: the parent-death signal bcvk was started with (null: setpriv
     * missing), the environment marker, and the guard process (its PID).
     */
    supervision?: { parentDeathSignal: string | null; tag: string; guardPid: number | null };
  };
}

export type LaunchedRecord = RunRecord & LaunchDetails;

export interface ExperimentResult {
  records: LaunchedRecord[];
  runDirs: string[];
  interrupted: NodeJS.Signals | null;
}

interface SharedFacts {
  versions: RunRecord['versions'];
  host: RunRecord['host'];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function tail(path: string, max = 4000): Promise<string> {
  const t = await readFile(path, 'utf8').catch(() => '');
  return t.length > max ? t.slice(-max) : t;
}

/** bcvk's last `Error: …` line (its own crash report), without the prefix. */
function lastError(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((l) => /^Error: /.test(l));
  const l = lines[lines.length - 1];
  return l === undefined ? undefined : l.slice(7).trim().slice(0, 300);
}

async function hostFacts(): Promise<RunRecord['host']> {
  const any = await probe('systemd-detect-virt', []);
  const vm = await probe('systemd-detect-virt', ['--vm']);
  return {
    detectVirt: any,
    nested: vm === null ? null : vm !== 'none',
    hostname: hostname(),
    kernel: release(),
    cpus: cpus().length,
  };
}

function progressLine(sched: ScheduledRun, total: number, elapsedMs: number, st: LiveStatus): string {
  const v = st.verdict;
  const last = st.lastMilestone ? st.lastMilestone.text.slice(0, 48) : '–';
  return (
    `[${sched.order + 1}/${total} ${sched.variant.name} run ${sched.run}/${sched.runs}] ` +
    `${(elapsedMs / 1000).toFixed(0)} s · ${compactCount(Math.round(st.ratePerSec))} req/s · ` +
    `${compactCount(st.requests)} req · ${last} · ${v.kind} (${Math.round(v.confidence * 100)}%)`
  );
}

/** Thrown after an interrupted experiment was cleaned up and its records written (exit code 130). */
export class ExperimentInterrupted extends InterruptedError {
  constructor(readonly result: ExperimentResult) {
    super();
  }
}

/** Run the whole schedule; records of interrupted runs are written too, then InterruptedError is thrown. */
export async function runExperiment(opts: ExperimentOptions): Promise<ExperimentResult> {
  const result: ExperimentResult = { records: [], runDirs: [], interrupted: null };
  await mkdir(join(opts.reportsDir, 'runs'), { recursive: true });
  // what an earlier, killed run on this reports folder left behind
  for (const swept of await sweepKilledRuns(opts.reportsDir, {
    removeContainer: async (podman, name) => {
      const r = await removeContainer(planContainerRemoval(name, podman), 30_000);
      return { ok: r.ok, output: r.stderr };
    },
  })) {
    opts.onMessage?.(describeSwept(swept));
  }
  const bcvkVersion = await probe(opts.bcvk, ['--version']);
  const shared: SharedFacts = {
    versions: { tool: toolVersion(), bcvk: bcvkVersion, virtiofsd: null, kernel: null, qemu: null },
    host: await hostFacts(),
  };
  const experiment = `${iso(Date.now())
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const wake = { fn: () => {} };
  const scope = new InterruptScope(() => wake.fn()).install();
  try {
    for (const sched of opts.schedule) {
      if (scope.signal) break;
      const rec = await runOne(opts, sched, shared, experiment, scope, wake);
      result.records.push(rec.record);
      result.runDirs.push(rec.dir);
      const st = rec.record.launch.stop;
      opts.onMessage?.(
        `run ${sched.order + 1}/${opts.schedule.length} ${sched.variant.name} (${sched.run}/${sched.runs}): ` +
          `${rec.record.outcome.kind} — ${rec.record.stopReason}` +
          (st.onsetToStopSec !== null && rec.record.stopReason !== 'goal'
            ? `, onset→stop ${st.onsetToStopSec.toFixed(1)} s`
            : '') +
          ` after ${rec.record.totals.durationSec.toFixed(1)} s, ${rec.record.totals.requests} requests → ${rec.dir}`,
      );
    }
  } finally {
    scope.dispose();
  }
  if (scope.signal) {
    result.interrupted = scope.signal;
    throw new ExperimentInterrupted(result);
  }
  return result;
}

async function runOne(
  opts: ExperimentOptions,
  sched: ScheduledRun,
  shared: SharedFacts,
  experiment: string,
  scope: InterruptScope,
  wake: { fn: () => void },
): Promise<{ record: LaunchedRecord; dir: string }> {
  const created = Date.now();
  const id = makeRunId(new Date(created), sched.variant.name, sched.run, randomBytes(4).toString('hex'));
  const name = containerName(id);
  const work = await mkdtemp(join(opts.workBase, 'vfs-analyze-'));
  const logDir = join(work, 'logs');
  await mkdir(logDir);
  const paths = {
    virtiofsd: join(work, 'virtiofsd.log'),
    argv: join(work, 'virtiofsd.argv'),
    wrapper: join(work, 'virtiofsd-wrapper.sh'),
    stdout: join(work, 'bcvk.stdout.txt'),
    stderr: join(work, 'bcvk.stderr.txt'),
  };
  await writeFile(paths.virtiofsd, '');
  await writeWrapper(
    paths.wrapper,
    generateWrapper(
      wrapperOptionsFor(sched.variant, {
        realVirtiofsd: opts.realVirtiofsd,
        logPath: paths.virtiofsd,
        argvPath: paths.argv,
        label: `run ${id} (${sched.variant.name})`,
      }),
    ),
  );
  if (shared.versions.virtiofsd === null) {
    // through the wrapper's --version pass-through, exactly what bcvk would run
    shared.versions.virtiofsd = await probe(paths.wrapper, ['--version']);
  }
  const probeArgs: string[] = [];
  if (opts.probeScript !== undefined) {
    // bcvk --systemd-units DIR expects DIR/system/<unit>
    const units = join(work, 'units');
    await mkdir(join(units, 'system'), { recursive: true });
    await writeFile(join(units, 'system', PROBE_UNIT_NAME), probeUnit(opts.probeScript));
    probeArgs.push(`--systemd-units=${units}`);
  }
  const consoleKarg = opts.kargs.some((k) => k.startsWith('console='));
  const plan = planBcvkRun({
    bcvk: opts.bcvk,
    image: opts.image,
    name,
    logDir,
    wrapperPath: paths.wrapper,
    variant: sched.variant,
    execute: opts.execute,
    extraArgs: [...opts.kargs.map((k) => `--karg=${k}`), ...probeArgs, ...opts.bcvkArgs],
    serialConsole: !consoleKarg,
  });
  for (const w of plan.warnings) opts.onMessage?.(`warning: ${w}`);
  const monitor = new AnalysisSession({
    progressPatterns: opts.progressPatterns,
    goalUnits: opts.execute.length > 0 ? [] : undefined,
    thresholds: opts.thresholds,
  });
  const followers = [
    new FileFollower(paths.virtiofsd, {
      data: (b) => monitor.virtiofsd(b),
      truncated: () => monitor.virtiofsdTruncated(),
    }),
    new FileFollower(plan.outputs.console, {
      data: (b) => monitor.console(b),
      truncated: () => monitor.consoleTruncated(),
    }),
    new FileFollower(plan.outputs.journal, {
      data: (b) => monitor.journal(b),
      truncated: () => monitor.journalTruncated(),
    }),
  ];
  for (const f of followers) f.start();

  let decision: StopDecision | null = null;
  let child: SupervisedChild | null = null;
  let stopHow: LaunchDetails['launch']['stop']['how'] = 'not-started';
  let stopMs = 0;
  let stopDoneAt = Date.now();
  let podmanRm: LaunchDetails['launch']['stop']['podmanRm'] = { ok: true, exitCode: null, ms: 0 };
  let leftovers: LaunchDetails['launch']['stop']['leftovers'] = { killed: [], survivors: [] };
  const startedAt = Date.now();
  const policy = new StopPolicy({
    startedAt,
    timeoutMs: opts.timeoutSec * 1000,
    confirmPolls: opts.confirmPolls,
    quietSec: monitor.engine.thresholds.quietSec,
  });
  const facts = (st: LiveStatus, now: number): PollFacts => ({
    now,
    verdict: st.verdict,
    goal: st.goal,
    lastGuestLineAt: st.lastGuestLineAt,
    unmounted: st.unmounted,
  });
  try {
    // for the next run's sweep, should this one be killed before its cleanup: written before bcvk starts (the
    // marker alone finds its processes) and again with bcvk's process group once it runs
    const active = {
      schema: 'vfs-analyze.active-run' as const,
      owner: selfOwner(),
      id,
      container: name,
      podman: opts.podman,
      bcvk: { pid: null as number | null, pgid: null as number | null, start: null as number | null },
      tag: name,
      work,
      startedAt: iso(startedAt),
    };
    await writeActive(opts.reportsDir, active).catch(() => {});
    child = SupervisedChild.start(plan.file, plan.args, {
      stdoutFile: paths.stdout,
      stderrFile: paths.stderr,
      tag: name,
      guard: { podman: opts.podman, container: name, graceSec: opts.graceMs / 1000 },
    });
    child.containerCleanup = { podman: opts.podman, name };
    const c = child;
    active.bcvk = { pid: c.pid ?? null, pgid: c.pid ?? null, start: c.startTicks };
    await writeActive(opts.reportsDir, active).catch(() => {});
    while (decision === null) {
      await Promise.race([
        sleep(opts.pollMs),
        c.exited,
        new Promise<void>((r) => {
          wake.fn = r;
          if (scope.signal) r();
        }),
      ]);
      const exited = c.exit;
      await Promise.all(followers.map((f) => f.poll()));
      const now = Date.now();
      const st = monitor.status(now);
      if (scope.signal) decision = policy.interrupted(facts(st, now), scope.signal);
      else if (exited) {
        // let the last bytes land (virtiofsd and the journal reader end with bcvk)
        await sleep(200);
        await Promise.all(followers.map((f) => f.poll()));
        const st2 = monitor.status(Date.now());
        decision = policy.exited(facts(st2, Date.now()), exited, lastError(await tail(paths.stderr)));
      } else decision = policy.poll(facts(st, now));
      opts.onProgress?.(progressLine(sched, opts.schedule.length, now - startedAt, st));
    }
  } finally {
    // cleanup always: also when something above threw
    if (child) {
      const s = await child.stop(opts.graceMs, () => scope.count >= 2);
      stopHow = s.how;
      stopMs = s.ms;
      stopDoneAt = Date.now();
      // whatever is still alive now was left behind: by the group kill above, or outside the group (marker)
      const marks = child.marks;
      if (marks) {
        const k = await killRunProcesses(marks, { waitMs: Math.max(2000, opts.graceMs) });
        const seen = new Set(s.leftovers.map((l) => l.pid));
        leftovers = {
          killed: [...s.leftovers, ...k.killed.filter((l) => !seen.has(l.pid))].filter(
            (l) => l.pid !== child?.pid,
          ),
          survivors: k.survivors,
        };
        if (leftovers.killed.length > 0 || leftovers.survivors.length > 0) {
          opts.onMessage?.(
            `run ${sched.order + 1}/${opts.schedule.length}: bcvk left ${describeLeftovers(leftovers.killed)} behind; ` +
              (leftovers.survivors.length > 0
                ? `SIGKILLed, still alive: ${describeLeftovers(leftovers.survivors)}`
                : 'SIGKILLed'),
          );
        }
      }
      const rmr = await removeContainer(planContainerRemoval(name, opts.podman));
      podmanRm = {
        ok: rmr.ok,
        exitCode: rmr.exitCode,
        ms: rmr.ms,
        ...(rmr.ok ? {} : { stderr: rmr.stderr }),
      };
      if (!rmr.ok) opts.onMessage?.(`warning: ${rmr.command.join(' ')} failed: ${rmr.stderr.trim()}`);
      child.release();
    }
    await removeActive(opts.reportsDir, name);
    for (const f of followers) await f.stop();
  }
  monitor.end();
  const d = decision!;
  const exit = child?.exit ?? null;
  const stoppedAt = Date.now();
  const { analysis, guest, correlation } = monitor.results();
  const doc = monitor.document(toolVersion(), d.verdict, { analysis, guest, correlation });
  const v = d.verdict;
  const runSec = Math.max(0, (d.decidedAt - startedAt) / 1000);
  const requests = analysis.totals.requests;
  let top: RunRecord['topLoopingPid'] = null;
  const names = guest?.pidNames ?? {};
  if (v.kind === 'livelock' && v.culprits[0]) {
    const cu = v.culprits[0];
    top = { pid: cu.pid, requests: cu.requests, share: cu.share, ...(cu.name ? { name: cu.name } : {}) };
  } else if (analysis.byPid[0] && requests > 0) {
    const p = analysis.byPid[0];
    const nm = names[String(p.pid)];
    top = { pid: p.pid, requests: p.requests, share: p.requests / requests, ...(nm ? { name: nm } : {}) };
  }
  const onset = v.onset ?? null;
  const early = d.reason === 'livelock' || d.reason === 'deadlock' || d.reason === 'stall';
  const notes = [...(sched.variant.notes ?? [])];
  if (d.note) notes.push(d.note);
  if (exit?.spawnError) notes.push(`bcvk could not be started: ${exit.spawnError}`);
  const record: LaunchedRecord = {
    schema: RUN_RECORD_SCHEMA,
    schemaVersion: RUN_RECORD_SCHEMA_VERSION,
    id,
    variant: sched.variant,
    schedule: { run: sched.run, runs: sched.runs, order: sched.order, experiment },
    command: [plan.file, ...plan.args],
    versions: { ...shared.versions, kernel: monitor.kernelVersion ?? shared.versions.kernel ?? null },
    host: shared.host,
    startedAt: iso(startedAt),
    stoppedAt: iso(stoppedAt),
    stopReason: d.reason,
    outcome: {
      kind: d.outcome,
      title:
        d.title ?? (d.outcome === v.kind ? v.title : `${d.outcome} (${d.reason}; verdict then: ${v.title})`),
      confidence: v.confidence,
    },
    timeToOutcomeSec: d.reason === 'goal' || early ? Math.max(0, (d.knownAt - startedAt) / 1000) : null,
    totals: { requests, durationSec: runSec, ratePerSec: runSec > 0 ? requests / runSec : 0 },
    topLoopingPid: top,
    analysisPath: 'analysis.json',
    logs: {
      virtiofsd: 'virtiofsd.log.gz',
      console: 'console.txt.gz',
      journal: 'journal.json.gz',
      bcvkStderr: 'bcvk.stderr.txt',
    },
    exitCode: exit ? exit.exitCode : null,
    notes,
    launch: {
      container: name,
      timeoutSec: opts.timeoutSec,
      realVirtiofsd: opts.realVirtiofsd,
      planWarnings: plan.warnings,
      kargs: [...plan.kargs, ...opts.kargs],
      stop: {
        reason: d.reason,
        ...(d.note ? { note: d.note } : {}),
        verdictTitle: v.title,
        knownAt: iso(d.knownAt),
        decidedAt: iso(d.decidedAt),
        cleanedAt: iso(stopDoneAt),
        onset: onset === null ? null : iso(onset),
        onsetToStopSec: onset === null ? null : (stopDoneAt - onset) / 1000,
        onsetToDecisionSec: onset === null ? null : (d.decidedAt - onset) / 1000,
        ...(d.polls !== undefined ? { confirmPolls: d.polls } : {}),
        how: stopHow,
        stopMs,
        leftovers,
        podmanRm,
      },
      bcvk: {
        exitCode: exit?.exitCode ?? null,
        signal: exit?.signal ?? null,
        ...(exit?.spawnError ? { spawnError: exit.spawnError } : {}),
        stderrTail: await tail(paths.stderr),
      },
      ...(child
        ? {
            supervision: {
              parentDeathSignal: child.parentDeathSignal,
              tag: name,
              guardPid: child.guardPid,
            },
          }
        : {}),
    },
  };
  const dir = await writeRunDir(join(opts.reportsDir, 'runs'), {
    record,
    analysis: doc,
    gzip: {
      'virtiofsd.log': paths.virtiofsd,
      'console.txt': plan.outputs.console,
      'journal.json': plan.outputs.journal,
    },
    copy: {
      'bcvk.stdout.txt': paths.stdout,
      'bcvk.stderr.txt': paths.stderr,
      'virtiofsd-wrapper.sh': paths.wrapper,
      'virtiofsd.argv': paths.argv,
    },
  });
  if (!opts.keepWork) await rm(work, { recursive: true, force: true });
  return { record, dir };
}
