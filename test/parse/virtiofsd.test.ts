import { describe, expect, it } from 'vitest';
import {
  LINE_KIND_NAMES,
  VirtiofsdLineParser,
  type VirtiofsdSink,
  wrapperRecord,
} from '../../src/parse/virtiofsd.js';

type Ev =
  | { t: 'req'; ts: number; opcode: number; nodeid: number; unique: number; pid: number; daemon: number }
  | { t: 'rep'; ts: number; unique: number; error: number; len: number }
  | { t: 'ent'; parent: number; name: string; child: number };

function parse(text: string, format?: 'auto' | 'rust' | 'c' | 'rust-legacy') {
  const events: Ev[] = [];
  const sink: VirtiofsdSink = {
    request: (ts, _l, opcode, nodeid, unique, pid, daemon) =>
      events.push({ t: 'req', ts, opcode, nodeid, unique, pid, daemon }),
    reply: (ts, _l, unique, error, len) => events.push({ t: 'rep', ts, unique, error, len }),
    entry: (_ts, _l, parent, name, child) => events.push({ t: 'ent', parent, name, child }),
  };
  const p = new VirtiofsdLineParser(sink, { format, assumeYear: 2026 });
  const kinds: string[] = [];
  text.split('\n').forEach((line, i) => {
    const b = Buffer.from(line);
    kinds.push(LINE_KIND_NAMES[p.line(b, 0, b.length, i + 1)]);
  });
  return { events, kinds, stats: p.stats, parser: p };
}

const T = Date.UTC(2026, 10, 27, 2, 44, 23);

describe('Rust virtiofsd lines', () => {
  it('parses a ≥ 1.2 request and both reply layouts', () => {
    const r = parse(
      [
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=6, pid=101',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 144, error: 0, unique: 6 }',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Replying ERROR, header: OutHeader { error: -2 (No such file or directory), unique: 8, len: 16 }',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Replying ERROR, header: OutHeader { len: 16, error: -2, unique: 10 }',
      ].join('\n'),
    );
    expect(r.kinds).toEqual(['request', 'reply', 'reply', 'reply']);
    expect(r.events).toEqual([
      { t: 'req', ts: T, opcode: 1, nodeid: 1, unique: 6, pid: 101, daemon: 0 },
      { t: 'rep', ts: T, unique: 6, error: 0, len: 144 },
      { t: 'rep', ts: T, unique: 8, error: -2, len: 16 },
      { t: 'rep', ts: T, unique: 10, error: -2, len: 16 },
    ]);
    expect(r.stats.resolution).toBe('second');
  });

  it('parses unknown requests, 1.0/1.1 bare opcodes and large numbers', () => {
    const r = parse(
      [
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received unknown request: opcode=99, inode=1',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: 26',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=18446744073709, unique=9007199254740, pid=4194304',
      ].join('\n'),
    );
    expect(r.events[0]).toMatchObject({ opcode: 99, nodeid: 1, unique: -1, pid: -1 });
    expect(r.events[1]).toMatchObject({ opcode: 26, unique: -1, daemon: 1 });
    expect(r.events[2]).toMatchObject({
      opcode: 3,
      nodeid: 18446744073709,
      unique: 9007199254740,
      pid: 4194304,
    });
  });

  it('classifies noise and keeps the previous time for unprefixed lines', () => {
    const r = parse(
      [
        '[2026-11-27T02:44:22Z WARN  virtiofsd::limits] Failure when trying to set the limit to 1000000, the hard limit (20000) of open file descriptors is used instead.',
        '[2026-11-27T02:44:22Z INFO  virtiofsd] Waiting for vhost-user socket connection...',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::vhost_user] QUEUE_EVENT',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::vhost_user] HIPRIO_QUEUE_EVENT',
        'Warning: Cannot announce submounts, client does not support it',
        "thread 'main' panicked at src/main.rs:1:1:",
        '',
        'complete garbage here',
        '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1',
      ].join('\n'),
    );
    expect(r.kinds).toEqual([
      'warning',
      'lifecycle',
      'queue',
      'queue',
      'warning',
      'crash',
      'blank',
      'unrecognized',
      'unrecognized',
    ]);
    expect(r.stats.unrecognizedSamples.map((s) => s.line)).toEqual([8, 9]);
  });

  it('strips ANSI colour and CR', () => {
    const r = parse(
      [
        '[2026-11-27T02:44:23Z \x1b[34mDEBUG\x1b[0m virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=6, pid=101',
        '\x1b[2m[2026-11-27T02:44:23Z DEBUG virtiofsd::server]\x1b[0m Replying OK, header: OutHeader { len: 144, error: 0, unique: 6 }\r',
      ].join('\n'),
    );
    expect(r.kinds).toEqual(['request', 'reply']);
    expect(r.events[1]).toMatchObject({ t: 'rep', unique: 6, len: 144 });
    expect(r.stats.ansiLines).toBe(1);
  });
});

