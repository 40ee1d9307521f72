/** Helpers shared by the real-VM e2e tests of `vfs-analyze run`: the lab's env.sh, leftover processes, run records. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchedRecord } from '../../src/launch/runner.js';
import { LAB_CACHE } from './e2e-lab.mjs';

/** The lab's env.sh (KEY='value' lines). */
export function labEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(LAB_CACHE, 'env.sh'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Processes whose command line mentions `marker` (the double's state folder is in QEMU's and virtiofsd's argv). */
export function processesWith(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '' && /qemu-system|virtiofsd|bcvk|tar /.test(l));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The run records under `reports/runs`, in schedule order. */
export function records(reports: string): LaunchedRecord[] {
  const runs = join(reports, 'runs');
  return readdirSync(runs)
    .filter((d) => !d.startsWith('.'))
    .map((d) => JSON.parse(readFileSync(join(runs, d, 'record.json'), 'utf8')) as LaunchedRecord)
    .sort((a, b) => (a.schedule?.order ?? 0) - (b.schedule?.order ?? 0));
}

/**
 * Environment for the bcvk double: a fresh short state folder (the double puts virtiofsd's socket under
 * STATE/<container name>/run/; sun_path is 108 bytes), its safety-net lifetime, and the lab's Rust virtiofsd.
 */
export function doubleEnv(maxSecs: number): Record<string, string> {
  const lab = labEnv();
  return {
    BCVK_DOUBLE_STATE: mkdtempSync('/tmp/bd-'),
    BCVK_DOUBLE_MAX_SECS: String(maxSecs),
    VFS_REAL_VIRTIOFSD: JSON.stringify([
      lab.LAB_RUST_LD,
      '--library-path',
      lab.LAB_RUST_LIB,
      lab.LAB_RUST_BIN,
    ]),
  };
}
