/**
 * Launcher faults against fake executables (test/launch/fakes/): a descendant that leaves bcvk's process group and
 * session, and a SIGKILLed `vfs-analyze run`. The real-VM versions are in test/e2e/run.e2e.test.ts and
 * lab/fault-inject.sh.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaunchedRecord } from '../../src/launch/runner.js';
import {
  type Fakes,
  fakeArgs,
  fakeEnv,
  pidAlive,
  runCli,
  setupFakes,
  stateFile,
  survivors,
} from './fakes-support.js';

function records(f: Fakes): LaunchedRecord[] {
  const runs = join(f.reports, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((d) => !d.startsWith('.'))
    .map((d) => JSON.parse(readFileSync(join(runs, d, 'record.json'), 'utf8')) as LaunchedRecord);
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

let current: Fakes | null = null;
afterEach(() => {
  const f = current;
  current = null;
  if (f) {
    // nothing the fakes started may outlive a test (kill and fail, so a bug here cannot leak processes)
    const left = survivors(f);
    for (const p of left) process.kill(p, 'SIGKILL');
    expect(left).toEqual([]);
    rmSync(f.dir, { recursive: true, force: true });
  }
});

describe('vfs-analyze run: nothing left behind (fake bcvk)', () => {
  it('a descendant outside the process group is killed after the run, reported in one line; the record has the real exit code', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      fakeArgs(f, ['--compare', 'cache=metadata', '--timeout', '30']),
      fakeEnv(f, 'goal', { FAKE_LEAVE_DESCENDANT: '1' }),
      { timeoutMs: 40_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const desc = Number(stateFile(f, 'descendant.pid').trim());
    expect(desc).toBeGreaterThan(0);
    expect(pidAlive(desc)).toBe(false);
    // it held bcvk's stdout and stderr for 300 s: the run did not wait for it
    expect(r.ms).toBeLessThan(30_000);
    const lines = r.stderr.split('\n').filter((l) => /left .* behind/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`bcvk left 1 process \\(sleep ${desc} \\(left the group\\)\\) behind; SIGKILLed`),
    );
    const [rec] = records(f);
    expect(rec.outcome.kind).toBe('healthy');
    expect(rec.exitCode).toBe(0); // the fake's SIGTERM trap exits 0
    expect(rec.launch.bcvk.exitCode).toBe(0);
    expect(rec.launch.stop.leftovers.killed).toEqual([{ pid: desc, comm: 'sleep', by: 'marker' }]);
    expect(rec.launch.stop.leftovers.survivors).toEqual([]);
    expect(rec.launch.supervision?.tag).toBe(rec.launch.container);
    // the active-run file is gone once the run cleaned up
    expect(readdirSync(join(f.reports, '.active-runs'))).toEqual([]);
  });

  it('SIGKILL of vfs-analyze: bcvk dies with it (parent-death signal, guard), and the next run sweeps and says so', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      fakeArgs(f, ['--compare', 'cache=never', '--timeout', '60']),
      fakeEnv(f, 'hang', { FAKE_LEAVE_DESCENDANT: '1' }),
      { signal: 'SIGKILL', when: () => stateFile(f, 'events').includes('started') },
    );
    expect(r.signal).toBe('SIGKILL');
    const pids = ['bcvk.pid', 'virtiofsd.pid', 'descendant.pid'].map((n) => Number(stateFile(f, n).trim()));
    // bcvk got SIGTERM from the kernel (its trap ran), then the guard ended the rest
    expect(await until(() => pids.every((p) => !pidAlive(p)), 15_000), `alive: ${survivors(f)}`).toBe(true);
    expect(stateFile(f, 'events')).toMatch(/term/);
    expect(records(f)).toEqual([]);
    // its active-run file (and, had the kill come in the middle of rewriting it, that write's temporary file)
    expect(readdirSync(join(f.reports, '.active-runs')).filter((n) => n.endsWith('.json'))).toHaveLength(1);

    const next = await runCli(
      fakeArgs(f, ['--compare', 'cache=metadata', '--timeout', '30']),
      fakeEnv(f, 'goal'),
    );
    expect(next.code, next.stderr).toBe(0);
    const lines = next.stderr.split('\n').filter((l) => l.includes('an earlier run'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/was killed before it cleaned up: .*podman rm -f.*removed its work folder/);
    expect(readdirSync(join(f.reports, '.active-runs'))).toEqual([]);
    expect(readdirSync(f.work)).toEqual([]);
  });
});
