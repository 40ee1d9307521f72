/**
 * Process supervision for a launch: start bcvk (an argument array through execa, never a shell) in its own
 * process group, stop it (SIGTERM to bcvk, then SIGKILL to its whole group after a grace period), remove its
 * container (`podman rm -f NAME`), and keep signal handlers for the duration of a run.
 *
 * Why a process group: a Ctrl-C in the terminal must reach vfs-analyze only, so that it decides the order of the
 * cleanup (and writes the record) instead of racing bcvk's own handlers; and the final SIGKILL to the group also
 * ends anything bcvk started that is still in it. Containers live outside the group (conmon), hence `podman rm -f`.
 * A last-resort `exit` hook SIGKILLs live groups and runs `podman rm -f` synchronously if vfs-analyze dies with
 * an uncaught error.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { findRunProcesses, type Leftover, procInfo, RUN_TAG_ENV } from './leftovers.js';

export interface ChildExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  at: number;
}

export interface StartOptions {
  stdoutFile: string;
  stderrFile: string;
  env?: Record<string, string>;
  cwd?: string;
  /**
   * A marker put into the child's environment (`VFS_ANALYZE_RUN_TAG=tag`): every descendant inherits it, so what the
   * run started is found again even after it left the process group (see leftovers.ts).
   */
  tag?: string;
  /**
   * Signal the kernel sends the child when vfs-analyze dies (util-linux `setpriv --pdeathsig`; skipped when setpriv
   * is missing). Default SIGTERM: bcvk cleans up on SIGTERM (its entrypoint trap), so a killed vfs-analyze still
   * lets it stop its VM; the guard below finishes the job.
   */
  parentDeathSignal?: NodeJS.Signals | null;
  /**
   * A guard process (its own session) that watches a pipe from vfs-analyze: if vfs-analyze goes away without saying
   * "done" (SIGKILL, a crash), it sends SIGTERM to bcvk's process group, SIGKILL after `graceSec`, SIGKILLs every
   * process carrying the marker and runs `podman rm -f NAME`.
   */
  guard?: { podman: string; container: string; graceSec: number };
}

export interface StopResult {
  /** How the child ended: it had already exited, SIGTERM sufficed, or SIGKILL was needed. */
  how: 'exited' | 'sigterm' | 'sigkill';
  ms: number;
  exit: ChildExit;
  /** Processes of the run (bcvk's group, the marker) alive when the final SIGKILL went out, bcvk excluded. */
  leftovers: Leftover[];
}

const live = new Set<SupervisedChild>();
let exitHookInstalled = false;

function exitHook(): void {
  for (const c of live) c.killNowSync();
}

/**
 * A plain (ref'd) timer: the cleanup awaits it, so it must keep the process alive — once bcvk has exited nothing else
 * may (an unref'd timer here let Node exit in the middle of the cleanup, before the record was written).
 */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `p`, or null after `ms`; the timer is cleared either way (it must not hold the process for `ms`). */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<null>((r) => {
      t = setTimeout(() => r(null), ms);
    }),
  ]);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A program name resolved like execvp (PATH search for a bare name); null when not found. */
export function resolveProgram(file: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (file.includes('/')) return isExecutable(file) ? file : null;
  for (const d of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (d === '') continue;
    const p = join(d, file);
    if (isExecutable(p)) return p;
  }
  return null;
}

