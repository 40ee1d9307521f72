/** `vfs-analyze LOG --console C --journal J` / `--run-dir`: guest correlation and verdicts, end to end on real captures. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const LAB = 'fixtures/lab';
const BOOT = `${LAB}/rust-1.13.2-systemd-boot-k6.12-cache-metadata`;
const LOOP = `${LAB}/rust-1.13.2-loop2-4s-cache-never`;
const HANG = `${LAB}/rust-1.13.2-hang-timeout-8s`;
const SDLOOP = `${LAB}/rust-1.13.2-systemd-k7.3-never-loop`;

function json(args: string[]) {
  const r = runCli(['--json', ...args]);
  return { r, doc: r.stdout ? JSON.parse(r.stdout) : null };
}

/** The true offset (host ms at guest uptime 0) from the host-stamped console: median of stamp − uptime. */
function trueOffset(dir: string): number {
  const xs: number[] = [];
  for (const line of readFileSync(`${dir}/console.host-stamped.log`, 'utf8').split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\+0000\] \[\s*(\d+\.\d+)\]/.exec(line);
    if (m) xs.push(Date.parse(`${m[1]}T${m[2]}Z`) - Number(m[3]) * 1000);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

describe('guest inputs', () => {
  it('--run-dir on a real systemd boot: PIDs named from the journal, clock aligned, healthy verdict', () => {
    const { r, doc } = json(['--run-dir', BOOT]);
    expect(r.code).toBe(0);
    const a = doc.inputs[0];
    expect(doc.guest.pidNames['173']).toBe('systemd-journald');
    expect(doc.guest.pidNames['1']).toBe('systemd');
    expect(Math.abs(doc.guest.clock.offsetMs - trueOffset(BOOT))).toBeLessThan(1000);
    expect(a.verdict.kind).toBe('healthy');
    expect(a.correlation.summary).toContain('multi-user.target');
    expect(doc.guest.progress.goalReached.text).toContain('multi-user.target');
    expect(a.correlation.timeline.rows.length).toBeGreaterThan(10);
    // The terminal view names PIDs in every PID table.
    const t = runCli(['--run-dir', BOOT, '--recent', '0']);
    expect(t.stdout).toContain('173 (systemd-journald)');
    expect(t.stdout).toMatch(/Verdict {2}HEALTHY/);
  });

  it('aligns the clock from the raw console alone (FUSE INIT anchor) within 1 s of the truth', () => {
    const { doc } = json([`${LOOP}/virtiofsd.log.gz`, '--console', `${LOOP}/console.txt`]);
    expect(doc.guest.clock.method).toBe('anchors');
    expect(Math.abs(doc.guest.clock.offsetMs - trueOffset(LOOP))).toBeLessThan(1000);
  });

  it('--journal alone: clock from realtime/monotonic pairs', () => {
    const { doc } = json([`${BOOT}/virtiofsd.log.gz`, '--journal', `${BOOT}/journal.json`]);
    expect(doc.guest.clock.method).toBe('journal');
    expect(Math.abs(doc.guest.clock.offsetMs - trueOffset(BOOT))).toBeLessThan(1000);
    expect(doc.inputs[0].pidNames['189']).toBe('systemd-udevd');
  });

  it('says when the guest stopped progressing while the host kept serving (hang killed by timeout)', () => {
    // The busybox guest prints no systemd lines: its own milestones count as progress via --progress-pattern.
    const { doc } = json([
      '--run-dir',
      HANG,
      '--progress-pattern',
      '^mounted virtiofs',
      '--progress-pattern',
      '^\\w+: start$',
    ]);
    const a = doc.inputs[0];
    expect(a.correlation.lastProgress.text).toBe('livelock: start');
    // 6 s of looping when QEMU was killed: less than minLoopSec, so the verdict cannot tell it from a burst.
    expect(a.verdict.kind).toBe('inconclusive');
    expect(a.verdict.title).toMatch(/^inconclusive: pid 1 looping for \d s at the end, under 20 s$/);
    expect(a.correlation.summary).toMatch(
      /^guest last progressed at .*; host kept serving [\d,]+ req\/s for \d+ s after it, ≥\d+% from PID 1/,
    );
    expect(a.correlation.afterLastProgress.requests).toBeGreaterThan(10_000);
  });

  it('--guest-offset overrides the estimate', () => {
    const { doc } = json([
      `${LOOP}/virtiofsd.log.gz`,
      '--console',
      `${LOOP}/console.txt`,
      '--guest-offset',
      '2026-11-27T03:35:53.750Z',
    ]);
    expect(doc.guest.clock).toMatchObject({
      method: 'manual',
      offsetMs: Date.parse('2026-11-27T03:35:53.750Z'),
    });
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--guest-offset', 'yesterday']).code).toBe(2);
  });

  it('bad guest input gets the same one-line errors; the virtiofsd log is still analysed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-guest-'));
    const bin = join(dir, 'journal.json');
    writeFileSync(bin, Buffer.from([0, 1, 2, 3, 0, 0, 0, 5]));
    const r = runCli([
      '--json',
      `${LOOP}/virtiofsd.log.gz`,
      '--journal',
      bin,
      '--console',
      join(dir, 'missing.txt'),
    ]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/binary/);
    expect(lines.join('\n')).toMatch(/missing\.txt/);
    expect(JSON.parse(r.stdout).inputs[0].totals.requests).toBe(24202);
    expect(runCli(['--run-dir', join(dir, 'nope')]).code).toBe(2);
  });
});

