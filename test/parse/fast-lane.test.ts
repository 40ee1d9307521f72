/** The WebAssembly fast lane reads what the TypeScript parser reads, to the bit, and is the build of its source. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnalysisOptions, VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { EventRecorder, replayBatch } from '../../src/parse/event-batch.js';
import { LineScanner } from '../../src/parse/line-scanner.js';
import { type DaemonCode, VirtiofsdLineParser, type VirtiofsdSink } from '../../src/parse/virtiofsd.js';
import { FAST_LANE_SOURCE_SHA256, FAST_LANE_WASM_BASE64 } from '../../src/parse/wasm/fast-lane-module.js';
import { readLog } from '../support/analyze.js';
import { rng } from '../support/rng.js';
import { expectBuiltFromSource } from '../support/wasm-build.js';

const num = (v: number | string) => (Object.is(v, -0) ? '-0' : String(v));

/** Every event as text (-0 and NaN kept apart from 0), in order. */
class Recorder implements VirtiofsdSink {
  readonly out: string[] = [];
  request(ts: number, line: number, op: number, node: number, u: number, pid: number, d: DaemonCode): void {
    this.out.push(['Q', ts, line, op, node, u, pid, d].map(num).join(' '));
  }
  reply(ts: number, line: number, unique: number, error: number, len: number): void {
    this.out.push(['R', ts, line, unique, error, len].map(num).join(' '));
  }
  entry(ts: number, line: number, parent: number, name: string, child: number): void {
    this.out.push(['E', ts, line, parent, name, child].map(num).join(' '));
  }
  lifecycle(ts: number, line: number, what: string): void {
    this.out.push(['L', num(ts), num(line), what].join(' '));
  }
}

function run(data: Buffer, chunk: number, fastLane: boolean, opts: AnalysisOptions = {}) {
  const rec = new Recorder();
  const a = new VirtiofsdAnalysis('t.log', { ...opts, extraSink: rec, fastLane });
  for (let i = 0; i < data.length; i += chunk) a.push(data.subarray(i, Math.min(data.length, i + chunk)));
  a.end();
  return { events: rec.out, result: a.result(), ts: num(a.parser.ts) };
}

/** The events as a worker records them: the parser filling batches (the lane a column at a time), replayed. */
function recorded(data: Buffer, chunk: number, capacity: number): string[] {
  const rec = new Recorder();
  const recorder = new EventRecorder((b) => replayBatch(b, rec, 0), capacity);
  const a = new VirtiofsdAnalysis('t.log', { extraSink: recorder, postMortem: false });
  for (let i = 0; i < data.length; i += chunk) a.push(data.subarray(i, Math.min(data.length, i + chunk)));
  a.end();
  recorder.flush();
  return rec.out;
}

function same(data: Buffer, chunk: number, opts: AnalysisOptions = {}, what = '') {
  const slow = run(data, chunk, false, opts);
  const fast = run(data, chunk, true, opts);
  expect(fast.events.length, what).toBe(slow.events.length);
  for (let i = 0; i < slow.events.length; i++) {
    if (fast.events[i] !== slow.events[i]) expect(fast.events[i], `${what} event ${i}`).toBe(slow.events[i]);
  }
  expect(fast.result, what).toEqual(slow.result);
  expect(fast.ts, what).toBe(slow.ts);
  return slow;
}

function captures(): string[] {
  const names = readdirSync('fixtures/lab')
    .filter((n) => existsSync(`fixtures/lab/${n}/virtiofsd.log.gz`))
    .map((n) => `fixtures/lab/${n}/virtiofsd.log.gz`);
  for (const n of readdirSync('fixtures/harness'))
    if (n.endsWith('.log')) names.push(`fixtures/harness/${n}`);
  for (const n of readdirSync('fixtures/libfuse'))
    if (/\.log(\.gz)?$/.test(n)) names.push(`fixtures/libfuse/${n}`);
  return names;
}

/** A parser feeding `sink`, its fast lane, and a line scanner that counts the lines the lane leaves to the parser. */
function laneScanner(sink: VirtiofsdSink) {
  const parser = new VirtiofsdLineParser(sink);
  const lane = parser.fastLane();
  if (lane === null) throw new Error('no fast lane');
  let handed = 0;
  const scanner = new LineScanner(
    (b, s, e, n) => {
      handed++;
      parser.line(b, s, e, n);
    },
    undefined,
    lane,
  );
  return { parser, lane, scanner, handed: () => handed };
}

