/**
 * libfuse `-d` logs (any libfuse 2.9/3.x file system): real captures in fixtures/libfuse/ against an independent awk
 * count, the high-level API's lines, LOOKUP/NODEID path pairing, format detection and the parallel reader.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { analyzeInput } from '../../src/io/analyze-input.js';
import { analyzeParallel } from '../../src/io/parallel.js';
import {
  Daemon,
  LINE_KIND_NAMES,
  sniffLibfuse,
  VirtiofsdLineParser,
  type VirtiofsdSink,
} from '../../src/parse/virtiofsd.js';
import { analyzeBuffer, analyzeFile, readLog } from '../support/analyze.js';
import { runCli } from '../support/cli.js';
import { awkCounts } from '../support/reference.js';

const DIR = 'fixtures/libfuse';
const CAPTURES = [
  `${DIR}/hlpass-3.14-walk.log`,
  `${DIR}/bindfs-2.9.9-walk.log`,
  `${DIR}/hlpass-3.14-statloop-4s.log.gz`,
];

/** Independent count of the path-pairing lines: `   NODEID: n` and the lines that name a path for one. */
function awkPathLines(file: string): { nodeid: number; lookup: number } {
  const out = execFileSync(
    'sh',
    [
      '-c',
      `zcat -f -- "$1" | awk '/^   NODEID: [0-9]+$/ { n++ } /^LOOKUP \\// { l++ } END { print n + 0, l + 0 }'`,
      'sh',
      file,
    ],
    { encoding: 'utf8' },
  );
  const [nodeid, lookup] = out.trim().split(' ').map(Number);
  return { nodeid, lookup };
}

type Ev =
  | { t: 'req'; opcode: number; nodeid: number; unique: number; pid: number; daemon: number }
  | { t: 'rep'; unique: number; error: number }
  | { t: 'ent'; line: number; parent: number; name: string; child: number };

function parse(lines: string[], opts: { format?: 'auto' | 'c' | 'libfuse'; libfuse?: boolean } = {}) {
  const events: Ev[] = [];
  const sink: VirtiofsdSink = {
    request: (_ts, _l, opcode, nodeid, unique, pid, daemon) =>
      events.push({ t: 'req', opcode, nodeid, unique, pid, daemon }),
    reply: (_ts, _l, unique, error) => events.push({ t: 'rep', unique, error }),
    entry: (_ts, line, parent, name, child) => events.push({ t: 'ent', line, parent, name, child }),
  };
  const p = new VirtiofsdLineParser(sink, opts);
  const kinds = lines.map((line, i) => {
    const b = Buffer.from(line);
    return LINE_KIND_NAMES[p.line(b, 0, b.length, i + 1)];
  });
  return { events, kinds, stats: p.stats, entries: events.filter((e) => e.t === 'ent') };
}

