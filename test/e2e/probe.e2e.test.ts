/**
 * End-to-end: the guest probe in the real lab VM (busybox guest, QEMU TCG, Rust virtiofsd 1.13.2).
 *
 * Boots `silentloop` (a process, /bin/fs-hammer, that stats two paths in a loop and never writes anything) with
 * `lab.probe=1`, and checks that the probe data ALONE names the PID virtiofsd sees as the top requester, with its
 * CPU share and syscall. Then boots the same workload without the probe and prints the overhead comparison, and an
 * idle guest with the probe to measure its own CPU per sample. The probe writes to the org.vfsprobe virtio-serial
 * port (probe.txt). Needs a provisioned lab (`lab/provision.sh`) and root (virtiofsd/QEMU as the lab runs them).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { e2eSkipped } from '../support/e2e-lab.mjs';
import { type ParsedProbe, parseProbeText } from '../support/probe.js';

const REPO = new URL('../..', import.meta.url).pathname;
const CACHE = process.env.LAB_CACHE ?? join(REPO, '.lab-cache');
// the lab check is e2e-setup's (a missing lab fails the run); only VFS_E2E_SKIP=1 skips
const skipped = e2eSkipped();
const SECS = Number(process.env.PROBE_E2E_SECS ?? 8);

const work = mkdtempSync(join(tmpdir(), 'vfs-probe-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface LabRun {
  dir: string;
  requestsByPid: Map<number, number>;
  wallS: number;
}

async function runLab(
  name: string,
  workload: string,
  probe: boolean,
  secs = SECS,
  kernel: 'default' | 'fusetrace' = 'default',
): Promise<LabRun> {
  const dir = join(work, name);
  const args = ['--daemon', 'rust', '--cache', 'never', '--workload', workload, '--secs', String(secs)];
  args.push('--timeout', '150', '--out', dir, '--kernel', kernel);
  if (probe) args.push('--karg', 'lab.probe=1');
  const r = await execa(join(REPO, 'lab/run-vm.sh'), args, { reject: false, env: { LAB_CACHE: CACHE } });
  if (r.exitCode !== 0)
    throw new Error(`run-vm.sh ${name} failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  const summary = readFileSync(join(dir, 'summary.txt'), 'utf8');
  const byPid = new Map<number, number>();
  const m = /^requests_by_pid: (.*)$/m.exec(summary);
  for (const kv of (m?.[1] ?? '').split(' ')) {
    const [p, n] = kv.split('=');
    if (p && n) byPid.set(Number(p), Number(n));
  }
  const wall = Number(/^wall_s=([\d.]+)/m.exec(summary)?.[1] ?? 0);
  return { dir, requestsByPid: byPid, wallS: wall };
}

/** The probe's records of a lab run (its port log), parsed. */
function probeFacts(run: LabRun): ParsedProbe {
  return parseProbeText(readFileSync(join(run.dir, 'probe.txt'), 'utf8'));
}

function topGuestPid(run: LabRun): [number, number] {
  const rows = [...run.requestsByPid.entries()].filter(([p]) => p !== 0).sort((a, b) => b[1] - a[1]);
  return rows[0];
}

/** The probe on this host's kernel (not emulated): its CPU share over `samples` samples at 1 Hz. */
async function nativeOverhead(shell: string[], samples: number, env: Record<string, string>) {
  const r = await execa(shell[0], [...shell.slice(1), join(REPO, 'probe/vfs-probe.sh')], {
    env: { VFS_PROBE_OUT: 'stdout', VFS_PROBE_SAMPLES: String(samples), ...env },
  });
  const { facts, recs } = parseProbeText(r.stdout);
  const hello = recs.find((x) => x.kind === 'hello');
  const mode = hello?.kind === 'hello' ? (hello.mode ?? '') : '';
  const tasks = facts.latestSample?.tasks ?? 0;
  return { overhead: facts.overhead(), tasks, mode };
}

const BUSYBOX = join(CACHE, 'busybox/bin/busybox');

const NATIVE: { name: string; shell: string[]; env: () => Record<string, string>; engine: 'awk' | 'sh' }[] = [
  {
    name: 'busybox ash + busybox awk',
    shell: [BUSYBOX, 'sh'],
    env: () => ({ VFS_PROBE_AWK: `${BUSYBOX} awk` }),
    engine: 'awk',
  },
  { name: 'dash + mawk', shell: ['dash'], env: () => ({ VFS_PROBE_AWK: '/usr/bin/mawk' }), engine: 'awk' },
  { name: 'bash + mawk', shell: ['bash'], env: () => ({ VFS_PROBE_AWK: '/usr/bin/mawk' }), engine: 'awk' },
  {
    name: 'busybox ash, shell sampler',
    shell: [BUSYBOX, 'sh'],
    env: () => ({ VFS_PROBE_ENGINE: 'sh' }),
    engine: 'sh',
  },
];

