/**
 * End-to-end: the guest probe in the real lab VM (busybox guest, QEMU TCG, Rust virtiofsd 1.13.2).
 *
 * Boots `silentloop` (a process, /bin/fs-hammer, that stats two paths in a loop and never writes anything) with
 * `lab.probe=1`, and checks that the probe data ALONE names the PID virtiofsd sees as the top requester, with its
 * CPU share and syscall. Then boots the same workload without the probe and prints the overhead comparison.
 *
 * lab/run-vm.sh knows neither the `silentloop` workload nor extra kernel arguments, so the test puts a
 * `qemu-system-x86_64` shim first on PATH that rewrites `-append` (workload and `lab.probe=1`) and execs the real
 * QEMU. Needs a provisioned lab (`lab/provision.sh`) and root (virtiofsd/QEMU as the lab runs them).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ProbeFacts } from '../../src/analyze/probe-facts.js';
import { ProbeParser } from '../../src/parse/probe.js';

const REPO = new URL('../..', import.meta.url).pathname;
const CACHE = process.env.LAB_CACHE ?? join(REPO, '.lab-cache');
const ready = existsSync(join(CACHE, 'env.sh')) && process.getuid?.() === 0;
const SECS = Number(process.env.PROBE_E2E_SECS ?? 8);

const SHIM = `#!/bin/bash
args=(); prev=
for a in "$@"; do
  if [ "$prev" = -append ]; then
    [ -n "\${SHIM_WORKLOAD:-}" ] && a=$(sed -E "s/lab\\.workload=[^ ]+/lab.workload=$SHIM_WORKLOAD/" <<<"$a")
    a="$a \${SHIM_KARGS:-}"
  fi
  args+=("$a"); prev=$a
done
PATH=\${PATH#*:} exec qemu-system-x86_64 "\${args[@]}"
`;

const work = mkdtempSync(join(tmpdir(), 'vfs-probe-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface LabRun {
  dir: string;
  requestsByPid: Map<number, number>;
  wallS: number;
}

async function runLab(name: string, probe: boolean): Promise<LabRun> {
  const shimDir = join(work, 'shim');
  if (!existsSync(join(shimDir, 'qemu-system-x86_64'))) {
    await execa('mkdir', ['-p', shimDir]);
    writeFileSync(join(shimDir, 'qemu-system-x86_64'), SHIM);
    chmodSync(join(shimDir, 'qemu-system-x86_64'), 0o755);
  }
  const dir = join(work, name);
  const r = await execa(
    join(REPO, 'lab/run-vm.sh'),
    [
      '--daemon',
      'rust',
      '--cache',
      'never',
      '--workload',
      'livelock',
      '--secs',
      String(SECS),
      '--timeout',
      '120',
      '--out',
      dir,
    ],
    {
      reject: false,
      env: {
        PATH: `${shimDir}:${process.env.PATH}`,
        SHIM_WORKLOAD: 'silentloop',
        SHIM_KARGS: probe ? 'lab.probe=1' : '',
        LAB_CACHE: CACHE,
      },
    },
  );
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

function topGuestPid(run: LabRun): [number, number] {
  const rows = [...run.requestsByPid.entries()].filter(([p]) => p !== 0).sort((a, b) => b[1] - a[1]);
  return rows[0];
}

/** The probe on this host's kernel (not emulated): median and overall CPU share of `samples` samples at 1 Hz. */
async function nativeOverhead(shell: string[], samples: number) {
  const r = await execa(shell[0], [...shell.slice(1), join(REPO, 'probe/vfs-probe.sh')], {
    env: { VFS_PROBE_OUT: 'stdout', VFS_PROBE_SAMPLES: String(samples) },
  });
  const parser = new ProbeParser();
  const facts = new ProbeFacts();
  for (const l of r.stdout.split('\n')) {
    const rec = parser.push(l);
    if (rec) facts.feed(rec);
  }
  const tasks = facts.latestSample?.tasks ?? 0;
  return { overhead: facts.overhead(), tasks };
}

const NATIVE_SHELLS: [string, string[]][] = [
  ['busybox ash', [join(CACHE, 'busybox/bin/busybox'), 'sh']],
  ['dash', ['dash']],
  ['bash', ['bash']],
];

