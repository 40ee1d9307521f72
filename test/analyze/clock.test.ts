import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  chooseClock,
  estimateFromAnchors,
  estimateFromHostStamped,
  estimateFromJournal,
  fuseInitAnchor,
  guestMountWindow,
  hostMsToUptime,
  manualClock,
  uptimeToHostMs,
} from '../../src/analyze/clock.js';
import { createConsoleParser } from '../../src/parse/console.js';
import type { GuestLine } from '../../src/parse/guest-events.js';
import { createJournalParser } from '../../src/parse/journal.js';

const SYSTEMD = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata';
const RUNS = [
  'c-7.2-loop2-3s-cache-none',
  'c-7.2-walk-cache-none',
  'rust-1.13.2-loop2-10s-cache-metadata',
  'rust-1.13.2-loop2-10s-cache-never',
  'rust-1.13.2-systemd-boot-k6.12-cache-metadata',
  'rust-1.13.2-walk-cache-never',
];

function lines(path: string): string[] {
  const l = readFileSync(path, 'utf8').split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

/**
 * Ground truth, computed without the parser: median over host-stamped kernel lines of (host stamp − printk
 * uptime). Each such line carries both clocks; the spread (~150 ms) is reader latency.
 */
function trueOffsetMs(dir: string): number {
  const re = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\+0000\] \[\s*(\d+\.\d{6})\] /;
  const xs: number[] = [];
  for (const l of lines(`fixtures/lab/${dir}/console.host-stamped.log`)) {
    const m = re.exec(l);
    if (!m) continue;
    const host = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + Number(m[7]) / 1000;
    xs.push(host - Number(m[8]) * 1000);
  }
  xs.sort((a, b) => a - b);
  expect(xs.length).toBeGreaterThan(300);
  return xs[Math.floor(xs.length / 2)];
}

/** First FUSE INIT in the virtiofsd log: host ms and stamp resolution. */
function initTime(dir: string): { ms: number; resolutionMs: number } {
  const text = gunzipSync(readFileSync(`fixtures/lab/${dir}/virtiofsd.log.gz`)).toString('utf8');
  const c =
    /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6})\+0000\] \[ID: \d+\] unique: \d+, opcode: INIT /m.exec(
      text,
    );
  if (c) return { ms: Date.parse(`${c[1]}T${c[2]}Z`) + Number(c[3]) / 1000, resolutionMs: 0.001 };
  const r =
    /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z DEBUG virtiofsd::server\] Received request: opcode=Init /m.exec(
      text,
    );
  if (r) return { ms: Date.parse(`${r[1]}Z`), resolutionMs: 1000 };
  throw new Error(`no INIT in ${dir}`);
}

function consoleEvents(path: string): GuestLine[] {
  const p = createConsoleParser();
  const out: GuestLine[] = [];
  lines(path).forEach((l, i) => {
    out.push(...p.push(l, i + 1));
  });
  return out;
}