describe('C virtiofsd lines', () => {
  it('parses 6.1+ prefixes, requests, both reply forms and lookup entries', () => {
    const r = parse(
      [
        '[2026-11-27 02:43:57.293466+0000] [ID: 00014259] unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 101',
        '[2026-11-27 02:43:57.293471+0000] [ID: 00014259] lo_lookup(parent=1, name=dir)',
        '[2026-11-27 02:43:57.293639+0000] [ID: 00014259]   1/dir -> 2',
        '[2026-11-27 02:43:57.293645+0000] [ID: 00014259]    unique: 6, success, outsize: 144',
        '[2026-11-27 02:43:57.354124+0000] [ID: 00014259]    unique: 8, error: -2 (No such file or directory), outsize: 16',
        '[2026-11-27 02:43:57.293639+0000] [ID: 00014259]   2/odd -> name -> 7',
        '[2026-11-27 02:43:58.260568+0000] [ID: 00014259] unique: 38, opcode: ??? (99), nodeid: 1, insize: 40, pid: 104',
        '[2026-11-27 02:43:58.562470+0000] [ID: 00014258]   forget 2 3 -1',
        '[2026-11-27 02:43:58.562474+0000] [ID: 00014258] fv_queue_worker: elem 0 no reply sent',
        "virtiofsd: ../../tools/virtiofsd/fuse_virtio.c:284: virtio_send_msg: Assertion `!req->reply_sent' failed.",
      ].join('\n'),
    );
    expect(r.kinds).toEqual([
      'request',
      'passthrough',
      'passthrough',
      'reply',
      'reply',
      'passthrough',
      'request',
      'passthrough',
      'transport',
      'other',
    ]);
    const t = Date.UTC(2026, 10, 27, 2, 43, 57) + 293.466;
    expect(r.events[0]).toEqual({ t: 'req', ts: t, opcode: 1, nodeid: 1, unique: 6, pid: 101, daemon: 2 });
    expect(r.events[1]).toEqual({ t: 'ent', parent: 1, name: 'dir', child: 2 });
    expect(r.events[2]).toMatchObject({ t: 'rep', unique: 6, error: 0, len: 144 });
    expect(r.events[3]).toMatchObject({ t: 'rep', unique: 8, error: -2, len: 16 });
    expect(r.events[4]).toEqual({ t: 'ent', parent: 2, name: 'odd -> name', child: 7 });
    expect(r.events[5]).toMatchObject({ opcode: 99, unique: 38 });
    expect(r.stats.resolution).toBe('microsecond');
  });

  it('reads QEMU 5.x monotonic, 6.0 local-time, (null) and [ID:]-only prefixes', () => {
    const r = parse(
      [
        '[1234567890123] [ID: 00001234] unique: 2, opcode: INIT (26), nodeid: 0, insize: 56, pid: 0',
        '[2020-12-07 18:17:54.32+0100] [ID: 00001234] unique: 4, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 5',
        '[(null)] [ID: 00001234] unique: 6, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 5',
        '[ID: 00000005] unique: 8, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 5',
      ].join('\n'),
    );
    expect(r.kinds).toEqual(['request', 'request', 'request', 'request']);
    expect(r.events[0]).toMatchObject({ ts: 1234567.890123 });
    const t60 = Date.UTC(2020, 11, 7, 17, 17, 54) + 320;
    expect(r.events[1]).toMatchObject({ ts: t60 });
    expect(r.events[2]).toMatchObject({ ts: t60 });
    expect(r.events[3]).toMatchObject({ ts: t60, unique: 8 });
    expect(r.stats.clocks.monotonic).toBe(1);
  });
});