describe('verdicts on the command line', () => {
  it('verdict first in the terminal and in --json; --fail-on sets exit 1 after writing the output', () => {
    const { r, doc } = json([`${SDLOOP}/virtiofsd.log.gz`, '--fail-on', 'livelock,deadlock,stall']);
    expect(r.code).toBe(1);
    expect(Object.keys(doc.inputs[0])[0]).toBe('verdict');
    expect(doc.inputs[0].verdict.title).toMatch(/^livelock: pid 169 /);
    expect(r.stderr).toContain('--fail-on livelock');
    const t = runCli([`${SDLOOP}/virtiofsd.log.gz`]);
    expect(t.stdout.split('\n')[1]).toMatch(/^Verdict {2}LIVELOCK/);
    // The 4 s loop that ended before power-off: an episode, not a failure.
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--fail-on', 'livelock,deadlock,stall']).code).toBe(0);
    expect(
      runCli([`${LAB}/rust-1.13.2-walk-cache-never/virtiofsd.log.gz`, '--fail-on', 'livelock']).code,
    ).toBe(0);
  });

  it('thresholds from flags and a config file; bad ones are usage errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-cfg-'));
    const cfg = join(dir, 'vfs.json');
    writeFileSync(cfg, JSON.stringify({ thresholds: { minRepetitions: 100000 } }));
    const { doc } = json([`${LOOP}/virtiofsd.log.gz`, '--config', cfg]);
    expect(doc.inputs[0].verdict.episodes).toEqual([]);
    const base = json([`${LOOP}/virtiofsd.log.gz`]).doc;
    expect(base.inputs[0].verdict.episodes).toHaveLength(1);
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--threshold', 'bogus=1']).code).toBe(2);
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--threshold', 'minRepetitions=-3']).code).toBe(2);
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--fail-on', 'explode']).code).toBe(2);
    writeFileSync(cfg, '{not json');
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--config', cfg]).code).toBe(2);
    // An endless device is refused after 1 MiB, with one line.
    const zero = runCli([`${LOOP}/virtiofsd.log.gz`, '--config', '/dev/zero']);
    expect(zero.code).toBe(2);
    expect(zero.stderr.trim().split('\n')[0]).toMatch(
      /\/dev\/zero: larger than 1048576 bytes: not a config file/,
    );
    expect(runCli([`${LOOP}/virtiofsd.log.gz`, '--threshold', 'maxPeriod=0']).code).toBe(2);
  });

  it('--no-verdict skips the judgement', () => {
    const { doc } = json([`${LOOP}/virtiofsd.log.gz`, '--no-verdict']);
    expect(doc.inputs[0].verdict).toBeUndefined();
  });
});

describe('guest probe records', () => {
  it('names a looping process that never logs, from probe data alone, with its CPU share and syscall', () => {
    const dir = 'fixtures/probe/rust-1.13.2-silentloop-6s-probe-log';
    const truth = JSON.parse(readFileSync(`${dir}/truth.json`, 'utf8'));
    // The only line that names the looper is printed after it was killed: drop it to be sure the probe named it.
    const tmp = mkdtempSync(join(tmpdir(), 'vfs-probe-'));
    const console = readFileSync(`${dir}/console.host-stamped.log`, 'utf8')
      .split('\n')
      .filter((l) => !l.includes('looping process was pid'))
      .join('\n');
    writeFileSync(join(tmp, 'console.host-stamped.log'), console);
    const { doc } = json([`${dir}/virtiofsd.log.gz`, '--console', join(tmp, 'console.host-stamped.log')]);
    const v = doc.inputs[0].verdict;
    // /init killed the looper after 6 s and powered off: a healthy run with a loop episode, named by the probe.
    expect(v.kind).toBe('healthy');
    expect(v.episodes[0].summary).toContain(`pid ${truth.hammerPid} (${truth.hammerComm})`);
    expect(v.episodes[0]).toMatchObject({ pid: truth.hammerPid, name: truth.hammerComm });
    expect(v.episodes[0].detail).toMatch(/\d+% CPU, in syscall newfstatat \(262\)/);
    expect(doc.guest.probe.records).toBeGreaterThan(10);
    expect(doc.guest.probe.fuseTracepoints).toBe('absent');
    expect(doc.guest.probe.overhead.share).toBeGreaterThan(0);
  });
});

describe('--fail-on long-episode', () => {
  it('fails a healthy run that spent longEpisodeSec in one loop, after writing its output', () => {
    const log = `${LAB}/rust-1.13.2-loop2-10s-cache-never`;
    expect(runCli(['--run-dir', log, '--fail-on', 'long-episode']).code).toBe(0);
    const r = runCli(['--run-dir', log, '--fail-on', 'long-episode', '--threshold', 'longEpisodeSec=5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Verdict {2}(HEALTHY|BUSY)/m);
    expect(r.stderr).toMatch(/^vfs-analyze: --fail-on long-episode \(≥ 5 s\): transient loop: pid 1 /);
  });
});