/** How many lines of `data` the lane takes (the rest go to the TypeScript parser's line handler). */
function laneShare(data: Buffer, chunk = 1 << 19): { taken: number; lines: number; active: boolean } {
  const { lane, scanner, handed } = laneScanner({ request() {}, reply() {}, entry() {} });
  for (let i = 0; i < data.length; i += chunk)
    scanner.push(data.subarray(i, Math.min(data.length, i + chunk)));
  scanner.end();
  return { taken: scanner.stats.lines - handed(), lines: scanner.stats.lines, active: lane.active };
}

describe('fast lane: the same events, times and counts as the TypeScript parser', () => {
  it('on every real capture, in large and odd-sized chunks', () => {
    const names = captures();
    expect(names.length).toBeGreaterThanOrEqual(30);
    let events = 0;
    for (const name of names) {
      const data = readLog(name);
      for (const chunk of [1 << 19, 4093]) events += same(data, chunk, {}, `${name} /${chunk}`).events.length;
    }
    expect(events).toBeGreaterThan(500_000);
  }, 120_000);

  it('read into the lane’s own buffers (as a worker reads a file), then a chunk too large for its input area', () => {
    const rust = captures().filter((n) => n.startsWith('fixtures/lab/rust-'));
    expect(rust.length).toBeGreaterThanOrEqual(10);
    let checked = 0;
    for (const name of rust) {
      if (checked === 4) break;
      const data = readLog(name);
      if (data.length < 1 << 20) continue;
      checked++;
      const size = 1 << 16;
      const rec = new Recorder();
      const { parser, scanner, handed } = laneScanner(rec);
      const bufs = scanner.readBuffers(2, size);
      expect(bufs, name).not.toBeNull();
      const [b0, b1] = bufs as Buffer[];
      expect(b0.buffer).toBe(b1.buffer);
      expect(b0.length).toBe(size);
      expect(scanner.readBuffers(2, size), 'a second set would detach the first').toBeNull();
      const push = (chunk: Buffer) => {
        scanner.push(chunk);
        parser.flushStamp(); // as VirtiofsdAnalysis does: the reader reuses the buffer
      };
      // most of the log through the two buffers, alternately (a read overwrites the older one)
      const split = data.lastIndexOf(10, data.length >> 1) + 1;
      let k = 0;
      for (let i = 0; i < split; i += size) {
        const n = data.copy(k ? b1 : b0, 0, i, Math.min(split, i + size));
        push((k ? b1 : b0).subarray(0, n));
        k ^= 1;
      }
      const lines = scanner.stats.lines;
      expect(handed(), `${name}: lines the lane left to the parser`).toBeLessThan(lines * 0.05);
      // the rest in one piece from elsewhere, larger than the area the lane copies into: the parser reads it all
      const before = handed();
      push(Buffer.from(data.subarray(split)));
      scanner.end();
      parser.flushStamp();
      expect(handed() - before, name).toBe(scanner.stats.lines - lines);
      expect(rec.out, name).toEqual(run(data, 4093, false).events);
    }
    expect(checked).toBe(4);
  }, 60_000);

  it('on the benchmark generator’s log (unknown opcodes, a looping tail, HIPRIO queue lines)', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-lane-')), 'gen.log');
    execFileSync(process.execPath, ['bench/gen-rust-log.mjs', '--requests', '20000', '--out', f], {
      stdio: 'ignore',
    });
    const data = readFileSync(f);
    expect(data.length).toBeGreaterThan(1_000_000);
    const events = same(data, 65536).events;
    same(data, 1000);
    // batches filled a column at a time (odd capacities: a lane run split across batches) replay the same events
    for (const capacity of [8192, 1000, 7]) expect(recorded(data, 65536, capacity)).toEqual(events);
  });

  it('on mutated Rust lines: bytes changed, cut, doubled; CR endings, blank lines, NUL runs, fractions', () => {
    const base = [
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::server] Received request: opcode=Read (15), inode=2, unique=69044, pid=508',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 32784, error: 0, unique: 69044 }',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::server] Replying ERROR, header: OutHeader { error: -2 (No such file or directory), unique: 69042, len: 16 }',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::vhost_user] QUEUE_EVENT',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::vhost_user] HIPRIO_QUEUE_EVENT',
      '[2026-11-27T03:10:39.123456Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=4, pid=1180',
      '[2026-11-27T03:10:38.5Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 144, error: 0, unique: 4 }',
      '[2026-02-28T23:59:59.123456789123Z DEBUG virtiofsd::server] Received request: opcode=Forget (2), inode=9007199254740993, unique=18446744073709551615, pid=0',
      '[2026-11-27T03:10:31Z DEBUG virtiofsd::server] Received unknown request: opcode=52, inode=1',
      '[2026-11-27T03:10:29Z INFO  virtiofsd] Client disconnected, shutting down',
      '[2026-11-27T03:10:29Z INFO  virtiofsd] Waiting for vhost-user socket connection...',
      'Warning: Cannot announce submounts, client does not support it',
      '[0000-01-01T00:00:00Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 16, error: -0, unique: 6 }',
      '[DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=7, unique=8, pid=9',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::vhost_user] Quitting: 0',
      '[2026-11-27T03:10:39Z DEBUG virtiofsd::server]',
    ];
    const alphabet = '0123456789 ]()[,:-=.Z T{}\r\nORE(ogixuplen';
    const r = rng(90);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    for (let round = 0; round < 12; round++) {
      const lines: string[] = [];
      for (let i = 0; i < 3000; i++) {
        let l = pick(base);
        const m = r();
        if (m < 0.45) {
          // change 1–3 bytes
          const chars = [...l];
          for (let k = 1 + Math.floor(r() * 3); k > 0; k--)
            chars[Math.floor(r() * chars.length)] = pick([...alphabet]);
          l = chars.join('');
        } else if (m < 0.55) l = l.slice(0, Math.floor(r() * l.length));
        else if (m < 0.6) l = l + l.slice(Math.floor(r() * l.length));
        else if (m < 0.63) l += '\r';
        else if (m < 0.65) l = '';
        else if (m < 0.66) l = `\0\0\0${l}`;
        lines.push(l);
      }
      // a legacy 1.0/1.1 request line in some rounds: replies are then theirs, the lane must stop
      if (round % 4 === 3)
        lines.splice(1500, 0, '[2026-11-27T03:10:39Z DEBUG virtiofsd::server] Received request: 26');
      const data = Buffer.from(`${lines.join('\n')}${round % 2 ? '\n' : ''}`, 'latin1');
      for (const chunk of [1 << 16, 777, 131]) same(data, chunk, {}, `round ${round} /${chunk}`);
      same(data, 4096, { format: 'rust' }, `round ${round} forced rust`);
    }
  });
});

