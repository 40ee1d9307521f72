/**
 * `vfs-analyze run` against fake executables (test/launch/fakes/): a fake bcvk that starts the generated wrapper
 * (which execs a fake virtiofsd writing a real capture's loop with current time stamps), writes console.txt and
 * journal.json, and hangs until SIGTERM. The real-VM version of these checks is test/e2e/run.e2e.test.ts.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaunchedRecord } from '../../src/launch/runner.js';
import {
  type Fakes,
  fakeArgs,
  fakeEnv,
  runCli,
  setupFakes,
  stateFile,
  survivors,
} from '../launch/fakes-support.js';

function records(f: Fakes): { dir: string; record: LaunchedRecord }[] {
  const runs = join(f.reports, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((d) => !d.startsWith('.'))
    .map((d) => ({
      dir: join(runs, d),
      record: JSON.parse(readFileSync(join(runs, d, 'record.json'), 'utf8')) as LaunchedRecord,
    }));
}

let current: Fakes | null = null;
afterEach(() => {
  // nothing the fakes started may outlive a test
  const f = current;
  current = null;
  if (f) {
    expect(survivors(f)).toEqual([]);
    rmSync(f.dir, { recursive: true, force: true });
  }
});

describe('vfs-analyze run (fake bcvk)', () => {
  it('stops a livelock early, cleans up, writes the run folder atomically, compare reproduces the table', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      // minLoopSec lowered to keep the test short: the stop mechanics are the point here (the default, 20 s, is
      // exercised by the real-VM e2e and the verdict tests).
      fakeArgs(f, ['--compare', 'cache=never', '--timeout', '30', '--threshold', 'minLoopSec=4']),
      fakeEnv(f, 'livelock'),
    );
    expect(r.code, r.stderr).toBe(0);
    const recs = records(f);
    expect(recs).toHaveLength(1);
    const { dir, record } = recs[0];
    expect(record.stopReason).toBe('livelock');
    expect(record.outcome.kind).toBe('livelock');
    expect(record.launch.stop.confirmPolls).toBe(2);
    expect(record.launch.stop.onsetToStopSec).not.toBeNull();
    // stopped early, well before the 30 s timeout (how early depends on the machine's load)
    expect(record.launch.stop.onsetToStopSec!).toBeLessThanOrEqual(25);
    expect(record.totals.durationSec).toBeLessThan(28);
    expect(record.topLoopingPid?.pid).toBe(1);
    expect(record.versions.bcvk).toBe('bcvk 0.0.0-fake');
    expect(record.versions.virtiofsd).toBe('virtiofsd 0.0.0-fake');
    expect(record.versions.kernel).toBe('6.1.0-fake');
    expect(record.command[0]).toBe(f.bcvk);
    expect(record.command).toContain(`--name=${record.launch.container}`);
    // the wrapper rewrote bcvk's --cache=never and added the debug level
    const argv = readFileSync(join(dir, 'virtiofsd.argv'), 'utf8').split('\n');
    expect(argv).toContain('--cache=never');
    expect(argv).toContain('--log-level=debug');
    for (const file of [
      'record.json',
      'analysis.json',
      'virtiofsd.log.gz',
      'console.txt.gz',
      'journal.json.gz',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const analysis = JSON.parse(readFileSync(join(dir, 'analysis.json'), 'utf8'));
    expect(analysis.inputs[0].verdict.kind).toBe('livelock');
    expect(analysis.inputs[0].totals.requests).toBe(record.totals.requests);
    // atomic write: no temporaries left next to the run folder; the work folder is gone
    expect(readdirSync(join(f.reports, 'runs')).filter((d) => d.startsWith('.'))).toEqual([]);
    expect(readdirSync(f.work)).toEqual([]);
    expect(stateFile(f, 'events')).toMatch(/started\nterm\n/);
    expect(stateFile(f, 'podman.calls').trim()).toBe(`rm -f ${record.launch.container}`);

    const c = await runCli(['compare', f.reports], {});
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(r.stdout);
  });

  it('reaches the goal → healthy, stops at once', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      fakeArgs(f, ['--compare', 'cache=metadata', '--timeout', '30']),
      fakeEnv(f, 'goal'),
    );
    expect(r.code, r.stderr).toBe(0);
    const [{ record }] = records(f);
    expect(record.stopReason).toBe('goal');
    expect(record.outcome.kind).toBe('healthy');
    expect(record.timeToOutcomeSec).not.toBeNull();
    expect(record.totals.durationSec).toBeLessThan(25); // on the goal, not at the 30 s timeout
    expect(stateFile(f, 'podman.calls')).toMatch(/^rm -f vfs-analyze-/);
  });

  it('times out: the verdict at that moment, stopReason timeout', async () => {
    const f = (current = setupFakes());
    const r = await runCli(fakeArgs(f, ['--timeout', '3', '--json']), fakeEnv(f, 'hang'));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('vfs-analyze.experiment');
    expect(doc.runs).toHaveLength(1);
    const [{ record }] = records(f);
    expect(record.stopReason).toBe('timeout');
    expect(['inconclusive', 'busy']).toContain(record.outcome.kind);
    expect(record.timeToOutcomeSec).toBeNull();
    expect(record.totals.durationSec).toBeGreaterThanOrEqual(3);
    expect(record.totals.durationSec).toBeLessThan(15); // at the timeout, not left running
  });

  it('child crash → error outcome, exit 5, bcvk stderr kept, container removed', async () => {
    const f = (current = setupFakes());
    const r = await runCli(fakeArgs(f, ['--timeout', '30']), fakeEnv(f, 'crash'));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/every run ended in an error/);
    const [{ dir, record }] = records(f);
    expect(record.stopReason).toBe('error');
    expect(record.outcome.kind).toBe('error');
    expect(record.exitCode).toBe(1);
    expect(record.launch.bcvk.stderrTail).toMatch(/QEMU exited with non-zero status/);
    expect(readFileSync(join(dir, 'bcvk.stderr.txt'), 'utf8')).toMatch(/QEMU exited/);
    expect(stateFile(f, 'podman.calls')).toMatch(/^rm -f /);
  });

  it('bcvk ignoring SIGTERM is SIGKILLed after the grace period', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      fakeArgs(f, ['--timeout', '30', '--grace', '1', '--threshold', 'minLoopSec=4']),
      fakeEnv(f, 'livelock', { FAKE_IGNORE_TERM: '1' }),
    );
    expect(r.code, r.stderr).toBe(0);
    const [{ record }] = records(f);
    expect(record.stopReason).toBe('livelock');
    expect(record.launch.stop.how).toBe('sigkill');
    expect(record.launch.stop.stopMs).toBeGreaterThanOrEqual(900);
    expect(stateFile(f, 'events')).toMatch(/ignored-term/);
  });

  it('SIGINT mid-run: cleanup, the record says interrupted, exit 130', async () => {
    const f = (current = setupFakes());
    const r = await runCli(
      fakeArgs(f, ['--compare', 'cache=never,metadata', '--timeout', '60']),
      fakeEnv(f, 'hang'),
      {
        signal: 'SIGINT',
        when: () => stateFile(f, 'events').includes('started'),
      },
    );
    expect(r.code, r.stderr).toBe(130);
    const recs = records(f);
    expect(recs).toHaveLength(1); // the second variant never started
    expect(recs[0].record.stopReason).toBe('interrupted');
    expect(recs[0].record.outcome.kind).toBe('interrupted');
    expect(stateFile(f, 'events')).toMatch(/term/);
    expect(stateFile(f, 'podman.calls')).toMatch(/^rm -f /);
  });

  it('rejects an invalid mitigation before anything starts', async () => {
    const f = (current = setupFakes());
    const r = await runCli(fakeArgs(f, ['--compare', 'cache=sometimes']), fakeEnv(f, 'livelock'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cache=sometimes: not a virtiofsd cache mode/);
    expect(existsSync(f.state)).toBe(false);
  });
});
