// Launch benchmark: from loop onset to the run being stopped, measured in the VM lab (target: ≤ 30 s; a livelock
// needs minLoopSec = 20 s of looping with no guest progress before it may be called).
// Runs `vfs-analyze run` through the bcvk test double (lab/bcvk-double) on real QEMU TCG guests whose workload
// loops over stat calls with cache=never, and prints onset→decision and onset→stop from the run record:
// - systemd (the figure that counts): localhost/lab-systemd-loop, the real systemd 252 guest whose oneshot `sh`
//   stats two paths forever before multi-user.target (needs lab/build-systemd-root.sh; a boot takes 60–150 s);
// - busybox: the lab initramfs guest's 60 s `livelock` workload (cheap, ~25 s).
// Needs lab/provision.sh (skips with a note otherwise).
// Usage: node bench/launch-latency.mjs [--runs N] [--guest systemd|busybox|both]   (default both)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const ENV_SH = join(ROOT, '.lab-cache/env.sh');

const GUESTS = {
  busybox: {
    image: 'localhost/lab-image',
    args: ['--timeout', '120', '--karg', 'lab.workload=livelock', '--karg', 'lab.secs=60'],
    title: 'busybox guest, cache=never stat loop of 60 s',
    loop: 'of a 60 s loop',
  },
  systemd: {
    image: 'localhost/lab-systemd-loop',
    args: ['--timeout', '360'],
    title: 'systemd 252 guest, vfs-lab-loop.service stats two paths forever, cache=never',
    loop: 'boot included',
  },
};

export function launchLatency(runs = 1, guest = 'busybox') {
  const g = GUESTS[guest];
  if (!existsSync(ENV_SH)) {
    console.log('\n== launch latency: skipped (VM lab not provisioned: run lab/provision.sh)');
    return null;
  }
  if (guest === 'systemd' && !existsSync(join(ROOT, '.lab-cache/systemd-root.tar'))) {
    console.log('\n== launch latency (systemd): skipped (no systemd root: run lab/build-systemd-root.sh)');
    return null;
  }
  const lab = {};
  for (const line of readFileSync(ENV_SH, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) lab[m[1]] = m[2];
  }
  const reports = mkdtempSync(join(tmpdir(), 'vfs-bench-launch-'));
  const state = mkdtempSync('/tmp/bd-');
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/vfs-analyze.js'),
      'run',
      g.image,
      '--compare',
      'cache=never',
      '--runs',
      String(runs),
      ...g.args,
      '--bcvk',
      join(ROOT, 'lab/bcvk-double/bcvk'),
      '--podman',
      join(ROOT, 'lab/bcvk-double/podman'),
      '--reports',
      reports,
      '--json',
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        BCVK_DOUBLE_STATE: state,
        VFS_REAL_VIRTIOFSD: JSON.stringify([
          lab.LAB_RUST_LD,
          '--library-path',
          lab.LAB_RUST_LIB,
          lab.LAB_RUST_BIN,
        ]),
      },
    },
  );
  const wall = (performance.now() - t0) / 1000;
  rmSync(state, { recursive: true, force: true });
  if (r.status !== 0) {
    console.log(
      `\n== launch latency: vfs-analyze run failed (exit ${r.status}): ${r.stderr.trim().slice(-400)}`,
    );
    rmSync(reports, { recursive: true, force: true });
    return null;
  }
  console.log(`\n== launch latency (VM lab, ${g.title}, QEMU TCG, Rust virtiofsd 1.13.2)`);
  const rows = [];
  for (const id of readdirSync(join(reports, 'runs'))) {
    const rec = JSON.parse(readFileSync(join(reports, 'runs', id, 'record.json'), 'utf8'));
    const s = rec.launch.stop;
    rows.push(s.onsetToStopSec);
    console.log(
      `run ${rec.schedule?.run}: ${rec.outcome.kind}, stopped after ${rec.totals.durationSec.toFixed(1)} s (${g.loop}); ` +
        `onset→decision ${s.onsetToDecisionSec?.toFixed(1)} s, onset→stop ${s.onsetToStopSec?.toFixed(1)} s ` +
        `(target ≤ 30 s: ${s.onsetToStopSec !== null && s.onsetToStopSec <= 30 ? 'PASS' : 'FAIL'})`,
    );
  }
  console.log(`(${wall.toFixed(1)} s wall for ${runs} run(s), VM boot included)`);
  rmSync(reports, { recursive: true, force: true });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--runs');
  const j = process.argv.indexOf('--guest');
  const which = j > 0 ? process.argv[j + 1] : 'both';
  for (const guest of which === 'both' ? ['systemd', 'busybox'] : [which]) {
    if (!(guest in GUESTS)) throw new Error(`--guest must be systemd, busybox or both, not ${guest}`);
    launchLatency(i > 0 ? Number(process.argv[i + 1]) : 1, guest);
  }
}