describe('real libfuse -d captures match an independent awk count', () => {
  for (const file of CAPTURES) {
    it(file.slice(DIR.length + 1), () => {
      const ref = awkCounts(file);
      const a = analyzeFile(file, { top: 1_000_000 });
      expect(ref.total).toBeGreaterThan(0);
      expect(a.format.detected).toBe('libfuse');
      expect(a.format.byDaemon).toEqual({
        rust: 0,
        'rust-legacy': 0,
        c: 0,
        libfuse: ref.total + ref.ok + ref.bad,
      });
      expect(a.totals.requests).toBe(ref.total);
      expect(a.lines.byKind.request).toBe(ref.total);
      expect(a.totals.repliesOk).toBe(ref.ok);
      expect(a.totals.repliesError).toBe(ref.bad);
      expect(new Map(a.byOpcode.map((r) => [r.opcode, r.requests]))).toEqual(ref.byOpcode);
      expect(new Map(a.byPid.map((r) => [r.pid, r.requests]))).toEqual(ref.byPid);
      expect(a.byInode.distinct).toBe(ref.byInode.size);
      expect(new Map(a.byInode.top.map((r) => [r.nodeid, r.requests]))).toEqual(ref.byInode);
      expect(new Map(a.errors.byErrno.map((r) => [-r.errno, r.count]))).toEqual(ref.byErrno);
      // Every line is known: requests, replies, and the high-level API's lines (passthrough) and banner (init).
      expect(a.lines.byKind.unrecognized).toBe(0);
      const kinds = Object.values(a.lines.byKind).reduce((x, y) => x + y, 0);
      expect(kinds).toBe(a.lines.total);
      expect(a.totals.orphanReplies).toBe(0);
      // libfuse answers every request but FORGET: a READ has a reply line (unlike C virtiofsd's).
      const read = a.byOpcode.find((r) => r.name === 'Read');
      if (read) expect(read.ok + read.errors).toBe(read.requests);
      const perOp = a.byOpcode.reduce((s, r) => s + r.ok + r.errors + r.noReply + r.unanswered, 0);
      expect(perOp).toBe(a.totals.requests);
      // No time stamps, and the output says so.
      expect(a.clock.kind).toBe('none');
      expect(a.rate.peakPerSec).toBe(0);
      expect(a.warnings).toContain('no time stamps (libfuse -d prints none): no rates, timeline or onsets');
      expect(a.paths.known).toBe(true);
    });
  }

  it('hlpass-3.14-walk.log: 818 lines, 212 requests, 80 NODEID lines all paired with their path', () => {
    const file = `${DIR}/hlpass-3.14-walk.log`;
    const a = analyzeFile(file, { top: 1_000_000 });
    expect(awkPathLines(file)).toEqual({ nodeid: 80, lookup: 85 });
    expect(a.lines.total).toBe(818);
    expect(a.totals).toMatchObject({
      requests: 212,
      repliesOk: 198,
      repliesError: 12,
      noReply: 2,
      unanswered: 0,
    });
    // init: the banner (version, nullpath_ok) and the 10 INIT negotiation lines; warning: 'Ignoring invalid max threads'.
    expect(a.lines.byKind).toMatchObject({ request: 212, reply: 210, init: 12, warning: 1, unrecognized: 0 });
    expect(a.warnings.some((w) => w.includes('not paired'))).toBe(false);
    const path = (n: number) => a.byInode.top.find((r) => r.nodeid === n)?.paths?.[0]?.path;
    expect(path(1)).toBe('/');
    expect(path(2)).toBe('/hello');
    expect(path(3)).toBe('/dir');
    // Made by CREATE (`create flags: 0x8241 /new 0100644 umask=0022` … `   NODEID: 10`), then renamed.
    expect(a.byInode.top.find((r) => r.nodeid === 10)?.paths?.map((p) => p.path)).toContain('/new');
    expect(path(11)).toBe('/sub'); // MKDIR
  });

  it('bindfs-2.9.9-walk.log (libfuse 2.9): 1,224 lines, 344 requests, 84 NODEID lines paired', () => {
    const file = `${DIR}/bindfs-2.9.9-walk.log`;
    const a = analyzeFile(file, { top: 1_000_000 });
    expect(awkPathLines(file).nodeid).toBe(84);
    expect(a.lines.total).toBe(1224);
    expect(a.totals).toMatchObject({ requests: 344, repliesOk: 318, repliesError: 24, unanswered: 0 });
    expect(a.warnings.some((w) => w.includes('not paired'))).toBe(false);
    expect(a.byInode.top.find((r) => r.nodeid === 2)?.paths?.[0]?.path).toBe('/hello');
  });

  it('the stat loop: 638,645 lines, 147,382 requests, one PID stat-ing /dir/f1 up to the last line', () => {
    const file = `${DIR}/hlpass-3.14-statloop-4s.log.gz`;
    const a = analyzeFile(file, { top: 1_000_000 });
    expect(awkPathLines(file)).toEqual({ nodeid: 98245, lookup: 98245 });
    expect(a.lines.total).toBe(638645);
    expect(a.totals).toMatchObject({ requests: 147382, repliesOk: 147380, repliesError: 1 });
    expect(a.byPid[0]).toMatchObject({ pid: 3144, requests: 147366 });
    const path = (n: number) => a.byInode.top.find((r) => r.nodeid === n)?.paths?.[0]?.path;
    expect(path(3)).toBe('/dir');
    expect(path(4)).toBe('/dir/f1');
    // Copied while the loop ran: its last request (a GETATTR) has no reply yet.
    expect(a.totals.unanswered).toBe(1);
    expect(a.unanswered[0]).toMatchObject({ line: 638644, name: 'Getattr', nodeid: 4, pid: 3144 });
  });
});

