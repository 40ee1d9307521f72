import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProgressClock } from '../../src/analyze/progress.js';
import { createConsoleParser } from '../../src/parse/console.js';
import { createJournalParser } from '../../src/parse/journal.js';

const DIR = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata';

function lines(path: string): string[] {
  const l = readFileSync(path, 'utf8').split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

function consoleClock(
  path: string,
  upTo = Number.POSITIVE_INFINITY,
  opts?: ConstructorParameters<typeof ProgressClock>[0],
) {
  const pc = new ProgressClock(opts);
  const p = createConsoleParser();
  lines(path).forEach((l, i) => {
    if (i + 1 <= upTo) for (const e of p.push(l, i + 1)) pc.feed(e);
  });
  return pc;
}

describe('ProgressClock on the real systemd console', () => {
  it('healthy boot: goal at line 529, last progress = power down at line 666', () => {
    const pc = consoleClock(`${DIR}/console.txt`);
    // 216 = all beacons (227) minus 11 spinner frames
    expect(pc.progressCount).toBe(216);
    expect(pc.goalReached).toMatchObject({ goal: 'multi-user.target', line: 529 });
    expect(pc.lastProgress).toMatchObject({ line: 666, kind: 'poweroff', uptime: 58.542059 });
    expect(pc.waitingNow).toEqual([]);
    expect(pc.failures).toEqual([]);
    const hangs = pc.hangIndicators.map((h) => [
      h.kind,
      h.unit ?? h.subject,
      h.count,
      h.maxWaitedS,
      h.limitS,
    ]);
    expect(hangs).toEqual([
      ['start-job-waiting', 'dev-virtio\\x2dports-or…ice', 1, 13, 90],
      ['start-job-waiting', 'systemd-tmpfiles-setup…ice', 1, 16, null],
      ['start-job-waiting', 'dbus.service', 1, 20, 108],
      ['start-job-waiting', 'systemd-update-utmp-ru…ice', 2, 26, null],
      ['start-job-waiting', 'lab-poweroff.service', 4, 31, null],
      ['stop-job-waiting', 'systemd-random-seed.service', 2, 8, 601],
    ]);
  });

  it('console cut while the lab-poweroff job spins (line 546): waiting now, goal already reached', () => {
    const pc = consoleClock(`${DIR}/console.txt`, 546);
    expect(pc.lastProgress).toMatchObject({ line: 540, kind: 'unit-started' });
    expect(pc.waitingNow.map((h) => h.unit)).toEqual(['lab-poweroff.service']);
    expect(pc.lastEvent?.line).toBe(546);
  });

  it('console cut before multi-user.target: no goal', () => {
    const pc = consoleClock(`${DIR}/console.txt`, 528);
    expect(pc.goalReached).toBeUndefined();
    expect(pc.lastProgress?.text).toBe('[  OK  ] Started systemd-logind.service - User Login Management.');
  });

  it('host-stamped console: times on goal and last progress', () => {
    const pc = consoleClock(`${DIR}/console.host-stamped.log`);
    // [2026-11-27 03:11:00.356960+0000] [  OK  ] Reached target multi-user.target
    expect(pc.goalReached?.hostTime).toBeCloseTo(Date.UTC(2026, 10, 27, 3, 11, 0) + 356.96, 3);
  });
});

describe('ProgressClock on the real journal', () => {
  it('goal at record 492, last progress poweroff.target at 639', () => {
    const pc = new ProgressClock();
    const p = createJournalParser();
    lines(`${DIR}/journal.json`).forEach((l, i) => {
      const e = p.pushLine(l, i + 1);
      if (e) pc.feed(e);
    });
    expect(pc.goalReached).toMatchObject({ line: 492, goal: 'multi-user.target' });
    expect(pc.goalReached?.uptime).toBeCloseTo(30.121695, 6);
    expect(pc.lastProgress).toMatchObject({ line: 639, unit: 'poweroff.target' });
    expect(pc.progressCount).toBe(160);
    expect(pc.hangIndicators).toEqual([]);
  });
});

describe('ProgressClock goals', () => {
  it('busybox lab: the poweroff marker is the goal; patterns work', () => {
    const pc = consoleClock('fixtures/lab/rust-1.13.2-loop2-10s-cache-never/console.txt');
    expect(pc.goalReached).toMatchObject({ goal: 'poweroff', uptime: 11.06, text: 'poweroff' });
    const pc2 = consoleClock(
      'fixtures/lab/rust-1.13.2-loop2-10s-cache-never/console.txt',
      Number.POSITIVE_INFINITY,
      {
        poweroffIsGoal: false,
        goalPatterns: [/livelock: finished/],
      },
    );
    expect(pc2.goalReached).toMatchObject({ goal: 'livelock: finished', uptime: 11.05 });
  });

  it('uses times to pick the last progress across sources', () => {
    const pc = new ProgressClock();
    const beacon = { kind: 'unit-started' as const, subject: 'x', isProgress: true };
    pc.feed({ source: 'journal', line: 1, text: 'b', uptime: 5, progress: beacon });
    pc.feed({ source: 'console', line: 9, text: 'a', uptime: 3, progress: beacon });
    expect(pc.lastProgress?.text).toBe('b');
  });
});