describe('guest probe overhead on the host kernel (native)', () => {
  for (const c of NATIVE) {
    const have = c.shell[0].startsWith('/') ? existsSync(c.shell[0]) : true;
    // awk sampler: goal < 1 % of a CPU (measured 0.1-0.3 %); shell sampler (one fork per sample): ~1 %. The figure is
    // printed (and measured in the bench); the test asserts only a sanity bound that host noise cannot reach — a
    // probe that spins or forks per task would.
    const bound = 0.2;
    it.skipIf(!have)(
      `${c.name}: CPU share at 1 Hz is printed, and far below a spinning probe's`,
      async () => {
        const { overhead, tasks, mode } = await nativeOverhead(c.shell, 20, c.env());
        console.log(
          `[probe e2e] native ${c.name} (${mode} sampler), ${tasks} tasks: ${((overhead?.share ?? 0) * 100).toFixed(2)}% ` +
            `of a CPU, ${overhead?.msPerSample.toFixed(2)} ms per sample (${overhead?.basis}), median ` +
            `${((overhead?.medianShare ?? 0) * 100).toFixed(2)}% over ${overhead?.samples} samples`,
        );
        expect(mode).toBe(c.engine);
        expect(overhead?.samples ?? 0).toBeGreaterThanOrEqual(15);
        expect(overhead?.basis).toBe(c.engine === 'awk' ? 'ns' : 'ticks');
        expect(overhead?.share ?? 1).toBeLessThan(bound);
      },
      60_000,
    );
  }
});