describe('fast lane: where it serves', () => {
  it('takes nearly every line of a Rust log', () => {
    const s = laneShare(
      readLog('fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata/virtiofsd.log.gz'),
    );
    expect(s.active).toBe(true);
    expect(s.taken / s.lines).toBeGreaterThan(0.99);
  });

  it('stands aside for a C daemon’s log after its first chunk, and for a forced C format from the start', () => {
    const s = laneShare(readLog('fixtures/lab/c-7.2-walk-cache-none/virtiofsd.log.gz'), 1 << 16);
    expect(s.taken).toBe(0);
    expect(s.active).toBe(false);
    expect(
      new VirtiofsdLineParser({ request() {}, reply() {}, entry() {} }, { format: 'c' }).fastLane(),
    ).toBeNull();
  });
});

describe('fast lane: the embedded module is the build of fast-lane.c', () => {
  it('carries the hash of the committed source', () => {
    const hash = createHash('sha256').update(readFileSync('src/parse/wasm/fast-lane.c')).digest('hex');
    expect(FAST_LANE_SOURCE_SHA256, 'fast-lane.c changed: run npm run build:wasm').toBe(hash);
  });

  it('is byte for byte what clang builds from it now', async () => {
    await expectBuiltFromSource('fast-lane', FAST_LANE_WASM_BASE64);
  });
});