describe('guest probe overhead on the host kernel (native)', () => {
  for (const [name, shell] of NATIVE_SHELLS) {
    const have = shell[0].startsWith('/') ? existsSync(shell[0]) : true;
    it.skipIf(!have)(
      `${name}: CPU share at 1 Hz (goal < 1 %, not met yet: asserts < ${name === 'bash' ? 5 : 3} %)`,
      async () => {
        const { overhead, tasks } = await nativeOverhead(shell, 20);
        console.log(
          `[probe e2e] native ${name}, ${tasks} tasks: median ${((overhead?.medianShare ?? 0) * 100).toFixed(1)}% per sample, ` +
            `overall ${((overhead?.share ?? 0) * 100).toFixed(2)}% over ${overhead?.spanSec ?? 0} s`,
        );
        expect(overhead?.samples ?? 0).toBeGreaterThanOrEqual(15);
        // measured on a 2-CPU host with ~175 tasks, other builds running: 1.1-1.5 % (ash, dash), 2.4 % (bash)
        expect(overhead?.share ?? 1).toBeLessThan(name === 'bash' ? 0.05 : 0.03); // see the title
      },
      60_000,
    );
  }
});

describe.skipIf(!ready)('guest probe in the lab (silentloop)', () => {
  let withProbe: LabRun | undefined;

  it('names the silent looping process, its CPU share and syscall, from probe data alone', async () => {
    withProbe = await runLab('probe', true);
    const lines = readFileSync(join(withProbe.dir, 'console.host-stamped.log'), 'utf8').split('\n');
    // the looping process never wrote a line before it was killed
    const doneAt = lines.findIndex((l) => l.includes('silentloop: done'));
    expect(lines.slice(0, doneAt).some((l) => l.includes('fs-hammer') && !l.includes('{"vfsprobe"'))).toBe(
      false,
    );
    const parser = new ProbeParser();
    const facts = new ProbeFacts();
    lines.forEach((l, i) => {
      const r = parser.push(l, i + 1);
      if (r) facts.feed(r);
    });
    const [pid, requests] = topGuestPid(withProbe);
    const name = facts.nameAt(pid);
    const detail = facts.describe(pid);
    const overhead = facts.overhead();
    console.log(
      `[probe e2e] virtiofsd top guest pid ${pid} (${requests} requests) = ${name}: ${detail}\n` +
        `[probe e2e] records ${parser.stats.records}, truncated ${parser.stats.truncated}, fuse tracepoints ${facts.fuseStatus}\n` +
        `[probe e2e] probe CPU (self-reported, TCG vCPU): ${((overhead?.share ?? 0) * 100).toFixed(1)}% overall, ` +
        `median ${((overhead?.medianShare ?? 0) * 100).toFixed(1)}% per sample, max ${((overhead?.maxShare ?? 0) * 100).toFixed(1)}% over ${overhead?.samples} samples`,
    );
    expect(name).toBe('fs-hammer');
    expect(facts.hottest(undefined, 1)[0]?.tid).toBe(pid);
    expect(facts.cpuShare(pid) ?? 0).toBeGreaterThan(0.1);
    expect(detail).toMatch(/^state [RSD], \d+% CPU, in syscall newfstatat \(262\)/);
    expect(parser.stats.truncated).toBe(0);
    expect(facts.fuseStatus).toBe('absent');
    // TCG: a fork costs ~10 ms and fork+exec+grep over the 49 stat files ~48 ms of emulated CPU (VFS_PROBE_BENCH=1),
    // so the one fork per sample alone is ~5 % of the vCPU; measured median 10-13 % per sample. Native: see below.
    expect(overhead?.medianShare ?? 1).toBeLessThan(0.25);
  }, 180_000);

  it('compares a run without the probe and prints the overhead', async () => {
    const without = await runLab('noprobe', false);
    const w = withProbe ?? (await runLab('probe', true));
    const [, reqWith] = topGuestPid(w);
    const [, reqWithout] = topGuestPid(without);
    const rateWith = reqWith / SECS;
    const rateWithout = reqWithout / SECS;
    console.log(
      `[probe e2e] looping process FUSE requests/s: without probe ${rateWithout.toFixed(0)}, with probe ${rateWith.toFixed(0)} ` +
        `(${(((rateWithout - rateWith) / rateWithout) * 100).toFixed(1)}% fewer with the probe; TCG, host noise +-15%)`,
    );
    expect(reqWithout).toBeGreaterThan(0);
    expect(reqWith).toBeGreaterThan(0);
  }, 180_000);
});
