import { describe, expect, it } from 'vitest';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { analyzeBuffer, readLog } from '../support/analyze.js';

const R = (t: string, msg: string) => `[2026-11-27T02:44:${t}Z DEBUG virtiofsd::server] ${msg}`;
const req = (t: string, op: string, n: number, ino: number, u: number, pid: number) =>
  R(t, `Received request: opcode=${op} (${n}), inode=${ino}, unique=${u}, pid=${pid}`);
const ok = (t: string, u: number) =>
  R(t, `Replying OK, header: OutHeader { len: 16, error: 0, unique: ${u} }`);
const err = (t: string, u: number, e: number) =>
  R(t, `Replying ERROR, header: OutHeader { error: -${e} (x), unique: ${u}, len: 16 }`);
const C = (t: string, msg: string) => `[2026-11-27 02:44:${t}+0000] [ID: 00000003] ${msg}`;

describe('pairing by unique', () => {
  it('pairs out-of-order replies (thread pool) and lists unanswered requests with their age', () => {
    const a = analyzeBuffer(
      [
        req('10', 'Lookup', 1, 1, 2, 100),
        req('10', 'Getattr', 3, 5, 4, 100),
        req('11', 'Open', 14, 5, 6, 200),
        ok('11', 4),
        err('12', 2, 2),
        req('13', 'Forget', 2, 5, 8, 0),
        req('14', 'Getattr', 3, 1, 10, 300),
      ].join('\n'),
    );
    expect(a.totals).toMatchObject({ requests: 5, repliesOk: 1, repliesError: 1, noReply: 1, unanswered: 2 });
    const ops = Object.fromEntries(a.byOpcode.map((r) => [r.name, r]));
    expect(ops.Lookup).toMatchObject({ ok: 0, errors: 1 });
    expect(ops.Getattr).toMatchObject({ ok: 1, unanswered: 1 });
    expect(ops.Open).toMatchObject({ unanswered: 1 });
    expect(a.unanswered.map((u) => [u.unique, u.name, u.ageSec])).toEqual([
      [6, 'Open', 3],
      [10, 'Getattr', 0],
    ]);
    expect(a.errors.byOpcode).toEqual([
      { opcode: 1, name: 'Lookup', errno: 2, errnoName: 'ENOENT', count: 1 },
    ]);
    expect(a.byPid[0]).toMatchObject({ pid: 100, requests: 2, errors: 1 });
    expect(a.recent.map((r) => r.result)).toEqual(['ENOENT', 'ok', 'pending', 'noreply', 'pending']);
  });

  it('resets at INIT: uniques restart, outstanding requests are reported, not mis-paired', () => {
    const a = analyzeBuffer(
      [
        req('10', 'Init', 26, 0, 2, 0),
        ok('10', 2),
        req('10', 'Getattr', 3, 1, 4, 100),
        req('11', 'Init', 26, 0, 2, 0),
        ok('11', 2),
        ok('11', 4),
      ].join('\n'),
    );
    expect(a.totals.inits).toBe(2);
    expect(a.totals.unansweredBeforeInit).toBe(1);
    expect(a.unansweredAtInit.map((u) => u.name)).toEqual(['Getattr']);
    expect(a.totals.orphanReplies).toBe(1);
    expect(a.totals.unanswered).toBe(0);
  });

  it('knows which requests get no reply: Rust Destroy, C successful READ, Rust <= 1.6 read-likes', () => {
    const rust = analyzeBuffer(
      [req('10', 'Destroy', 38, 0, 2, 0), req('10', 'Read', 15, 3, 4, 7)].join('\n'),
    );
    // No OK reply for any Read was ever logged: a Rust <= 1.6 log, whose successful reads are silent.
    expect(rust.totals).toMatchObject({ noReply: 2, unanswered: 0 });
    const rust17 = analyzeBuffer(
      [req('10', 'Read', 15, 3, 2, 7), ok('10', 2), req('10', 'Read', 15, 3, 4, 7)].join('\n'),
    );
    expect(rust17.totals).toMatchObject({ noReply: 0, unanswered: 1 });
    const c = analyzeBuffer(
      [
        C('10.000001', 'unique: 2, opcode: READ (15), nodeid: 3, insize: 80, pid: 7'),
        C('10.000002', 'unique: 4, opcode: READ (15), nodeid: 3, insize: 80, pid: 7'),
        C('10.000003', '   unique: 4, error: -5 (Input/output error), outsize: 16'),
        C('10.000004', 'unique: 6, opcode: DESTROY (38), nodeid: 0, insize: 40, pid: 0'),
      ].join('\n'),
    );
    expect(c.totals).toMatchObject({ requests: 3, noReply: 1, repliesError: 1, unanswered: 1 });
    expect(c.byOpcode.find((r) => r.name === 'Read')).toMatchObject({ noReply: 1, errors: 1 });
    expect(c.unanswered[0]).toMatchObject({ name: 'Destroy', unique: 6 });
  });

  it('matches replies of unique-less requests (unknown opcode, Rust 1.0/1.1) in order', () => {
    const a = analyzeBuffer(
      [
        R('10', 'Received unknown request: opcode=99, inode=1'),
        R(
          '10',
          'Replying ERROR, header: OutHeader { error: -38 (Function not implemented), unique: 38, len: 16 }',
        ),
      ].join('\n'),
    );
    expect(a.totals).toMatchObject({ requests: 1, repliesError: 1, orphanReplies: 0, unanswered: 0 });
    expect(a.errors.byErrno[0]).toMatchObject({ name: 'ENOSYS' });
  });

  it('builds time-aware paths from C lookup results (nodeids are recycled)', () => {
    const a = analyzeBuffer(
      [
        C('10.000001', 'unique: 2, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 9'),
        C('10.000002', '  1/a -> 2'),
        C('10.000003', '   unique: 2, success, outsize: 144'),
        C('10.000004', 'unique: 4, opcode: GETATTR (3), nodeid: 2, insize: 56, pid: 9'),
        C('10.000005', '   unique: 4, success, outsize: 120'),
        C('10.000006', 'unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 9'),
        C('10.000007', '  1/dir -> 2'),
        C('10.000008', '   unique: 6, success, outsize: 144'),
        C('10.000009', 'unique: 8, opcode: LOOKUP (1), nodeid: 2, insize: 44, pid: 9'),
        C('10.000010', '  2/b -> 3'),
        C('10.000011', '   unique: 8, success, outsize: 144'),
        C('10.000012', 'unique: 10, opcode: GETATTR (3), nodeid: 3, insize: 56, pid: 9'),
        C('10.000013', '   unique: 10, success, outsize: 120'),
      ].join('\n'),
    );
    const byId = Object.fromEntries(a.byInode.top.map((r) => [r.nodeid, r.paths]));
    expect(byId[2]).toEqual([
      { path: '/a', requests: 1 },
      { path: '/dir', requests: 1 },
    ]);
    expect(byId[3]).toEqual([{ path: '/dir/b', requests: 1 }]);
    expect(byId[1]).toEqual([{ path: '/', requests: 2 }]);
  });

  it('counts the requests on / exactly across results taken while the log grows', () => {
    // nodeid 1's path counts are kept in a number and added before each read: a second result must not add them
    // twice, and requests after it must still count
    const a = new VirtiofsdAnalysis('live.log');
    const lines = (from: number) =>
      [
        C(`10.00000${from}`, `unique: ${from * 2}, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 9`),
        C(`10.00000${from + 1}`, `   unique: ${from * 2}, success, outsize: 120`),
      ].join('\n');
    // paths are listed once the log has C lookup results
    const lookup = [
      C('09.000001', 'unique: 100, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 9'),
      C('09.000002', '  1/a -> 2'),
      C('09.000003', '   unique: 100, success, outsize: 144'),
    ].join('\n');
    a.push(Buffer.from(`${lookup}\n${lines(1)}\n`));
    const root = () => a.result().byInode.top.find((r) => r.nodeid === 1)?.paths;
    expect(root()).toEqual([{ path: '/', requests: 2 }]);
    expect(root()).toEqual([{ path: '/', requests: 2 }]);
    a.push(Buffer.from(`${lines(3)}\n${lines(5)}\n`));
    a.end();
    expect(root()).toEqual([{ path: '/', requests: 4 }]);
    expect(a.result().byInode.rootRequests).toBe(4);
  });

  it('computes rates per bucket, not per line: whole-second stamps do not inflate them', () => {
    const lines: string[] = [];
    let u = 2;
    for (let s = 10; s < 15; s++)
      for (let i = 0; i < (s === 12 ? 300 : 100); i++)
        lines.push(req(String(s), 'Getattr', 3, 1, (u += 2), 5));
    const a = analyzeBuffer(lines.join('\n'));
    expect(a.time.durationSec).toBe(5);
    expect(a.rate.meanPerSec).toBe(140);
    expect(a.rate.peakPerSec).toBe(300);
    expect(a.timeline.buckets.map((b) => b.requests)).toEqual([100, 100, 300, 100, 100]);
    expect(a.timeline.buckets[2]).toMatchObject({ topPid: 5, topPidRequests: 300, topOpcode: 'Getattr' });
  });
});

