import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../launch/fakes-support.js';
import { e2eSkipped } from '../support/e2e-lab.mjs';
import { doubleEnv, processesWith, records } from '../support/e2e-run.js';

const BCVK = join(ROOT, 'lab/bcvk-double/bcvk');
const PODMAN = join(ROOT, 'lab/bcvk-double/podman');
/** Per-boot limit: a boot took 60–150 s here; the launcher's own --timeout must never be what ends a case. */
const BOOT_TIMEOUT = 360;

const say = (lines: string[]) => process.stdout.write(`\n[e2e systemd] ${lines.join('\n[e2e systemd] ')}\n`);

describe.skipIf(e2eSkipped())(
  'vfs-analyze run on the systemd guest through the bcvk double (real VMs)',
  () => {
    let dir: string;
    let env: Record<string, string>;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'vfs-e2e-sd-'));
      env = doubleEnv(BOOT_TIMEOUT + 60);
    });
    afterAll(() => {
      if (env) rmSync(env.BCVK_DOUBLE_STATE, { recursive: true, force: true });
      if (dir && !process.env.VFS_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    });

    const launch = (image: string, compare: string, reports: string, extra: string[] = []) =>
      runCli(
        [
          'run',
          image,
          '--compare',
          compare,
          '--runs',
          '1',
          '--timeout',
          String(BOOT_TIMEOUT),
          '--bcvk',
          BCVK,
          '--podman',
          PODMAN,
          '--reports',
          reports,
          ...extra,
        ],
        env,
        { timeoutMs: 2 * (BOOT_TIMEOUT + 60) * 1000 },
      );

    it('cache=never vs metadata: both boots healthy at multi-user.target, metadata issues far fewer requests', async () => {
      const reports = join(dir, 'healthy');
      const md = join(dir, 'healthy.md');
      const html = join(dir, 'healthy.html');
      const r = await launch('localhost/lab-systemd', 'cache=never,metadata', reports, [
        '--report',
        `md=${md}`,
        '--report',
        `html=${html}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(processesWith(env.BCVK_DOUBLE_STATE)).toEqual([]);
      const recs = records(reports);
      expect(recs.map((x) => x.variant.name)).toEqual(['cache=never', 'cache=metadata']);
      say(
        recs.map(
          (x) =>
            `${x.variant.name}: ${x.outcome.kind} (${x.stopReason}) goal after ${x.timeToOutcomeSec?.toFixed(1)} s, ` +
            `${x.totals.requests} requests, kernel ${x.versions.kernel}`,
        ),
      );
      for (const x of recs) {
        expect(x.outcome.kind).toBe('healthy');
        // run to the goal, never stopped early by a verdict
        expect(x.stopReason).toBe('goal');
        expect(x.timeToOutcomeSec).not.toBeNull();
        expect(x.versions.kernel).toMatch(/^7\./);
        for (const f of [
          'record.json',
          'analysis.json',
          'virtiofsd.log.gz',
          'console.txt.gz',
          'journal.json.gz',
        ])
          expect(existsSync(join(reports, 'runs', x.id, f)), `${x.id}/${f}`).toBe(true);
      }
      const [never, metadata] = recs;
      // this lab: ~130–150k requests per boot under never, ~29–34k under metadata (lab/README.md)
      expect(never.totals.requests).toBeGreaterThan(60_000);
      expect(metadata.totals.requests).toBeLessThan(0.5 * never.totals.requests);

      const cj = await runCli(['compare', reports, '--json'], {});
      expect(cj.code, cj.stderr).toBe(0);
      const comparison = JSON.parse(cj.stdout);
      expect(comparison.reference).toBe('cache=never');
      expect(comparison.variants[1].reductionVsReference).toBeGreaterThanOrEqual(0.5);
      expect(comparison.variants[0].outcomes.healthy).toBe(1);
      expect(comparison.variants[1].outcomes.healthy).toBe(1);
      expect(readFileSync(md, 'utf8')).toMatch(/cache=metadata/);
      expect(readFileSync(html, 'utf8')).toMatch(/cache=metadata/);
      say([`comparison (terminal):\n${r.stdout}`]);
    });

    it('the looping unit is stopped as a livelock, its process named from the journal, onset→stop recorded', async () => {
      const reports = join(dir, 'loop');
      const r = await launch('localhost/lab-systemd-loop', 'cache=never', reports);
      expect(r.code, r.stderr).toBe(0);
      expect(processesWith(env.BCVK_DOUBLE_STATE)).toEqual([]);
      const [x] = records(reports);
      const s = x.launch.stop;
      say([
        `loop: ${x.outcome.kind} (${x.stopReason}): ${x.outcome.title}`,
        `loop: onset ${s.onset}, onset→decision ${s.onsetToDecisionSec?.toFixed(1)} s, onset→stop ` +
          `${s.onsetToStopSec?.toFixed(1)} s, run ${x.totals.durationSec.toFixed(1)} s, ${x.totals.requests} requests, ` +
          `top pid ${x.topLoopingPid?.pid} (${x.topLoopingPid?.name})`,
      ]);
      expect(x.outcome.kind).toBe('livelock');
      expect(x.stopReason).toBe('livelock');
      expect(x.topLoopingPid?.name).toBe('sh');
      expect(s.onsetToStopSec).not.toBeNull();
      expect(s.onsetToStopSec!).toBeGreaterThanOrEqual(19);
      // busybox: 21.5 s. Here the other start jobs (dbus, getty, logind, e2scrub_reap) go on printing for ~10 s after
      // the loop starts, and a livelock needs minLoopSec (20 s) with no guest progress: measured 32.4 s onset→stop
      // (last progress +22 s). The 30 s launch-latency target holds from the end of progress, not from the onset.
      // (a figure printed above and kept in the README, not a wall-clock bound host load could cross: the behaviour
      // asserted is that the verdict stopped the run, well before --timeout)
      expect(x.totals.durationSec).toBeLessThan(BOOT_TIMEOUT - 10);
      expect(s.podmanRm.ok).toBe(true);
    });

    it('the silently blocking unit is stopped as a stall after the quiet threshold', async () => {
      const reports = join(dir, 'block');
      const r = await launch('localhost/lab-systemd-block', 'cache=never', reports);
      expect(r.code, r.stderr).toBe(0);
      expect(processesWith(env.BCVK_DOUBLE_STATE)).toEqual([]);
      const [x] = records(reports);
      say([
        `block: ${x.outcome.kind} (${x.stopReason}) after ${x.totals.durationSec.toFixed(1)} s: ${x.outcome.title}`,
      ]);
      expect(x.outcome.kind).toBe('stall');
      expect(x.stopReason).toBe('stall');
      expect(x.totals.durationSec).toBeLessThan(BOOT_TIMEOUT - 10);
    });
  },
);