const REQ = (u: number, op: string, n: number, node: number, pid = 7) =>
  `unique: ${u}, opcode: ${op} (${n}), nodeid: ${node}, insize: 46, pid: ${pid}`;
const OK = (u: number) => `   unique: ${u}, success, outsize: 144`;

describe('libfuse high-level API lines', () => {
  it('recognises each line shape of lib/fuse.c (2.9 and 3.x) as known noise, never as a request', () => {
    const lines = [
      'FUSE library version: 3.14.0',
      'nullpath_ok: 0',
      'nopath: 0',
      'utime_omit_ok: 0',
      'Ignoring invalid max threads value 4294967295 > max (100000).',
      'getattr[NULL] /hello',
      'getattr /hello',
      'fgetattr[5] /hello',
      'read[5] 4096 bytes from 0 flags: 0x8000',
      '   read[5] 6 bytes from 0',
      'write[5] 4 bytes to 0 flags: 0x8001',
      '   write[5] 4 bytes to 0',
      'writepage[5] 4096 bytes to 0 flags: 0x8001',
      'open flags: 0x8000 /hello',
      '   open[5] flags: 0x8000 /hello',
      'opendir flags: 0x18800 /',
      '   opendir[0] flags: 0x18800 /',
      'readdir[0] from 0',
      'readdirplus[0] from 0',
      'release[5] flags: 0x8000',
      'release+flush[5] flags: 0x8000',
      'releasedir[0] flags: 0x0',
      'flush[5]',
      'fsync[5] datasync: 0',
      'statfs /',
      'access / 01',
      'readlink /link 4096',
      'unlink /x',
      'rmdir /d',
      'rename /a /b 0x1',
      'chmod[NULL] /x 100644',
      'chown[NULL] /x 0 0',
      'truncate[NULL] 0',
      'utimens[NULL] /x 0.000000000 0.000000000',
      'getxattr /hello security.selinux 255',
      'listxattr / 0',
      'lseek[5] 0 3',
      'statx[NULL] /x 0 2047',
      'FORGET 2/1',
      'DELETE: 2',
      'LOOKUP-DOT',
      'LOOKUP-DOTDOT',
      'QUEUE PATH 3',
      'DEQUEUE PATH 3',
      '   INIT: 7.31',
      '   time_gran=1',
    ];
    const r = parse(lines);
    expect(r.kinds.filter((k) => k === 'unrecognized')).toEqual([]);
    expect(r.events).toEqual([]);
    expect(r.kinds.slice(0, 4)).toEqual(['init', 'init', 'init', 'init']);
    expect(r.kinds[4]).toBe('warning');
    expect(new Set(r.kinds.slice(5, 42))).toEqual(new Set(['passthrough']));
  });

  it('leaves look-alikes alone: an env_logger line, a five-space indent, an unknown word', () => {
    const r = parse([
      '[2026-11-27T02:44:23Z DEBUG virtiofsd::server] read failed',
      '     read[5] 6 bytes from 0',
      'readahead[5] 6 bytes',
      'LOOKUP',
    ]);
    expect(r.kinds).toEqual(['unrecognized', 'unrecognized', 'unrecognized', 'unrecognized']);
  });

  it('pairs LOOKUP /path … NODEID: n into an entry for the whole path (parent 1, no leading slash)', () => {
    const r = parse([
      REQ(4, 'LOOKUP', 1, 3),
      'LOOKUP /dir/f 1',
      'getattr[NULL] /dir/f 1',
      '   NODEID: 4',
      OK(4),
    ]);
    expect(r.entries).toEqual([{ t: 'ent', line: 4, parent: 1, name: 'dir/f 1', child: 4 }]);
    expect(r.stats.libfuse).toMatchObject({ paths: 1, unpaired: 0, atEnd: true });
  });

  it('pairs mkdir, mknod, symlink, link and create paths with their NODEID', () => {
    const r = parse([
      REQ(2, 'MKDIR', 9, 1),
      'mkdir /sub dir 0755 umask=0022',
      '   NODEID: 5',
      OK(2),
      REQ(4, 'MKNOD', 8, 1),
      'mknod /fifo 010644 0x0 umask=0022',
      '   NODEID: 6',
      OK(4),
      REQ(6, 'SYMLINK', 6, 1),
      'symlink target with space /ln',
      '   NODEID: 7',
      OK(6),
      REQ(8, 'LINK', 13, 2),
      'link /hello /hard',
      '   NODEID: 2',
      OK(8),
      REQ(10, 'CREATE', 35, 5),
      'create flags: 0x8241 /sub dir/new 0100644 umask=0022',
      '   create[4] flags: 0x8241 /sub dir/new',
      'getattr[4] /sub dir/new',
      '   NODEID: 8',
      OK(10),
    ]);
    expect(r.entries.map((e) => (e.t === 'ent' ? [e.name, e.child] : null))).toEqual([
      ['sub dir', 5],
      ['fifo', 6],
      ['ln', 7],
      ['hard', 2],
      ['sub dir/new', 8],
    ]);
  });

  it('keeps a path across another thread’s reply, drops it at its own request’s (failed) reply', () => {
    // Real interleaving from hlpass-3.14-walk.log lines 399–406: a RELEASE answered between LOOKUP and NODEID.
    const r = parse([
      REQ(224, 'LOOKUP', 1, 1),
      'LOOKUP /new',
      'getattr[NULL] /new',
      REQ(222, 'RELEASE', 18, 10, 0),
      'release[4] flags: 0x8001',
      '   unique: 222, success, outsize: 16',
      '   NODEID: 10',
      OK(224),
      REQ(226, 'LOOKUP', 1, 1),
      'LOOKUP /missing',
      'getattr[NULL] /missing',
      '   unique: 226, error: -2 (No such file or directory), outsize: 16',
      REQ(228, 'LOOKUP', 1, 1),
      'LOOKUP /hello',
      '   NODEID: 2',
      OK(228),
    ]);
    expect(r.entries.map((e) => (e.t === 'ent' ? [e.name, e.child] : null))).toEqual([
      ['new', 10],
      ['hello', 2],
    ]);
    expect(r.stats.libfuse.unpaired).toBe(0);
  });

  it('never guesses between overlapping lookups of two paths: both NODEIDs are counted unpaired', () => {
    const r = parse([
      REQ(2, 'LOOKUP', 1, 1, 7),
      REQ(4, 'LOOKUP', 1, 1, 8),
      'LOOKUP /a',
      'LOOKUP /b',
      '   NODEID: 2',
      '   NODEID: 3',
      OK(2),
      OK(4),
    ]);
    expect(r.entries).toEqual([]);
    expect(r.stats.libfuse).toMatchObject({ paths: 0, unpaired: 2 });
  });

  it('reads unprefixed C-format lines as libfuse after a marker, or from the first line when sniffed', () => {
    const lines = [REQ(2, 'GETATTR', 3, 1), OK(2), 'getattr[NULL] /', REQ(4, 'GETATTR', 3, 1), OK(4)];
    const auto = parse(lines);
    expect(auto.events.filter((e) => e.t === 'req').map((e) => (e.t === 'req' ? e.daemon : -1))).toEqual([
      Daemon.c,
      Daemon.libfuse,
    ]);
    expect(sniffLibfuse(Buffer.from(`${lines.join('\n')}\n`))).toBe(true);
    const sniffed = parse(lines, { libfuse: true });
    expect(sniffed.stats.byDaemon).toMatchObject({ c: 0, libfuse: 4 });
    // Forced C: no libfuse reading, the high-level line is still known noise.
    const c = parse(lines, { format: 'c' });
    expect(c.stats.byDaemon).toMatchObject({ c: 4, libfuse: 0 });
    expect(c.kinds[2]).toBe('passthrough');
    // Forced libfuse: C virtiofsd's prefixed lines are not libfuse.
    const prefixed =
      '[2026-11-27 02:43:57.293466+0000] [ID: 00014259] unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 101';
    expect(parse([prefixed], { format: 'libfuse' }).kinds).toEqual(['unrecognized']);
    expect(parse([prefixed], { libfuse: true }).stats.byDaemon).toMatchObject({ c: 1, libfuse: 0 });
    // Old C virtiofsd through syslog or kata prints the same lines bare: without a libfuse marker they stay C.
    expect(
      sniffLibfuse(
        Buffer.from(`${REQ(2, 'LOOKUP', 1, 1)}
${OK(2)}\n`),
      ),
    ).toBe(false);
  });

  it('libfuse ≥ 3.18 channel prefixes: dev unique: … and cqe unique: …', () => {
    const r = parse([
      'dev unique: 2, opcode: LOOKUP (1), nodeid: 1, insize: 46, pid: 5',
      'cqe unique: 4, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 5',
    ]);
    expect(r.kinds).toEqual(['request', 'request']);
  });
});