describe('a copytruncate gap', () => {
  it('a NUL run before and inside a real log: skipped, counted, warned with its byte range; counts unchanged', () => {
    const log = readLog('fixtures/lab/rust-1.13.2-walk-cache-never/virtiofsd.log.gz');
    const plain = analyzeBuffer(log);
    const cut = log.indexOf(10, 40_000) + 1;
    const gapped = Buffer.concat([
      Buffer.alloc(200_000),
      log.subarray(0, cut),
      Buffer.alloc(3_000_000),
      log.subarray(cut),
    ]);
    const a = analyzeBuffer(gapped, {}, 65_536);
    expect(a.binary).toBe(false);
    expect(a.totals).toEqual(plain.totals);
    expect(a.lines.total).toBe(plain.lines.total);
    expect(a.lines.byKind.unrecognized).toBe(0);
    expect(a.lines.nulBytes).toBe(3_200_000);
    expect(a.lines.nulRuns).toEqual([
      [0, 200_000],
      [200_000 + cut, 3_200_000 + cut],
    ]);
    expect(a.warnings[0]).toMatch(
      /^3200000 NUL byte\(s\) skipped at byte 0–200000, \d+–\d+ \(a copytruncate gap/,
    );
    // Real binary data is still refused.
    expect(analyzeBuffer(Buffer.from([1, 2, 3, 0, 0, 0, 7, 8, 9, 0, 1])).binary).toBe(true);
  });
});

describe('env_logger lines without a time stamp', () => {
  it('a real Rust log with its stamps stripped (as a collector does): same counts and pairing, no rates or times', () => {
    const log = readLog('fixtures/lab/rust-1.13.2-loop2-4s-cache-never/virtiofsd.log.gz');
    const stripped = Buffer.from(
      log.toString('latin1').replace(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z (\w+) +/gm, '[$1 '),
      'latin1',
    );
    expect(stripped.toString('latin1', 0, 40)).toMatch(/^\[(DEBUG|INFO|WARN) virtiofsd/);
    const a = analyzeBuffer(log);
    const b = analyzeBuffer(stripped);
    expect(b.totals).toEqual(a.totals);
    expect(b.byOpcode).toEqual(a.byOpcode);
    expect(b.lines.byKind).toEqual(a.lines.byKind);
    expect(b.format.wrappers).toEqual({ 'env_logger-no-time': a.lines.total });
    expect(b.clock.kind).toBe('none');
    expect(b.time.first).toBeNull();
    expect(b.warnings).toContain(
      'no time stamps (env_logger without its time, or stripped by a collector): no rates, timeline or onsets',
    );
  });
});

describe('Rust dbg! output interleaved (a patched daemon)', () => {
  it('is known noise, counted, never a request: the real capture counts are unchanged, sequential and in chunks', () => {
    const log = readLog('fixtures/lab/rust-1.13.2-walk-cache-never/virtiofsd.log.gz').toString('latin1');
    const dbg = [
      '[src/server.rs:618:21] r.read_obj::<ReadIn>() = Ok(',
      '    ReadIn {',
      '        fh: 0,',
      '        unique: 796,',
      '        size: 4096,',
      '    },',
      ')',
      '[src/server.rs:618] r.read_obj()? = ReadIn {',
      '    fh: 3,',
      '    opcode: 15,',
      '}',
    ];
    const lines = log.split('\n');
    const mixed: string[] = [];
    lines.forEach((l, i) => {
      mixed.push(l);
      if (i % 97 === 5 && i < lines.length - 2) mixed.push(...dbg);
    });
    const inserted = mixed.length - lines.length;
    const a = analyzeBuffer(Buffer.from(log, 'latin1'));
    for (const chunk of [1 << 20, 4096, 333]) {
      const b = analyzeBuffer(Buffer.from(mixed.join('\n'), 'latin1'), {}, chunk);
      expect(b.totals).toEqual(a.totals);
      expect(b.lines.byKind.unrecognized).toBe(a.lines.byKind.unrecognized);
      expect(b.lines.byKind.other).toBe(a.lines.byKind.other + inserted);
    }
  });
});

describe('module-path variants', () => {
  it('[… DEBUG virtiofsd] QUEUE_EVENT (no ::vhost_user) next to virtiofsd::server lines is the same queue noise', () => {
    const lines = [
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=2, pid=7',
      '[2026-11-27T02:44:23Z DEBUG virtiofsd] QUEUE_EVENT',
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::vhost_user] QUEUE_EVENT',
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 120, error: 0, unique: 2 }',
    ];
    const a = analyzeBuffer(`${lines.join('\n')}\n`);
    expect(a.lines.byKind).toMatchObject({ request: 1, reply: 1, queue: 2, unrecognized: 0 });
  });
});