describe.skipIf(skipped)('guest probe in the lab (QEMU TCG)', () => {
  it('names the silent looping process, its CPU share and syscall, from probe data alone', async () => {
    const withProbe = await runLab('probe', 'silentloop', true);
    const lines = readFileSync(join(withProbe.dir, 'console.host-stamped.log'), 'utf8').split('\n');
    // the looping process never wrote a line before it was killed
    const doneAt = lines.findIndex((l) => l.includes('silentloop: done'));
    expect(doneAt).toBeGreaterThan(0);
    expect(lines.slice(0, doneAt).some((l) => l.includes('fs-hammer'))).toBe(false);
    const { parser, facts } = probeFacts(withProbe);
    const [pid, requests] = topGuestPid(withProbe);
    const name = facts.nameAt(pid);
    const detail = facts.describe(pid);
    const overhead = facts.overhead();
    console.log(
      `[probe e2e] virtiofsd top guest pid ${pid} (${requests} requests) = ${name}: ${detail}\n` +
        `[probe e2e] records ${parser.stats.records}, truncated ${parser.stats.truncated}, fuse tracepoints ${facts.fuseStatus}\n` +
        `[probe e2e] probe CPU under the livelock (TCG vCPU, host busy with virtiofsd): ${((overhead?.share ?? 0) * 100).toFixed(2)}%, ` +
        `${overhead?.msPerSample.toFixed(1)} ms per sample, median ${((overhead?.medianShare ?? 0) * 100).toFixed(2)}%, ` +
        `max ${((overhead?.maxShare ?? 0) * 100).toFixed(1)}% over ${overhead?.samples} samples`,
    );
    expect(name).toBe('fs-hammer');
    expect(facts.hottest(undefined, 1)[0]?.tid).toBe(pid);
    expect(facts.cpuShare(pid) ?? 0).toBeGreaterThan(0.1);
    expect(detail).toMatch(/^state [RSD], \d+% CPU, in syscall newfstatat( \(262\))?/);
    expect(parser.stats.truncated).toBe(0);
    expect(facts.fuseStatus).toBe('absent');
    expect(overhead?.basis).toBe('ns');
    // measured 0.6-1.4 %: under the livelock the 2-core host is saturated (TCG + virtiofsd writing its debug log), so
    // every guest task, the probe included, is charged the time its vCPU waits for the host. The idle run below is
    // the probe's own cost. Printed above; asserted only against a spinning probe (host noise gave 3.2 % once).
    expect(overhead?.share ?? 1).toBeLessThan(0.2);
  }, 180_000);

  it('prints its CPU cost on an idle guest (measured well under 1 % of the vCPU at 1 Hz)', async () => {
    const idle = await runLab('idle', 'idle', true, 30);
    const { facts } = probeFacts(idle);
    const o = facts.overhead();
    console.log(
      `[probe e2e] probe CPU on an idle TCG guest: ${((o?.share ?? 0) * 100).toFixed(2)}% of the vCPU, ` +
        `${o?.msPerSample.toFixed(1)} ms per sample (${o?.basis}), median ${((o?.medianShare ?? 0) * 100).toFixed(2)}%, ` +
        `max ${((o?.maxShare ?? 0) * 100).toFixed(1)}% (full samples) over ${o?.samples} samples`,
    );
    expect(o?.basis).toBe('ns');
    expect(o?.samples ?? 0).toBeGreaterThanOrEqual(25);
    // measured 0.37-0.55 % (3.7-5.5 ms per sample; a full sample every 60 s ~30 ms): printed above; asserted only
    // against a spinning probe, so host noise cannot fail the suite.
    expect(o?.share ?? 1).toBeLessThan(0.2);
  }, 180_000);

  it('joins guest and host by FUSE unique on a kernel with the fuse tracepoints', async () => {
    const run = await runLab('fusetrace', 'silentloop', true, 5, 'fusetrace');
    const r = await execa(process.execPath, [
      join(REPO, 'bin/vfs-analyze.js'),
      '--json',
      '--run-dir',
      run.dir,
    ]);
    const doc = JSON.parse(r.stdout);
    const j = doc.guest.probe.fuseJoin;
    const stamped = await execa(process.execPath, [
      join(REPO, 'bin/vfs-analyze.js'),
      '--json',
      join(run.dir, 'virtiofsd.log'),
      '--console',
      join(run.dir, 'console.host-stamped.log'),
    ]);
    const sc = JSON.parse(stamped.stdout).guest.clock;
    console.log(
      `[probe e2e] fuse tracepoints ${doc.guest.probe.fuseTracepoints}: ${j?.matched} of ${j?.guestSends} traced requests ` +
        `found by unique, ${j?.samePid} under the sender's pid; clock ${doc.guest.clock.method} ±${doc.guest.clock.uncertaintyMs.toFixed(0)} ms, ` +
        `${(doc.guest.clock.offsetMs - sc.offsetMs).toFixed(0)} ms from the host-stamped console (±${sc.uncertaintyMs.toFixed(0)} ms)`,
    );
    expect(doc.guest.probe.fuseTracepoints).toBe('on');
    expect(j.guestSends).toBeGreaterThanOrEqual(32);
    expect(j.matched).toBe(j.guestSends);
    expect(j.samePid).toBe(j.matched);
    expect(doc.guest.clock.method).toBe('fuse-unique');
    expect(Math.abs(doc.guest.clock.offsetMs - sc.offsetMs)).toBeLessThan(
      doc.guest.clock.uncertaintyMs + sc.uncertaintyMs,
    );
    // the 5 s loop ended before power-off: an episode, named by the probe
    expect(doc.inputs[0].verdict.episodes[0].summary).toMatch(/pid \d+ \(fs-hammer\)/);
  }, 180_000);

  it('compares runs with and without the probe (ABBA order) and prints the overhead', async () => {
    // the lab host drifts over minutes (its neighbours): alternate with / without / without / with
    const order: [string, boolean][] = [
      ['abba-1-probe', true],
      ['abba-2-noprobe', false],
      ['abba-3-noprobe', false],
      ['abba-4-probe', true],
    ];
    const runs: { probe: boolean; total: number; perSec: number[] }[] = [];
    for (const [name, probe] of order) {
      const run = await runLab(name, 'silentloop', probe);
      const [pid, total] = topGuestPid(run);
      runs.push({ probe, total, perSec: perSecond(run, pid) });
    }
    const side = (probe: boolean) => runs.filter((r) => r.probe === probe);
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const totalRate = (probe: boolean) => mean(side(probe).map((r) => r.total / SECS));
    const steadyRate = (probe: boolean) => mean(side(probe).map((r) => steady(r.perSec)));
    const pct = (x: number, y: number) => (((y - x) / y) * 100).toFixed(1);
    console.log(
      `[probe e2e] ABBA, looping process FUSE requests/s over the run: without probe ${totalRate(false).toFixed(0)}, ` +
        `with probe ${totalRate(true).toFixed(0)} (${pct(totalRate(true), totalRate(false))}% fewer)\n` +
        runs
          .map((r) => `[probe e2e] per second, ${r.probe ? 'with:   ' : 'without:'} ${r.perSec.join(' ')}`)
          .join('\n') +
        `\n[probe e2e] steady state (median of the seconds after the first two): without ${steadyRate(false).toFixed(0)}, ` +
        `with ${steadyRate(true).toFixed(0)} (${pct(steadyRate(true), steadyRate(false))}% fewer); the first seconds carry ` +
        `the probe's start-up (see probe/README.md)`,
    );
    for (const r of runs) expect(r.total).toBeGreaterThan(0);
  }, 300_000);
});

/** Requests of `pid` per second of virtiofsd's log (whole-second stamps), first to last second of the run. */
function perSecond(run: LabRun, pid: number): number[] {
  const counts = new Map<string, number>();
  const tail = `, pid=${pid}`;
  for (const l of readFileSync(join(run.dir, 'virtiofsd.log'), 'utf8').split('\n')) {
    if (!l.endsWith(tail) || !l.includes('Received request')) continue;
    const sec = l.slice(1, 20);
    counts.set(sec, (counts.get(sec) ?? 0) + 1);
  }
  return [...counts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([, n]) => n);
}

function steady(perSec: number[]): number {
  const xs = perSec.slice(2, -1).sort((x, y) => x - y);
  return xs.length ? xs[Math.floor(xs.length / 2)] : 0;
}
