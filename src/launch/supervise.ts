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

import { spawnSync } from 'node:child_process';
import { execa, type ResultPromise } from 'execa';

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
}

export interface StopResult {
  /** How the child ended: it had already exited, SIGTERM sufficed, or SIGKILL was needed. */
  how: 'exited' | 'sigterm' | 'sigkill';
  ms: number;
  exit: ChildExit;
}

const live = new Set<SupervisedChild>();
let exitHookInstalled = false;

function exitHook(): void {
  for (const c of live) c.killNowSync();
}

/** A timer that does not keep the process alive on its own. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

export class SupervisedChild {
  exit: ChildExit | null = null;
  readonly exited: Promise<ChildExit>;
  readonly pid: number | undefined;
  private readonly sub: ResultPromise;
  /** Container to remove synchronously if vfs-analyze dies before cleanup. */
  containerCleanup: { podman: string; name: string } | null = null;

  private constructor(
    readonly file: string,
    readonly args: readonly string[],
    opts: StartOptions,
  ) {
    this.sub = execa(file, [...args], {
      detached: true,
      cleanup: false,
      stdin: 'ignore',
      stdout: { file: opts.stdoutFile },
      stderr: { file: opts.stderrFile },
      reject: false,
      env: opts.env,
      extendEnv: true,
      cwd: opts.cwd,
    });
    this.pid = this.sub.pid;
    this.exited = this.sub.then(
      (r) => {
        const spawnError =
          r.failed && r.exitCode === undefined && r.signal === undefined ? r.shortMessage : undefined;
        const e: ChildExit = {
          exitCode: r.exitCode ?? null,
          signal: r.signal ?? null,
          at: Date.now(),
          ...(spawnError ? { spawnError } : {}),
        };
        this.exit = e;
        return e;
      },
      (err: unknown) => {
        const e: ChildExit = { exitCode: null, signal: null, spawnError: String(err), at: Date.now() };
        this.exit = e;
        return e;
      },
    );
    live.add(this);
    if (!exitHookInstalled) {
      process.on('exit', exitHook);
      exitHookInstalled = true;
    }
  }

  static start(file: string, args: readonly string[], opts: StartOptions): SupervisedChild {
    return new SupervisedChild(file, args, opts);
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
   * `urgent` (a second Ctrl-C) skips the grace period.
   */
  async stop(graceMs: number, urgent?: () => boolean): Promise<StopResult> {
    const t0 = Date.now();
    if (this.exit) {
      this.signalGroup('SIGKILL');
      return { how: 'exited', ms: 0, exit: this.exit };
    }
    this.signalLeader('SIGTERM');
    let how: StopResult['how'] = 'sigterm';
    const deadline = t0 + graceMs;
    while (!this.exit && Date.now() < deadline && !urgent?.()) {
      await Promise.race([this.exited, sleep(50)]);
    }
    if (!this.exit) how = 'sigkill';
    this.signalGroup('SIGKILL');
    const exit = await Promise.race([this.exited, sleep(5000).then(() => null)]);
    return {
      how,
      ms: Date.now() - t0,
      exit: exit ?? { exitCode: null, signal: 'SIGKILL', at: Date.now() },
    };
  }

  /** Cleanup finished: no need for the exit hook any more. */
  release(): void {
    live.delete(this);
  }

  /** Synchronous last resort (process `exit` hook). */
  killNowSync(): void {
    this.signalGroup('SIGKILL');
    const c = this.containerCleanup;
    if (c) spawnSync(c.podman, ['rm', '-f', c.name], { stdio: 'ignore', timeout: 15_000 });
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