describe('clock estimate vs truth from the host-stamped consoles', () => {
  it('truth for the systemd boot is 03:10:30.208', () => {
    const t = trueOffsetMs('rust-1.13.2-systemd-boot-k6.12-cache-metadata');
    expect(Math.abs(t - Date.UTC(2026, 10, 27, 3, 10, 30, 208))).toBeLessThan(5);
  });

  it('journal (realtime − monotonic) is within 1 s of the truth (20 ms here)', () => {
    const jp = createJournalParser();
    const evs: GuestLine[] = [];
    lines(`${SYSTEMD}/journal.json`).forEach((l, i) => {
      const e = jp.pushLine(l, i + 1);
      if (e) evs.push(e);
    });
    const est = estimateFromJournal(evs)!;
    const truth = trueOffsetMs('rust-1.13.2-systemd-boot-k6.12-cache-metadata');
    expect(est.method).toBe('journal');
    expect(est.samples).toBe(640);
    expect(Math.abs(est.offsetMs - truth)).toBeLessThan(50);
    expect(est.uncertaintyMs).toBeGreaterThanOrEqual(1000); // RTC term
    // the same journal alone also yields a mount window (kernel anchors only) → anchor estimate
    const w = guestMountWindow(evs)!;
    expect(w.mounted).toBeUndefined();
    const a = estimateFromAnchors([
      fuseInitAnchor(initTime('rust-1.13.2-systemd-boot-k6.12-cache-metadata').ms, 1000, w),
    ])!;
    expect(Math.abs(a.offsetMs - truth)).toBeLessThan(1000);
  });

  for (const dir of RUNS) {
    it(`FUSE INIT anchor + raw console.txt mount window: ${dir}`, () => {
      const truth = trueOffsetMs(dir);
      const init = initTime(dir);
      const w = guestMountWindow(consoleEvents(`fixtures/lab/${dir}/console.txt`))!;
      expect(w.mounted).toBeDefined();
      const est = estimateFromAnchors([fuseInitAnchor(init.ms, init.resolutionMs, w)])!;
      expect(est.method).toBe('anchors');
      const err = Math.abs(est.offsetMs - truth);
      expect(err).toBeLessThan(1000);
      expect(err).toBeLessThanOrEqual(est.uncertaintyMs);
      if (init.resolutionMs < 1) expect(err).toBeLessThan(100); // C: µs stamps
    });

    it(`host-stamped estimate equals the truth: ${dir}`, () => {
      const est = estimateFromHostStamped(consoleEvents(`fixtures/lab/${dir}/console.host-stamped.log`))!;
      expect(est.method).toBe('host-stamped');
      expect(Math.abs(est.offsetMs - trueOffsetMs(dir))).toBeLessThan(20);
    });
  }

  it('the systemd boot window: mounted at [guest 2.08], lower bound virtiofs probe 1.249502', () => {
    const w = guestMountWindow(consoleEvents(`${SYSTEMD}/console.txt`))!;
    expect(w.uptimeS).toBe(2.08);
    expect(w.lower?.uptimeS).toBe(1.249502);
    expect(w.uptimeUncertaintyS).toBeCloseTo(0.830498, 6);
  });
});

describe('clock helpers', () => {
  it('intersects consistent anchors and flags inconsistent ones', () => {
    const a = estimateFromAnchors([
      { label: 'a', hostMs: 10_000, hostUncertaintyMs: 500, uptimeS: 2, uptimeUncertaintyS: 0 },
      { label: 'b', hostMs: 20_300, hostUncertaintyMs: 100, uptimeS: 12, uptimeUncertaintyS: 0 },
    ])!;
    // offsets: 8000 ± 500 and 8300 ± 100 → [8200, 8400]
    expect(a).toMatchObject({ offsetMs: 8300, uncertaintyMs: 100, samples: 2, method: 'anchors' });
    const bad = estimateFromAnchors([
      { label: 'a', hostMs: 10_000, hostUncertaintyMs: 10, uptimeS: 2, uptimeUncertaintyS: 0 },
      { label: 'b', hostMs: 30_000, hostUncertaintyMs: 10, uptimeS: 2, uptimeUncertaintyS: 0 },
    ])!;
    expect(bad.offsetMs).toBe(18_000);
    expect(bad.uncertaintyMs).toBe(10_000);
    expect(bad.detail).toMatch(/inconsistent/);
  });

  it('manual clock, precedence, conversions', () => {
    const m = manualClock(1_000_000, 5);
    expect(
      chooseClock({ manual: m, journal: { offsetMs: 1, uncertaintyMs: 1, method: 'journal', samples: 1 } }),
    ).toBe(m);
    expect(chooseClock({})).toBeUndefined();
    expect(uptimeToHostMs(m, 2.5)).toBe(1_002_500);
    expect(hostMsToUptime(m, 1_002_500)).toBe(2.5);
    expect(estimateFromAnchors([])).toBeUndefined();
    expect(estimateFromJournal([])).toBeUndefined();
    expect(guestMountWindow([])).toBeUndefined();
  });
});
