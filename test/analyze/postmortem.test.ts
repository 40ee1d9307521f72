import { describe, expect, it } from 'vitest';
import { PostMortemReducer } from '../../src/analyze/postmortem.js';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { opcodeName } from '../../src/parse/opcodes.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
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

describe('the snapshot against a plain recount of the same requests', () => {
  /** Deterministic requests over `secs` seconds: PIDs, opcodes (a few above 63) and counts that tie often. */
  function feed(
    r: PostMortemReducer,
    n: number,
    secs: number,
    gapEvery = 0,
  ): { ts: number; op: number; pid: number }[] {
    const out: { ts: number; op: number; pid: number }[] = [];
    let x = 12345;
    const rnd = (m: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % m;
    };
    const t0 = Date.UTC(2026, 10, 27, 2, 44, 0);
    for (let i = 0; i < n; i++) {
      let sec = Math.floor((i * secs) / n);
      if (gapEvery > 0 && Math.floor(sec / gapEvery) % 2 === 1) sec += gapEvery; // seconds with no requests
      const ts = t0 + sec * 1000;
      const op = [1, 3, 15, 15, 16, 25, 44, 52, 70, 3][rnd(10)];
      const pid = 100 + rnd(40);
      r.request(ts, i + 1, op, 1 + rnd(50), 2 * i + 2, pid, Daemon.rust);
      out.push({ ts, op, pid });
    }
    return out;
  }

  it('merges seconds into wider buckets exactly, empty ones included, opcodes busiest first', () => {
    for (const maxBuckets of [7, 20_000]) {
      const r = new PostMortemReducer({ maxBuckets });
      const reqs = feed(r, 5000, 60, 9);
      const t = r.snapshot().timeline;
      const lo = Math.floor(Math.min(...reqs.map((q) => q.ts)) / 1000);
      const hi = Math.floor(Math.max(...reqs.map((q) => q.ts)) / 1000);
      const width = Math.max(1, Math.ceil((hi - lo + 1) / maxBuckets));
      expect(t.bucketSec).toBe(width);
      expect(t.buckets.length).toBe(Math.ceil((hi - lo + 1) / width));
      t.buckets.forEach((b, k) => {
        const mine = reqs.filter((q) => Math.floor((Math.floor(q.ts / 1000) - lo) / width) === k);
        expect(b.t).toBe((lo + k * width) * 1000);
        expect(b.requests).toBe(mine.length);
        const counts = new Map<number, number>();
        for (const q of mine) counts.set(q.op, (counts.get(q.op) ?? 0) + 1);
        const want = [...counts].sort((p, q) => q[1] - p[1] || p[0] - q[0]);
        expect(Object.entries(b.opcodes)).toEqual(want.map(([op, c]) => [opcodeName(op), c]));
        expect(b.topOpcode).toBe(want.length > 0 ? opcodeName(want[0][0]) : null);
        expect(b.topOpcodeRequests).toBe(want.length > 0 ? want[0][1] : 0);
        if (mine.length === 0) expect(b).toMatchObject({ topPid: null, topPidRequests: 0, errors: 0 });
      });
      expect(t.buckets.some((b) => b.requests === 0)).toBe(true);
    }
  });

  it('lists the busiest (PID, opcode) pairs as a full sort would, ties by PID then opcode', () => {
    for (const top of [1, 3, 15, 500]) {
      const r = new PostMortemReducer({ top });
      const reqs = feed(r, 20_000, 30);
      const counts = new Map<string, { pid: number; opcode: number; requests: number }>();
      for (const q of reqs) {
        const k = `${q.pid}/${q.op}`;
        const c = counts.get(k) ?? { pid: q.pid, opcode: q.op, requests: 0 };
        c.requests++;
        counts.set(k, c);
      }
      const want = [...counts.values()]
        .sort((a, b) => b.requests - a.requests || a.pid - b.pid || a.opcode - b.opcode)
        .slice(0, top)
        .map((c) => ({ ...c, name: opcodeName(c.opcode) }));
      expect(r.snapshot().byPidOpcode).toEqual(want);
    }
    // all tied, the PIDs seen highest first: the lowest PIDs, seen last, must still win the ties
    const r = new PostMortemReducer({ top: 5 });
    let u = 2;
    for (let pid = 200; pid > 100; pid--)
      for (const op of [15, 3, 1])
        for (let k = 0; k < 2; k++) r.request(1e12, u, op, 1, (u += 2), pid, Daemon.rust);
    expect(r.snapshot().byPidOpcode.map((x) => [x.pid, x.opcode, x.requests])).toEqual([
      [101, 1, 2],
      [101, 3, 2],
      [101, 15, 2],
      [102, 1, 2],
      [102, 3, 2],
    ]);
  });
});
