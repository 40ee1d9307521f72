import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GuestLine } from '../../src/parse/guest-events.js';
import { CursorSet, createJournalParser, fieldText } from '../../src/parse/journal.js';

const JOURNAL = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata/journal.json';

function fileLines(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseLines(lines: string[]) {
  const p = createJournalParser();
  const events: GuestLine[] = [];
  lines.forEach((l, i) => {
    const e = p.pushLine(l, i + 1);
    if (e) events.push(e);
  });
  return { events, stats: p.stats };
}

describe('journal parser on the real bcvk-style stream (systemd boot fixture)', () => {
  const { events, stats } = parseLines(fileLines(JOURNAL));

  it('reads all 640 records of one boot, no junk', () => {
    expect(stats).toMatchObject({
      lines: 640,
      records: 640,
      nonJson: 0,
      duplicates: 0,
      invalid: 0,
      noMessage: 0,
    });
    expect(stats.bootIds).toEqual(['b9224b7d4b7e43c8a0ae9d916038d7c4']);
  });

  it('turns PID 1 manager messages into beacons (counts checked with grep -c \'"MESSAGE":"Started \')', () => {
    expect(stats.beacons['unit-started']).toBe(14);
    expect(stats.beacons['target-reached']).toBe(20);
    expect(stats.beacons['unit-finished']).toBe(21);
    const goal = events.find(
      (e) => e.progress?.unit === 'multi-user.target' && e.progress.kind === 'target-reached',
    );
    expect(goal).toMatchObject({
      line: 492,
      pid: 1,
      comm: 'systemd',
      text: 'Reached target multi-user.target - Multi-User System.',
    });
    expect(goal?.uptime).toBeCloseTo(30.121695, 6);
  });

  it('uses the printk time for kernel records and keeps realtime−monotonic', () => {
    // line 1: Linux version, __MONOTONIC 15015045, _SOURCE_MONOTONIC 0, __REALTIME 1795749045243482
    const first = events[0];
    expect(first.line).toBe(1);
    expect(first.uptime).toBe(0);
    expect(first.hostTime).toBeCloseTo(1795749045243.482 - 15015.045, 3);
    expect(first.comm).toBe('kernel');
    expect(first.pid).toBeUndefined();
    for (const e of events) {
      // every record of this boot: realtime - monotonic = 1795749030228.437 ms ± 1 ms
      expect(Math.abs(e.hostTime! - e.uptime! * 1000 - 1795749030228.44)).toBeLessThan(1);
    }
  });

  it('reads pid, comm (15-char _COMM) and SYSLOG_IDENTIFIER', () => {
    const jd = events.filter((e) => e.pid === 173);
    expect(jd).toHaveLength(5); // grep -c '"_PID":"173"' (one of them is journald's kmsg line, _TRANSPORT=kernel)
    expect(jd.find((e) => e.comm === 'systemd-journal')).toMatchObject({
      ident: 'systemd-journald',
      unit: 'systemd-journald.service',
    });
  });

  it('finds the kernel anchors (printk uptime)', () => {
    expect(events.filter((e) => e.anchor).map((e) => [e.anchor, e.uptime])).toEqual([
      ['fuse-module-init', 1.099942],
      ['virtiofs-probe', 1.249502],
    ]);
  });

  it('dedupes records replayed after a journalctl restart (same __CURSOR)', () => {
    const lines = fileLines(JOURNAL);
    const replay = [...lines.slice(0, 300), ...lines.slice(0, 120), ...lines.slice(300)];
    const r = parseLines(replay);
    expect(r.stats.duplicates).toBe(120);
    expect(r.stats.records).toBe(640);
    expect(r.events).toHaveLength(640);
  });

  it('counts and skips journalctl stderr lines, blank lines and torn records (synthetic lines)', () => {
    const lines = fileLines(JOURNAL).slice(0, 10);
    lines.splice(3, 0, 'Failed to get journal fields: Bad message', '', lines[5].slice(0, 80), '42');
    const r = parseLines(lines);
    // '42' is JSON but no record; lines not starting with '{' are not parsed at all
    expect(r.stats).toMatchObject({ lines: 14, nonJson: 3, blank: 1, invalid: 0, records: 10 });
    expect(r.stats.nonJsonSamples).toEqual([
      { line: 4, text: 'Failed to get journal fields: Bad message' },
      { line: 6, text: lines[5] },
      { line: 7, text: '42' },
    ]);
    const p = createJournalParser();
    expect(p.pushRecord(42, 1)).toBeNull();
    expect(p.pushRecord([{ MESSAGE: 'x' }], 2)).toBeNull();
    expect(p.stats.invalid).toBe(2);
    expect(r.events.map((e) => e.line)).toEqual([1, 2, 3, 8, 9, 10, 11, 12, 13, 14]);
  });
});

describe('journal field decoding', () => {
  it('decodes byte-array MESSAGE (UTF-8, invalid bytes replaced), multi-valued fields, null', () => {
    expect(fieldText([104, 105, 0xe2, 0x80, 0xa6])).toBe('hi…');
    expect(fieldText([0x66, 0xff, 0x6f])).toBe('f\ufffdo');
    expect(fieldText(['a', 'b'])).toBe('a');
    expect(fieldText(null)).toBeUndefined();
    const p = createJournalParser();
    const e = p.pushRecord(
      {
        __CURSOR: 'c1',
        MESSAGE: [27, 91, 49, 109, 98, 111, 108, 100, 27, 91, 48, 109, 13, 10, 110, 101, 120, 116],
        _PID: '55',
        _COMM: 'foo',
      },
      7,
    );
    expect(e).toMatchObject({ line: 7, text: 'bold\nnext', pid: 55, comm: 'foo' });
    expect(p.pushRecord({ __CURSOR: 'c2', MESSAGE: null }, 8)?.text).toBe('');
    expect(p.stats.noMessage).toBe(1);
  });

  it('only PID 1 messages are systemd beacons (a user manager is not)', () => {
    const p = createJournalParser();
    const user = p.pushRecord(
      { MESSAGE: 'Reached target default.target - Main User Target.', _PID: '900', _COMM: 'systemd' },
      1,
    );
    expect(user?.progress).toBeUndefined();
    const pid1 = p.pushRecord(
      { MESSAGE: 'Failed to start foo.service - Foo.', _PID: '1', _COMM: 'systemd', UNIT: 'foo.service' },
      2,
    );
    expect(pid1?.progress).toMatchObject({ kind: 'unit-failed', unit: 'foo.service', isFailure: true });
  });

  it('never throws on junk lines (fuzz)', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pieces = [
      '{',
      '}',
      '"MESSAGE":',
      '"_PID":',
      '"1"',
      '[',
      ']',
      '1',
      ',',
      'null',
      '"__CURSOR":"x"',
      '\x00',
      '\r',
    ];
    const p = createJournalParser();
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 12);
      for (let k = 0; k < n; k++) s += pieces[Math.floor(rnd() * pieces.length)];
      p.pushLine(s, i + 1);
    }
    const st = p.stats;
    expect(st.lines).toBe(3000);
    expect(st.blank + st.nonJson + st.invalid + st.duplicates + st.records).toBe(3000);
  });
});

describe('CursorSet (bounded de-duplication)', () => {
  it('remembers real journald cursors by sequence number, and other cursors by value', () => {
    const set = new CursorSet();
    const c = (i: number, s = '97d787acb8e04ea3a84bbbacd9b43d2b') =>
      `s=${s};i=${i.toString(16)};b=b9224b7d4b7e43c8a0ae9d916038d7c4;m=e51c85;t=6613967f28e5a;x=a15f87380c562e85`;
    for (let i = 1; i <= 5000; i++) set.add(c(i));
    expect(set.has(c(1))).toBe(true);
    expect(set.has(c(4096))).toBe(true);
    expect(set.has(c(5001))).toBe(false);
    expect(set.has(c(1, 'ffff'))).toBe(false);
    set.add('opaque-cursor');
    expect(set.has('opaque-cursor')).toBe(true);
    expect(set.has('other')).toBe(false);
  });
});
