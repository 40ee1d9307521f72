import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PidNames, resolveName } from '../../src/analyze/pid-names.js';
import { createConsoleParser } from '../../src/parse/console.js';
import { createJournalParser } from '../../src/parse/journal.js';

const DIR = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata';

function lines(path: string): string[] {
  const l = readFileSync(path, 'utf8').split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

describe('PidNames from the real journal', () => {
  const names = new PidNames();
  const jp = createJournalParser();
  lines(`${DIR}/journal.json`).forEach((l, i) => {
    const e = jp.pushLine(l, i + 1);
    if (e) names.observeLine(e);
  });

  it('labels the PIDs the journal knows, with untruncated names', () => {
    // _PID 173 has _COMM "systemd-journal" (15 chars) and SYSLOG_IDENTIFIER "systemd-journald"
    expect(names.label(173)).toBe('173 (systemd-journald)');
    expect(names.label(1)).toBe('1 (systemd)');
    expect(names.label(189)).toBe('189 (systemd-udevd)');
    expect(names.label(201)).toBe('201 (systemd-logind)');
    expect(names.label(321)).toBe('321 (umount)');
    expect(names.entries().map((e) => e.pid)).toEqual([1, 173, 189, 201, 321]);
  });

  it('does not guess unknown ids; pid 0 is the kernel', () => {
    expect(names.nameAt(174)).toBeUndefined();
    expect(names.label(174)).toBe('174');
    expect(names.nameAt(0)).toBe('kernel');
    expect(names.label(0)).toBe('0 (kernel)');
  });

  it('merges the console kmsg name[pid] lines into the same entries', () => {
    const cp = createConsoleParser();
    lines(`${DIR}/console.host-stamped.log`).forEach((l, i) => {
      for (const e of cp.push(l, i + 1)) names.observeLine(e);
    });
    expect(names.entries(173)).toHaveLength(1);
    expect(names.entries(173)[0].name).toBe('systemd-journald');
    // systemd-shutdown[1] replaces systemd at PID 1 (exec) at the end of the boot
    expect(names.entries(1).map((e) => e.name)).toEqual(['systemd', 'systemd-shutdown']);
    const shutdownAt = names.entries(1)[1].firstMs!;
    expect(names.nameAt(1, shutdownAt - 1000)).toBe('systemd');
    expect(names.nameAt(1, shutdownAt + 1)).toBe('systemd-shutdown');
  });
});

describe('PidNames rules', () => {
  it('keeps time ranges for reused / exec-renamed PIDs', () => {
    const n = new PidNames();
    n.observe({ pid: 500, comm: 'foo', hostTime: 1000 });
    n.observe({ pid: 500, comm: 'foo', hostTime: 2000 });
    n.observe({ pid: 500, comm: 'bar', hostTime: 5000 });
    expect(n.nameAt(500, 500)).toBe('foo'); // before the first sighting: first holder
    expect(n.nameAt(500, 1500)).toBe('foo');
    expect(n.nameAt(500, 3000)).toBe('foo');
    expect(n.nameAt(500, 6000)).toBe('bar');
    expect(n.nameAt(500)).toBe('bar');
    expect(n.entries(500)).toMatchObject([
      { name: 'foo', firstMs: 1000, lastMs: 2000, count: 2 },
      { name: 'bar', firstMs: 5000, lastMs: 5000, count: 1 },
    ]);
  });

  it('accepts observations out of time order', () => {
    const n = new PidNames();
    n.observe({ pid: 7, comm: 'late', hostTime: 9000 });
    n.observe({ pid: 7, comm: 'early', hostTime: 1000 });
    expect(n.nameAt(7, 2000)).toBe('early');
    expect(n.nameAt(7, 9500)).toBe('late');
  });

  it('prefers a longer identifier or unit name with the same 15-char prefix', () => {
    expect(resolveName({ comm: 'systemd-journal', ident: 'systemd-journald' })).toBe('systemd-journald');
    expect(resolveName({ comm: 'systemd-network', unit: 'systemd-networkd.service' })).toBe(
      'systemd-networkd',
    );
    expect(resolveName({ comm: 'logger', ident: 'mytag' })).toBe('logger');
    expect(resolveName({ comm: 'systemd-journal', ident: 'other-name-longer' })).toBe('systemd-journal');
    expect(resolveName({ ident: 'lab-poweroff' })).toBe('lab-poweroff');
  });

  it('maps uptime-only observations to host time when given a clock', () => {
    const n = new PidNames({ uptimeToHostMs: (u) => u * 1000 + 1_000_000 });
    n.observe({ pid: 9, ident: 'a', uptime: 1 });
    n.observe({ pid: 9, ident: 'b', uptime: 5 });
    expect(n.nameAt(9, 1_002_000)).toBe('a');
    expect(n.nameAt(9, 1_006_000)).toBe('b');
  });
});