let setprivPath: string | null | undefined;
/** util-linux setpriv when it supports --pdeathsig (cached). */
export function setprivWithPdeathsig(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  const p = resolveProgram('setpriv');
  if (p) {
    const r = spawnSync(p, ['--help'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (`${r.stdout}${r.stderr}`.includes('--pdeathsig')) setprivPath = p;
  }
  return setprivPath;
}

/**
 * The guard (sh): `$1` bcvk's process group, `$2` container, `$3` podman, `$4` grace in tenths of a second, `$5` the
 * marker. Reads its stdin (a pipe from vfs-analyze) until "done" (normal cleanup: exit) or EOF (vfs-analyze is gone:
 * end the run's processes and container).
 */
const GUARD_SCRIPT = `pg=$1 name=$2 podman=$3 grace=$4 tag=$5
while IFS= read -r line; do [ "$line" = done ] && exit 0; done
kill -TERM -"$pg" 2>/dev/null
n=0
while [ "$n" -lt "$grace" ] && kill -0 -"$pg" 2>/dev/null; do sleep 0.1; n=$((n + 1)); done
kill -KILL -"$pg" 2>/dev/null
for f in $(grep -lzxF -- "${RUN_TAG_ENV}=$tag" /proc/[0-9]*/environ 2>/dev/null); do
  p=\${f#/proc/}; p=\${p%/environ}
  [ "$p" = "$$" ] || kill -KILL "$p" 2>/dev/null
done
"$podman" rm -f "$name" >/dev/null 2>&1
exit 0
`;

export class SupervisedChild {
  exit: ChildExit | null = null;
  readonly exited: Promise<ChildExit>;
  readonly pid: number | undefined;
  /** bcvk's start time in ticks since boot (from /proc), to tell its process group from a later one. */
  readonly startTicks: number | null;
  /** Whether the parent-death signal was armed (setpriv found). */
  readonly parentDeathSignal: NodeJS.Signals | null;
  readonly tag: string | null;
  private guardProc: ChildProcess | null = null;
  /** Container to remove synchronously if vfs-analyze dies before cleanup. */
  containerCleanup: { podman: string; name: string } | null = null;

  private constructor(
    readonly file: string,
    readonly args: readonly string[],
    opts: StartOptions,
  ) {
    this.tag = opts.tag ?? null;
    let resolveExit!: (e: ChildExit) => void;
    this.exited = new Promise<ChildExit>((r) => {
      resolveExit = (e) => {
        if (this.exit) return;
        this.exit = e;
        r(e);
      };
    });
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    if (opts.tag) env[RUN_TAG_ENV] = opts.tag;
    const program = resolveProgram(file, env);
    const pds = opts.parentDeathSignal === undefined ? 'SIGTERM' : opts.parentDeathSignal;
    const setpriv = pds && program ? setprivWithPdeathsig() : null;
    this.parentDeathSignal = setpriv ? pds : null;
    if (program === null) {
      this.pid = undefined;
      this.startTicks = null;
      resolveExit({ exitCode: null, signal: null, spawnError: `spawn ${file} ENOENT`, at: Date.now() });
      return;
    }
    // The output goes to files through descriptors, never through pipes: bcvk's exit is seen when bcvk exits, not
    // when the last descendant holding its stdout closes it (a descendant that outlives bcvk would keep a pipe, and
    // with it vfs-analyze, open without bound).
    let out: number | null = null;
    let err: number | null = null;
    let sub: ChildProcess | null = null;
    try {
      out = openSync(opts.stdoutFile, 'a');
      err = openSync(opts.stderrFile, 'a');
      const argv = setpriv
        ? [setpriv, '--pdeathsig', pds!.replace(/^SIG/, ''), '--', program, ...args]
        : [program, ...args];
      sub = spawn(argv[0], argv.slice(1), {
        detached: true,
        stdio: ['ignore', out, err],
        env,
        cwd: opts.cwd,
      });
      sub.on('exit', (code, signal) => resolveExit({ exitCode: code, signal, at: Date.now() }));
      sub.on('error', (e) => {
        // only a failed spawn: a running child's exit comes from 'exit'
        if (sub?.pid === undefined)
          resolveExit({ exitCode: null, signal: null, spawnError: String(e.message ?? e), at: Date.now() });
      });
    } catch (e) {
      resolveExit({
        exitCode: null,
        signal: null,
        spawnError: String((e as Error).message ?? e),
        at: Date.now(),
      });
    } finally {
      if (out !== null) closeSync(out);
      if (err !== null) closeSync(err);
    }
    this.pid = sub?.pid;
    this.startTicks = this.pid === undefined ? null : (procInfo(this.pid)?.start ?? null);
    if (this.pid !== undefined && opts.guard) this.startGuard(opts.guard);
    live.add(this);
    if (!exitHookInstalled) {
      process.on('exit', exitHook);
      exitHookInstalled = true;
    }
  }

  static start(file: string, args: readonly string[], opts: StartOptions): SupervisedChild {
    return new SupervisedChild(file, args, opts);
  }

  /** The guard's PID (null when none was started). */
  guardPid: number | null = null;

  private startGuard(g: NonNullable<StartOptions['guard']>): void {
    try {
      const sh = resolveProgram('sh') ?? '/bin/sh';
      const proc = spawn(
        sh,
        [
          '-c',
          GUARD_SCRIPT,
          'vfs-analyze-guard',
          String(this.pid),
          g.container,
          g.podman,
          String(Math.max(0, Math.round(g.graceSec * 10))),
          this.tag ?? '',
        ],
        { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
      );
      proc.on('error', () => {});
      proc.stdin?.on('error', () => {});
      // neither the guard nor its pipe may keep vfs-analyze alive
      proc.unref();
      (proc.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.guardProc = proc;
      this.guardPid = proc.pid ?? null;
    } catch {
      this.guardProc = null;
    }
  }

  /** Tell the guard the run was cleaned up (it exits without acting). */
  private dismissGuard(): void {
    const g = this.guardProc;
    this.guardProc = null;
    if (!g?.stdin || g.stdin.destroyed) return;
    try {
      g.stdin.end('done\n');
    } catch {
      // the guard is gone
    }
  }

  private signalGroup(sig: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // ESRCH: the group is gone
    }
  }

  private signalLeader(sig: NodeJS.Signals): void {
    if (this.pid === undefined || this.exit) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /**
   * SIGTERM to bcvk; once it exits, or after `graceMs`, SIGKILL to its whole process group (stragglers too).
   * `urgent` (a second Ctrl-C) skips the grace period. Every wait is bounded.
   */
  async stop(graceMs: number, urgent?: () => boolean): Promise<StopResult> {
    const t0 = Date.now();
    const deadline = t0 + graceMs;
    if (this.exit) {
      // bcvk is gone; what it started gets the grace period to end by itself
      await this.settle(deadline, urgent);
      return { how: 'exited', ms: Date.now() - t0, exit: this.exit, leftovers: this.killAll() };
    }
    this.signalLeader('SIGTERM');
    let how: StopResult['how'] = 'sigterm';
    while (!this.exit && Date.now() < deadline && !urgent?.()) {
      await within(this.exited, 50);
    }
    if (!this.exit) how = 'sigkill';
    else await this.settle(deadline, urgent);
    const leftovers = this.killAll();
    const exit = await within(this.exited, 5000);
    return {
      how,
      ms: Date.now() - t0,
      exit: exit ?? { exitCode: null, signal: 'SIGKILL', at: Date.now() },
      leftovers,
    };
  }

  /** Wait (until `deadline`) for the run's other processes to end by themselves. */
  private async settle(deadline: number, urgent?: () => boolean): Promise<void> {
    const m = this.marks;
    if (!m) return;
    while (Date.now() < deadline && !urgent?.()) {
      if (findRunProcesses(m).every((p) => p.pid === this.pid)) return;
      await sleep(100);
    }
  }

  /** SIGKILL bcvk's group and every process carrying the marker; returns those found (bcvk excluded). */
  private killAll(): Leftover[] {
    const m = this.marks;
    const found = m ? findRunProcesses(m) : [];
    this.signalGroup('SIGKILL');
    for (const p of found) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    return found.filter((p) => p.pid !== this.pid);
  }

  /** The run's marks: bcvk's process group and start time, the environment marker. */
  get marks(): { pgid: number | null; start: number | null; tag: string } | null {
    if (this.tag === null) return null;
    return { pgid: this.pid ?? null, start: this.startTicks, tag: this.tag };
  }

  /** Cleanup finished: no need for the exit hook or the guard any more. */
  release(): void {
    this.dismissGuard();
    live.delete(this);
  }

  /** Synchronous last resort (process `exit` hook). */
  killNowSync(): void {
    this.signalGroup('SIGKILL');
    const m = this.marks;
    if (m) {
      for (const p of findRunProcesses(m)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    const c = this.containerCleanup;
    if (c) spawnSync(c.podman, ['rm', '-f', c.name], { stdio: 'ignore', timeout: 15_000 });
    this.dismissGuard();
    live.delete(this);
  }
}

export interface RemovalResult {
  ok: boolean;
  exitCode: number | null;
  ms: number;
  stderr: string;
  command: string[];
}

/** `podman rm -f NAME` (an argument array). Never throws. */
export async function removeContainer(
  removal: { file: string; args: string[] },
  timeoutMs = 60_000,
): Promise<RemovalResult> {
  const t0 = Date.now();
  const r = await execa(removal.file, removal.args, {
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
    all: false,
  });
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  return {
    ok: r.exitCode === 0,
    exitCode: r.exitCode ?? null,
    ms: Date.now() - t0,
    stderr: r.failed && r.exitCode === undefined ? (r.shortMessage ?? 'could not run') : stderr.slice(-2000),
    command: [removal.file, ...removal.args],
  };
}

/** Run a program for its output (versions, host facts); null when it cannot be run or fails. */
export async function probe(file: string, args: string[], timeoutMs = 10_000): Promise<string | null> {
  const r = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (r.failed && r.exitCode === undefined) return null;
  const out = (typeof r.stdout === 'string' ? r.stdout : '').trim();
  const err = (typeof r.stderr === 'string' ? r.stderr : '').trim();
  if (r.exitCode !== 0 && out === '') return null;
  return out || err || null;
}

const HANDLED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * SIGINT / SIGTERM / SIGHUP handlers for the duration of a run. Other listeners (e.g. the bin script's "exit 130
 * at once") are set aside while the scope is active and restored on dispose, so the run can clean up first.
 */
export class InterruptScope {
  signal: NodeJS.Signals | null = null;
  count = 0;
  private readonly saved = new Map<NodeJS.Signals, ((...a: unknown[]) => void)[]>();
  private readonly handler = (sig: NodeJS.Signals) => {
    this.count++;
    this.signal ??= sig;
    this.onSignal(sig, this.count);
  };
  private active = false;

  constructor(private readonly onSignal: (sig: NodeJS.Signals, count: number) => void = () => {}) {}

  get interrupted(): boolean {
    return this.signal !== null;
  }

  install(): this {
    if (this.active) return this;
    this.active = true;
    for (const s of HANDLED) {
      this.saved.set(s, process.listeners(s) as ((...a: unknown[]) => void)[]);
      process.removeAllListeners(s);
      process.on(s, this.handler);
    }
    return this;
  }

  dispose(): void {
    if (!this.active) return;
    this.active = false;
    for (const s of HANDLED) {
      process.removeListener(s, this.handler);
      for (const l of this.saved.get(s) ?? []) process.on(s, l);
    }
    this.saved.clear();
  }
}