describe('libfuse hangs and loops', () => {
  it('a READ without a reply is unanswered (libfuse answers every READ; C virtiofsd does not)', () => {
    const log = [
      'FUSE library version: 3.14.0',
      REQ(2, 'OPEN', 14, 2),
      'open flags: 0x8000 /hello',
      '   open[5] flags: 0x8000 /hello',
      '   unique: 2, success, outsize: 32',
      REQ(4, 'READ', 15, 2),
      'read[5] 4096 bytes from 0 flags: 0x8000',
    ].join('\n');
    const a = analyzeBuffer(`${log}\n`);
    expect(a.format.detected).toBe('libfuse');
    expect(a.totals).toMatchObject({ requests: 2, unanswered: 1, noReply: 0 });
    expect(a.unanswered[0]).toMatchObject({ line: 6, name: 'Read', ageSec: null });
  });

  it('the CLI names the format, says there are no times, and does not claim that no loop ran', () => {
    const r = runCli(['--json', `${DIR}/hlpass-3.14-statloop-4s.log.gz`]);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    const input = doc.inputs[0];
    expect(input.format.detected).toBe('libfuse');
    expect(input.clock.kind).toBe('none');
    expect(input.rate).toEqual({ meanPerSec: 0, peakPerSec: 0, peakAt: null });
    expect(input.verdict.onset).toBeNull();
    expect(input.verdict.reason).toMatch(/no time stamps, so loops, rates and stops cannot be timed/);
    expect(input.verdict.reason).toMatch(/whether a loop was still running at the end cannot be told/);
    const text = runCli([`${DIR}/hlpass-3.14-walk.log`]).stdout;
    expect(text.split('\n')[0]).toContain('libfuse -d (a FUSE file system)');
    expect(text).toContain('Top PIDs (caller thread ids; 0 = kernel)');
    expect(text).toMatch(/ {5}2 +8 +3\.8% +\/hello/); // inode 2, 8 requests, its path
    expect(runCli(['--format', 'libfuse', '--json', `${DIR}/bindfs-2.9.9-walk.log`]).code).toBe(0);
  });
});

