import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyStatusLine,
  createConsoleParser,
  parseHostStamp,
  parseSystemdTimespan,
  stripControl,
} from '../../src/parse/console.js';
import type { GuestLine } from '../../src/parse/guest-events.js';

const SYSTEMD = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata';
const WALK_C = 'fixtures/lab/c-7.2-walk-cache-none';

function fileLines(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseFile(path: string, opts?: Parameters<typeof createConsoleParser>[0]) {
  const p = createConsoleParser(opts);
  const events: GuestLine[] = [];
  fileLines(path).forEach((l, i) => {
    events.push(...p.push(l, i + 1));
  });
  return { events, stats: p.stats };
}

describe('console parser on the real systemd 252 console (k6.12, cache=metadata)', () => {
  const { events, stats } = parseFile(`${SYSTEMD}/console.txt`);

  it('counts lines, stamps and CR splits as verified with grep', () => {
    // wc -l: 666; 3 lines are only CR/blank
    expect(stats.lines).toBe(666);
    expect(stats.blank).toBe(3);
    expect(stats.events).toBe(664);
    // grep -c '^\[ *[0-9]*\.[0-9]*\]' = 487, +1 after a bare CR (line 600), +2 after ESC[K (lines 537, 589)
    expect(stats.kernelStamped).toBe(490);
    expect(stats.labStamped).toBe(2);
    expect(stats.crSplit).toBe(1);
  });

  it('classifies systemd status lines (status line + kmsg copy)', () => {
    // grep 'OK  .*\] Started' = 14, 'systemd\[1\]: Started' = 3
    expect(stats.beacons['unit-started']).toBe(17);
    // 'OK  .*\] Reached target' = 20, 'systemd\[1\]: Reached target' = 7
    expect(stats.beacons['target-reached']).toBe(27);
    // '\] Finished' = 21, 'systemd\[1\]: Finished' = 9
    expect(stats.beacons['unit-finished']).toBe(30);
    // '/start running' = 9, '/stop running' = 2
    expect(stats.beacons['start-job-waiting']).toBe(9);
    expect(stats.beacons['stop-job-waiting']).toBe(2);
    // systemd-shutdown[1]: Powering off. + reboot: Power down
    expect(stats.beacons.poweroff).toBe(2);
    expect(stats.beacons['unit-failed']).toBeUndefined();
  });

  it('produces clean text: no ESC, CR or other control characters', () => {
    for (const e of events) expect(e.text).not.toMatch(/[\x00-\x1f\x7f]/);
  });

  it('reads multi-user.target from the status line at line 529', () => {
    const e = events.find((x) => x.line === 529);
    expect(e?.text).toBe('[  OK  ] Reached target multi-user.target - Multi-User System.');
    expect(e?.progress).toMatchObject({
      kind: 'target-reached',
      unit: 'multi-user.target',
      isProgress: true,
    });
  });

  it('keeps both halves of a line a kernel message overwrote after a bare CR (line 600)', () => {
    const evs = events.filter((x) => x.line === 600);
    expect(evs).toHaveLength(2);
    expect(evs[0].progress).toMatchObject({ kind: 'unit-stopped', unit: 'remote-fs.target' });
    expect(evs[1]).toMatchObject({
      uptime: 50.024864,
      text: 'ata3.00: LPM support broken, forcing max_power',
    });
  });

  it('parses the spinner rewrite: ESC M CR ESC[K then the real status line (line 536)', () => {
    const evs = events.filter((x) => x.line === 536);
    expect(evs).toHaveLength(1);
    expect(evs[0].text).toBe('[  OK  ] Finished systemd-update-ut… - Record Runlevel Change in UTMP.');
    expect(evs[0].progress?.kind).toBe('unit-finished');
    expect(evs[0].progress?.unit).toBeUndefined(); // truncated with …
  });

  it('parses job spinners as hang indicators with elapsed time and limit', () => {
    const first = events.find((x) => x.line === 495);
    expect(first?.progress).toMatchObject({
      kind: 'start-job-waiting',
      subject: 'dev-virtio\\x2dports-or…ice',
      isProgress: false,
      waitedS: 13,
      limitS: 90,
    });
    const lab = events.find((x) => x.line === 546);
    expect(lab?.progress).toMatchObject({ unit: 'lab-poweroff.service', waitedS: 31, limitS: null });
    const stop = events.find((x) => x.line === 570);
    expect(stop?.progress).toMatchObject({ kind: 'stop-job-waiting', waitedS: 8, limitS: 601 });
  });

  it('drops SGR remnants that systemd ellipsizing left after …', () => {
    // raw: "Starting ^[[0;1;39mmodprobe@dm_mod.s…[0m - Load Kernel Module dm_mod..." (the ESC was cut)
    const e = events.find((x) => x.text.startsWith('Starting modprobe@dm_mod'));
    expect(e?.text).toBe('Starting modprobe@dm_mod.s… - Load Kernel Module dm_mod...');
  });

  it('reads name[pid]: from kmsg lines and kernel anchors', () => {
    const j = events.find((x) => x.line === 494);
    expect(j).toMatchObject({ pid: 173, comm: 'systemd-journald', uptime: 20.388051 });
    const off = events.find((x) => x.line === 663);
    expect(off).toMatchObject({ pid: 1, comm: 'systemd-shutdown', progress: { kind: 'poweroff' } });
    const anchors = events.filter((x) => x.anchor).map((x) => [x.line, x.anchor, x.uptime]);
    expect(anchors).toEqual([
      [292, 'fuse-module-init', 1.099942],
      [301, 'virtiofs-probe', 1.249502],
      [351, 'virtiofs-mounted', 2.08],
    ]);
  });

  it('the last progress event is the kernel power-down (line 666), the last status line is line 645', () => {
    const prog = events.filter((x) => x.progress?.isProgress);
    expect(prog[prog.length - 1]).toMatchObject({ line: 666, text: 'reboot: Power down', uptime: 58.542059 });
    const status = prog.filter((x) => x.text.startsWith('[  OK  ]'));
    expect(status[status.length - 1]).toMatchObject({
      line: 645,
      progress: { kind: 'target-reached', unit: 'poweroff.target' },
    });
  });
});

describe('host-stamped console', () => {
  const raw = parseFile(`${SYSTEMD}/console.txt`);
  const stamped = parseFile(`${SYSTEMD}/console.host-stamped.log`);

  it('gives the same events as the raw console, plus host times', () => {
    expect(stamped.stats.hostStamped).toBe(666);
    expect(stamped.events.map((e) => e.text)).toEqual(raw.events.map((e) => e.text));
    // [2026-11-27 03:10:31.309068+0000] [    1.099942] fuse: init (API version 7.41)
    const fuse = stamped.events.find((e) => e.anchor === 'fuse-module-init');
    expect(fuse?.hostTime).toBeCloseTo(Date.UTC(2026, 10, 27, 3, 10, 31) + 309.068, 3);
    expect(fuse?.uptime).toBe(1.099942);
  });

  it('parses the busybox lab console: [guest U] lines and the poweroff marker', () => {
    const { events, stats } = parseFile(`${WALK_C}/console.host-stamped.log`);
    expect(stats.lines).toBe(354); // summary.txt: console_lines=354
    const guest = events.filter((e) => e.tag === 'guest');
    expect(guest.map((e) => e.uptime)).toEqual([1.76, 1.79, 1.97, 2.02, 2.05]);
    expect(guest[4].progress).toMatchObject({ kind: 'poweroff', isProgress: true });
    expect(events.find((e) => e.anchor === 'virtiofs-mounted')?.text).toBe(
      'mounted virtiofs tag=labfs at /mnt',
    );
  });
});

describe('host stamp prefixes', () => {
  it('reads the lab/C-virtiofsd format and ISO with Z or offset', () => {
    const base = Date.UTC(2026, 10, 27, 2, 50, 39);
    expect(parseHostStamp('[2026-11-27 02:50:39.886243+0000] x')).toEqual({ ms: base + 886.243, length: 34 });
    expect(parseHostStamp('2026-11-27T02:50:39.886243Z x')?.ms).toBeCloseTo(base + 886.243, 3);
    expect(parseHostStamp('2026-11-27T03:50:39.5+01:00 x')?.ms).toBeCloseTo(base + 500, 3);
    expect(parseHostStamp('[    1.512125] fuse: init')).toBeUndefined();
    // a Rust virtiofsd line is not a host stamp prefix
    expect(parseHostStamp('[2026-11-27T03:02:24Z DEBUG virtiofsd::server] x')).toBeUndefined();
  });

  it('accepts an ISO-stamped console line', () => {
    const p = createConsoleParser();
    const [e] = p.push('2026-11-27T02:50:39.886243Z [    1.512125] fuse: init (API version 7.38)\r', 1);
    expect(e).toMatchObject({
      uptime: 1.512125,
      text: 'fuse: init (API version 7.38)',
      anchor: 'fuse-module-init',
    });
    expect(e.hostTime).toBeCloseTo(Date.UTC(2026, 10, 27, 2, 50, 39) + 886.243, 3);
  });
});

describe('status line classification (forms not in the fixture)', () => {
  it('classic spinner text with no limit', () => {
    const b = classifyStatusLine(
      '[ ***  ] A start job is running for /dev/disk/by-label/root (1min 2s / no limit)',
    );
    expect(b).toMatchObject({
      kind: 'start-job-waiting',
      subject: '/dev/disk/by-label/root',
      isProgress: false,
    });
    expect(b?.waitedS).toBe(62);
    expect(b?.limitS).toBeNull();
  });
  it('failures', () => {
    expect(classifyStatusLine('[FAILED] Failed to start foo.service - Foo Daemon.')).toMatchObject({
      kind: 'unit-failed',
      unit: 'foo.service',
      isFailure: true,
      isProgress: true,
    });
    expect(classifyStatusLine('[DEPEND] Dependency failed for sysroot.mount - /sysroot.')?.kind).toBe(
      'unit-failed',
    );
    expect(classifyStatusLine('[ TIME ] Timed out waiting for device dev-vda1.device.')?.unit).toBe(
      'dev-vda1.device',
    );
  });
  it('login prompt and plain noise', () => {
    const p = createConsoleParser();
    expect(p.push('lab2 login: ', 1)[0].progress?.kind).toBe('login-prompt');
    expect(p.push('Welcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!\r\r', 2)[0]).toEqual({
      source: 'console',
      line: 2,
      text: 'Welcome to Debian GNU/Linux 12 (bookworm)!',
    });
  });
  it('timespans', () => {
    expect(parseSystemdTimespan('1min 30s')).toBe(90);
    expect(parseSystemdTimespan('10min 1s')).toBe(601);
    expect(parseSystemdTimespan('500ms')).toBe(0.5);
    expect(parseSystemdTimespan('no limit')).toBeNull();
    expect(parseSystemdTimespan('soon')).toBeUndefined();
  });
  it('user progress patterns and the debug-port source', () => {
    const p = createConsoleParser({
      source: 'debug-port',
      progressPatterns: [/livelock: (still looping|finished)/g],
    });
    const [a] = p.push('[2026-11-27 03:02:10.470315+0000] [guest 2.03] livelock: still looping, n=200', 1);
    const [b] = p.push('[guest 11.05] livelock: finished', 2);
    expect(a).toMatchObject({
      source: 'debug-port',
      uptime: 2.03,
      progress: { kind: 'pattern', subject: 'still looping' },
    });
    expect(b.progress?.subject).toBe('finished');
  });
});

describe('robustness', () => {
  it('strips CSI, OSC and lone ESC sequences', () => {
    expect(stripControl('\x1b[0;1;31m*\x1b[0m\x1b[K\x1b]0;title\x07ok\x1bM\x1b')).toBe('*ok');
    expect(stripControl('plain')).toBe('plain');
  });

  it('never throws on random bytes and never leaks control characters (fuzz)', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = [
      '\x1b',
      '[',
      ']',
      '\r',
      '\t',
      '\x00',
      '0',
      '1',
      ';',
      'm',
      'K',
      ' ',
      '.',
      ':',
      '…',
      'OK',
      '*',
      '(',
      ')',
    ];
    const p = createConsoleParser({ progressPatterns: [/x+/] });
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 80);
      for (let k = 0; k < n; k++) {
        s +=
          rnd() < 0.5
            ? alphabet[Math.floor(rnd() * alphabet.length)]
            : String.fromCharCode(Math.floor(rnd() * 0x3000));
      }
      const evs = p.push(s, i + 1);
      for (const e of evs) expect(e.text).not.toMatch(/[\x00-\x1f\x7f]/);
    }
    expect(p.stats.lines).toBe(3000);
  });
});
