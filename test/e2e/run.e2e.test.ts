import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../launch/fakes-support.js';
import { e2eSkipped } from '../support/e2e-lab.mjs';
import { doubleEnv, processesWith, records } from '../support/e2e-run.js';

const BCVK = join(ROOT, 'lab/bcvk-double/bcvk');
const PODMAN = join(ROOT, 'lab/bcvk-double/podman');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// the lab check is e2e-setup's (a missing lab fails the run); only VFS_E2E_SKIP=1 skips
describe.skipIf(e2eSkipped())('vfs-analyze run through the bcvk double (real VMs)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vfs-e2e-'));
    env = doubleEnv(300);
  });
  afterAll(() => {
    if (env) rmSync(env.BCVK_DOUBLE_STATE, { recursive: true, force: true });
    if (dir && !process.env.VFS_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('cache=never livelocks and is stopped early; cache=metadata is healthy with ≥ 90% fewer requests', async () => {
    const reports = join(dir, 'reports');
    const timeout = 90;
    const r = await runCli(
      [
        'run',
        'localhost/lab-image',
        '--compare',
        'cache=never,metadata',
        '--runs',
        '2',
        '--timeout',
        String(timeout),
        '--bcvk',
        BCVK,
        '--podman',
        PODMAN,
        '--karg',
        'lab.workload=livelock',
        '--karg',
        'lab.secs=40',
        '--reports',
        reports,
      ],
      env,
      { timeoutMs: 540_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(processesWith(env.BCVK_DOUBLE_STATE)).toEqual([]);

    const recs = records(reports);
    expect(recs.map((x) => x.variant.name)).toEqual([
      'cache=never',
      'cache=metadata',
      'cache=never',
      'cache=metadata',
    ]);
    const never = recs.filter((x) => x.variant.name === 'cache=never');
    const metadata = recs.filter((x) => x.variant.name === 'cache=metadata');
    const lines: string[] = [];
    for (const x of never) {
      const s = x.launch.stop;
      lines.push(
        `cache=never run ${x.schedule?.run}: ${x.outcome.kind}, stopped after ${x.totals.durationSec.toFixed(1)} s ` +
          `(onset ${s.onset}, onset→decision ${s.onsetToDecisionSec?.toFixed(1)} s, onset→stop ${s.onsetToStopSec?.toFixed(1)} s, ` +
          `${s.how} + podman rm ${s.podmanRm.ms} ms), ${x.totals.requests} requests`,
      );
      expect(x.outcome.kind).toBe('livelock');
      expect(x.stopReason).toBe('livelock');
      // stopped once the loop has held minLoopSec (20 s): before --timeout and before the loop's own end
      // (~2 s boot + 40 s); the launch-latency target is onset → VM stopped ≤ 30 s
      // (the livelock outcome itself says it was stopped before the loop's own end; the latency figure is printed
      // above and measured by `npm run bench`, not asserted against a wall-clock bound host noise could cross)
      expect(x.launch.stop.onsetToStopSec).not.toBeNull();
      // never before the loop has held minLoopSec with no progress
      expect(x.launch.stop.onsetToStopSec!).toBeGreaterThanOrEqual(19);
      expect(x.launch.stop.podmanRm.ok).toBe(true);
      expect(x.topLoopingPid?.pid).toBeGreaterThan(0);
    }
    for (const x of metadata) {
      lines.push(
        `cache=metadata run ${x.schedule?.run}: ${x.outcome.kind} (${x.stopReason}) after ${x.totals.durationSec.toFixed(1)} s, ` +
          `${x.totals.requests} requests`,
      );
      expect(x.outcome.kind).toBe('healthy');
      expect(x.stopReason).toBe('goal');
    }
    const reduction =
      1 - median(metadata.map((x) => x.totals.requests)) / median(never.map((x) => x.totals.requests));
    lines.push(`requests: cache=metadata ${(reduction * 100).toFixed(1)}% fewer than cache=never (median)`);
    process.stdout.write(`\n[e2e] ${lines.join('\n[e2e] ')}\n`);
    expect(reduction).toBeGreaterThanOrEqual(0.9);

    for (const x of recs) {
      const runDir = join(reports, 'runs', x.id);
      for (const f of [
        'record.json',
        'analysis.json',
        'virtiofsd.log.gz',
        'console.txt.gz',
        'journal.json.gz',
      ]) {
        expect(existsSync(join(runDir, f)), `${x.id}/${f}`).toBe(true);
      }
      expect(x.versions.virtiofsd).toMatch(/virtiofsd 1\.13\.2/);
      // the guest kernel, from its first console line (which shares a line with SeaBIOS output)
      expect(x.versions.kernel).toMatch(/^6\.1\.0-\d+-cloud-amd64$/);
      expect(x.versions.bcvk).toMatch(/bcvk/);
    }

    // the comparison is reproduced from the saved records alone
    const c = await runCli(['compare', reports], {});
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(r.stdout);
    const cj = await runCli(['compare', join(reports, 'runs'), '--json'], {});
    const comparison = JSON.parse(cj.stdout);
    expect(comparison.reference).toBe('cache=never');
    expect(comparison.variants[1].reductionVsReference).toBeGreaterThanOrEqual(0.9);
    expect(comparison.variants[0].outcomes.livelock).toBe(2);
    expect(comparison.variants[1].outcomes.healthy).toBe(2);
  });

  it('--probe injects the guest probe: a looping process that never logs is named in the verdict', async () => {
    const reports = join(dir, 'reports-probe');
    const r = await runCli(
      [
        'run',
        'localhost/lab-image',
        '--compare',
        'cache=never',
        '--probe',
        '--timeout',
        '90',
        '--bcvk',
        BCVK,
        '--podman',
        PODMAN,
        '--karg',
        'lab.workload=silentloop',
        '--karg',
        'lab.secs=45',
        '--reports',
        reports,
      ],
      env,
      { timeoutMs: 240_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(processesWith(env.BCVK_DOUBLE_STATE)).toEqual([]);
    const [rec] = records(reports);
    expect(rec.outcome.kind).toBe('livelock');
    const doc = JSON.parse(readFileSync(join(reports, 'runs', rec.id, 'analysis.json'), 'utf8'));
    const v = doc.inputs[0].verdict;
    // /bin/fs-hammer never writes to the console or journal: only the probe can name it
    expect(v.title).toMatch(/pid \d+ \(fs-hammer\)/);
    // the number comes from /proc/PID/syscall, or only the name from the kernel stack when the task was running
    expect(v.culprits[0].detail).toMatch(/% CPU, in syscall newfstatat( \(262\))?/);
    expect(doc.guest.probe.records).toBeGreaterThan(0);
    process.stdout.write(`\n[e2e] --probe: ${v.title}; culprit ${v.culprits[0].detail}\n`);
  });

  it('Ctrl-C in the middle of a run: exit 130, nothing survives, the record says interrupted', async () => {
    const reports = join(dir, 'reports-int');
    const state = mkdtempSync('/tmp/bd-');
    const t0 = Date.now();
    const r = await runCli(
      [
        'run',
        'localhost/lab-image',
        '--compare',
        'cache=metadata',
        '--timeout',
        '90',
        '--bcvk',
        BCVK,
        '--podman',
        PODMAN,
        '--karg',
        'lab.workload=livelock',
        '--karg',
        'lab.secs=60',
        '--reports',
        reports,
      ],
      { ...env, BCVK_DOUBLE_STATE: state },
      {
        signal: 'SIGINT',
        // a few seconds after the double's "container" exists: the VM is up and looping
        when: () => readdirSync(state).length > 0 && Date.now() - t0 > 6000,
        timeoutMs: 120_000,
      },
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.ms).toBeLessThan(30_000);
    expect(processesWith(state)).toEqual([]);
    const recs = records(reports);
    expect(recs).toHaveLength(1);
    expect(recs[0].stopReason).toBe('interrupted');
    expect(recs[0].outcome.kind).toBe('interrupted');
    expect(recs[0].launch.stop.podmanRm.ok).toBe(true);
    rmSync(state, { recursive: true, force: true });
  });
});