describe('wrappers', () => {
  it('unwraps syslog, journalctl short / short-precise / short-iso and kata logfmt', () => {
    const r = parse(
      [
        '<15>Nov 27 02:45:23 vm ld-linux-x86-64.so.2[16106]: Received request: opcode=Init (26), inode=0, unique=2, pid=0',
        'Jul 06 15:29:27 fedora virtiofsd[20943]:    unique: 2460676, success, outsize: 16',
        'Jul 06 15:29:27.123456 fedora virtiofsd[20943]: unique: 2460678, opcode: LOOKUP (1), nodeid: 6813, insize: 54, pid: 122',
        '2026-11-27T02:45:23+0000 vm virtiofsd[1]: Replying OK, header: OutHeader { len: 80, error: 0, unique: 2 }',
        '2026-11-27T02:45:23.500000+01:00 vm virtiofsd[1]: [ID: 00000005] unique: 10, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 5',
        'time="2019-08-29T08:42:55.396799892Z" level=debug msg="unique: 3, opcode: LOOKUP (1), nodeid: 1, insize: 105, pid: 93" ID=6fbb3d source=virtiofsd subsystem=qemu',
        'time="2019-08-29T08:42:55.396855377Z" level=debug msg="  1/a \\"q\\" -> 2" ID=6fbb3d source=virtiofsd subsystem=qemu',
        'Nov 27 02:45:23 host virtiofsd[1]: [2026-11-27T02:45:23Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=4, pid=7',
      ].join('\n'),
    );
    expect(r.kinds).toEqual([
      'request',
      'reply',
      'request',
      'reply',
      'request',
      'request',
      'passthrough',
      'request',
    ]);
    expect(r.events[0]).toMatchObject({ ts: Date.UTC(2026, 10, 27, 2, 45, 23), opcode: 26 });
    expect(r.events[2]).toMatchObject({ ts: Date.UTC(2026, 6, 6, 15, 29, 27) + 123.456, nodeid: 6813 });
    expect(r.events[4]).toMatchObject({ ts: Date.UTC(2026, 10, 27, 1, 45, 23) + 500 });
    expect(r.events[5]).toMatchObject({ ts: Date.UTC(2019, 7, 29, 8, 42, 55) + 396.799892, pid: 93 });
    expect(r.events[6]).toEqual({ t: 'ent', parent: 1, name: 'a "q"', child: 2 });
    expect(r.events[7]).toMatchObject({ opcode: 3, pid: 7 });
    expect(wrapperRecord(r.stats).syslog).toBe(1);
    expect(wrapperRecord(r.stats)['journal-short']).toBe(3);
    expect(wrapperRecord(r.stats)['journal-iso']).toBe(2);
    expect(wrapperRecord(r.stats).kata).toBe(2);
  });

  it('--format restricts which daemon lines count', () => {
    const text = [
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=6, pid=101',
      '[2026-11-27 02:43:57.293466+0000] [ID: 00014259] unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 101',
    ].join('\n');
    expect(parse(text, 'rust').kinds).toEqual(['request', 'unrecognized']);
    expect(parse(text, 'c').kinds).toEqual(['unrecognized', 'request']);
  });
});

describe('robustness (fuzz)', () => {
  it('never throws on random bytes or mutated real lines, and classifies every line', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const seeds = [
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=6, pid=101',
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Replying ERROR, header: OutHeader { error: -2 (No such file or directory), unique: 8, len: 16 }',
      '[2026-11-27 02:43:57.293466+0000] [ID: 00014259]    unique: 8, error: -2 (No such file or directory), outsize: 16',
      '[2026-11-27 02:43:57.293639+0000] [ID: 00014259]   1/dir -> 2',
      '<15>Nov 27 02:45:23 vm virtiofsd[16106]: Received request: opcode=Init (26), inode=0, unique=2, pid=0',
      'time="2019-08-29T08:42:55.396799892Z" level=debug msg="unique: 3, opcode: LOOKUP (1)"',
    ];
    const sink: VirtiofsdSink = { request() {}, reply() {}, entry() {} };
    const p = new VirtiofsdLineParser(sink);
    let lines = 0;
    for (let i = 0; i < 20000; i++) {
      let b: Buffer;
      if (i % 3 === 0) {
        b = Buffer.alloc(Math.floor(rnd() * 200));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      } else {
        b = Buffer.from(seeds[i % seeds.length]);
        const cut = Math.floor(rnd() * b.length);
        if (i % 3 === 1) b = b.subarray(0, cut);
        else b[cut] = Math.floor(rnd() * 256);
      }
      p.line(b, 0, b.length, ++lines);
    }
    expect(p.stats.kinds.reduce((a, c) => a + c, 0)).toBe(lines);
  });
});