describe('libfuse logs through the parallel reader', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vfs-libfuse-'));
  });

  it('equals the sequential analysis on the stat loop, and really splits it', async () => {
    const f = join(dir, 'statloop.log');
    writeFileSync(f, readLog(`${DIR}/hlpass-3.14-statloop-4s.log.gz`));
    expect(await analyzeParallel(f, statSync(f).size, {}, 2)).not.toBeNull();
    const seq = (await analyzeInput(f, { threads: 1 })).analysis;
    for (const threads of [3]) {
      const par = (await analyzeInput(f, { threads, parallelMinBytes: 0 })).analysis;
      expect(par, `threads=${threads}`).toEqual(seq);
    }
  });

  it('refuses to merge a range that starts between a lookup request and its path line; ranges start on requests', async () => {
    // Two ranges; the second starts right after `unique: 400, opcode: LOOKUP`, whose `LOOKUP /x` (a failed lookup:
    // its reply ends the wait) is in the second range, which cannot know that request 400 printed it.
    const head = ['FUSE library version: 3.14.0'];
    for (let u = 2; u < 400; u += 2) head.push(REQ(u, 'GETATTR', 3, 1), 'getattr[NULL] /', OK(u));
    head.push(REQ(400, 'LOOKUP', 1, 1));
    const first = `${head.join('\n')}\n`;
    const tail = [
      'LOOKUP /x',
      'getattr[NULL] /x',
      '   unique: 400, error: -2 (No such file or directory), outsize: 16',
      REQ(402, 'LOOKUP', 1, 1),
      'LOOKUP /y',
      '   NODEID: 2',
      OK(402),
      REQ(404, 'GETATTR', 3, 2),
      'getattr[NULL] /y',
      OK(404),
    ];
    let second = `${tail.join('\n')}\n`;
    // The split point (half the size) must fall on the last byte of the LOOKUP request line: pad the second half to
    // one byte less than the first with a `getattr /…` line.
    const pad = first.length - 1 - second.length - 'getattr /\n'.length;
    second += `getattr /${'p'.repeat(pad)}\n`;
    const text = first + second;
    expect(text.length).toBe(2 * first.length - 1);
    // Read as two ranges split there, the second cannot be merged exactly: refused.
    const merged = new VirtiofsdAnalysis('split.log');
    const ranges = [first, second].map((part) => {
      const a = new VirtiofsdAnalysis('split.log');
      a.push(Buffer.from(part));
      a.end();
      return a.exportParts();
    });
    expect(merged.canAbsorb(ranges[0])).toBe(true);
    merged.absorb(ranges[0]);
    expect(ranges[1].parserStats.libfuse.needsLastOp).toBe(true);
    expect(merged.canAbsorb(ranges[1])).toBe(false);
    // Nor one that starts between `LOOKUP /a` and its `NODEID: 2`.
    const parts = (lines: string[]) => {
      const a = new VirtiofsdAnalysis('mid.log');
      a.push(Buffer.from(`${lines.join('\n')}\n`));
      a.end();
      return a.exportParts();
    };
    const mid = new VirtiofsdAnalysis('mid.log');
    mid.absorb(parts(['FUSE library version: 3.14.0', REQ(2, 'LOOKUP', 1, 1), 'LOOKUP /a']));
    expect(mid.canAbsorb(parts(['getattr[NULL] /a', '   NODEID: 2', OK(2)]))).toBe(false);
    expect(mid.canAbsorb(parts(['getattr /x', REQ(4, 'GETATTR', 3, 1), OK(4)]))).toBe(true);
    // The parallel reader starts its ranges on a request line instead, and agrees with one reader.
    const f = join(dir, 'split.log');
    writeFileSync(f, text);
    expect(await analyzeParallel(f, text.length, {}, 2)).not.toBeNull();
    const seq = (await analyzeInput(f, { threads: 1 })).analysis;
    const par = (await analyzeInput(f, { threads: 2, parallelMinBytes: 0 })).analysis;
    expect(par).toEqual(seq);
    expect(seq?.byInode.top.find((r) => r.nodeid === 2)?.paths?.[0]?.path).toBe('/y');
  });
});
