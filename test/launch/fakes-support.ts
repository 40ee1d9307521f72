/** Fake bcvk / virtiofsd / podman (test/launch/fakes/) set up in a temp folder, and the CLI spawned as a child. */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI entry: bin/vfs-analyze.js (VFS_ANALYZE_CLI overrides it, e.g. for a development harness). */
export const CLI = process.env.VFS_ANALYZE_CLI ?? join(ROOT, 'bin/vfs-analyze.js');
const FAKES = fileURLToPath(new URL('./fakes/', import.meta.url));
const FIXTURE = join(ROOT, 'fixtures/lab/rust-1.13.2-loop2-4s-cache-never/virtiofsd.log.gz');

export interface Fakes {
  dir: string;
  bcvk: string;
  podman: string;
  virtiofsd: string;
  state: string;
  reports: string;
  work: string;
  block: string;
}

/**
 * A block of whole loop iterations from a real capture (80 periods starting at `Getattr(1)`), so that blocks
 * written back to back keep the loop's period.
 */
function loopBlock(): string {
  const lines = gunzipSync(readFileSync(FIXTURE)).toString('utf8').split('\n').slice(2999, 8000);
  const out: string[] = [];
  let n = 0;
  for (const l of lines) {
    if (/opcode=Getattr \(3\), inode=1,/.test(l)) n++;
    if (n > 80) break;
    if (n >= 1) out.push(l);
  }
  return `${out.join('\n')}\n`;
}

export function setupFakes(): Fakes {
  const dir = mkdtempSync(join(tmpdir(), 'vfs-launch-'));
  const f: Fakes = {
    dir,
    bcvk: join(dir, 'bcvk'),
    podman: join(dir, 'podman'),
    virtiofsd: join(dir, 'virtiofsd'),
    state: join(dir, 'state'),
    reports: join(dir, 'reports'),
    work: join(dir, 'work'),
    block: join(dir, 'block.log'),
  };
  for (const n of ['bcvk', 'podman', 'virtiofsd']) {
    copyFileSync(join(FAKES, n), join(dir, n));
    chmodSync(join(dir, n), 0o755);
  }
  mkdirSync(f.work);
  writeFileSync(f.block, loopBlock());
  return f;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawn the CLI; `signal` is sent once `when()` holds (checked every 50 ms). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  opts: { signal?: NodeJS.Signals; when?: () => boolean; timeoutMs?: number } = {},
): Promise<CliRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    let timer: NodeJS.Timeout | undefined;
    if (opts.signal) {
      timer = setInterval(() => {
        if (opts.when?.() ?? true) {
          clearInterval(timer);
          child.kill(opts.signal);
        }
      }, 50);
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Arguments for a fake run. */
export function fakeArgs(f: Fakes, extra: string[] = []): string[] {
  return [
    'run',
    'quay.io/fake/image',
    '--bcvk',
    f.bcvk,
    '--podman',
    f.podman,
    '--virtiofsd',
    f.virtiofsd,
    '--reports',
    f.reports,
    '--work-dir',
    f.work,
    '--poll-ms',
    '250',
    ...extra,
  ];
}

export function fakeEnv(f: Fakes, mode: string, extra: Record<string, string> = {}): Record<string, string> {
  return { FAKE_STATE: f.state, FAKE_BLOCK: f.block, FAKE_MODE: mode, ...extra };
}

/** Alive and not a zombie (a killed orphan waits a moment for its new parent to reap it). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids the fake bcvk recorded that are still alive. */
export function survivors(f: Fakes): number[] {
  const out: number[] = [];
  for (const n of ['bcvk.pid', 'virtiofsd.pid', 'descendant.pid']) {
    const p = join(f.state, n);
    if (!existsSync(p)) continue;
    const pid = Number(readFileSync(p, 'utf8').trim());
    if (pid > 0 && pidAlive(pid)) out.push(pid);
  }
  return out;
}

export function stateFile(f: Fakes, name: string): string {
  const p = join(f.state, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}
