/** Splitting a log across worker threads must give exactly the sequential result. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeInput, type InputOptions } from '../../src/io/analyze-input.js';
import { analyzeParallel } from '../../src/io/parallel.js';
import { AnalysisSession } from '../../src/session/analysis-session.js';
import { readLog } from '../support/analyze.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-par-'));
});

/** `file` read as the default command reads it (a session's verdict engine fed in order): how it was read, and
 * the analysis, verdict and error as JSON. */
async function withVerdict(file: string, opts: InputOptions, warmUpFails = false) {
  const session = new AnalysisSession({ evidenceFiles: {} });
  const events = {
    sink: session.events,
    restart: () => session.restartEvents(),
    warmUp: () => {
      if (warmUpFails) throw new Error('warm-up failed');
      session.warmUp();
    },
  };
  const o = await analyzeInput(file, { parallelMinBytes: 0, ...opts, events });
  const verdict =
    o.analysis && session.postMortem(o.analysis, { withVerdict: true, hasGuest: false }).verdict;
  return {
    readBy: o.readBy,
    json: JSON.stringify({ analysis: o.analysis, verdict, error: o.error?.message ?? null }),
  };
}

async function both(file: string, threads: number) {
  const seq = await analyzeInput(file, { threads: 1 });
  const par = await analyzeInput(file, { threads, parallelMinBytes: 0 });
  return { seq: seq.analysis!, par: par.analysis! };
}

describe('parallel analysis over byte ranges', () => {
  it('equals the sequential analysis on a real boot log (errors, 118 PIDs), for 2–4 threads', async () => {
    const f = join(dir, 'boot.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata/virtiofsd.log.gz'));
    for (const threads of [2, 3, 4]) {
      const { seq, par } = await both(f, threads);
      expect(seq.totals.requests).toBe(34274);
      expect(par).toEqual(seq);
    }
  });

  it('equals the sequential analysis on the benchmark generator output (unknown opcodes, a looping tail, unanswered at the end)', async () => {
    const f = join(dir, 'gen.log');
    execFileSync(process.execPath, ['bench/gen-rust-log.mjs', '--requests', '60000', '--out', f], {
      stdio: 'ignore',
    });
    for (const threads of [2, 4]) {
      const { seq, par } = await both(f, threads);
      expect(seq.totals.unanswered).toBe(3);
      expect(par).toEqual(seq);
    }
  });

  it('pairs a reply with its request across a range boundary and keeps line numbers global', async () => {
    const R = (msg: string) => `[2026-11-27T02:44:10Z DEBUG virtiofsd::server] ${msg}`;
    const lines: string[] = [R('Received request: opcode=Init (26), inode=0, unique=2, pid=0')];
    lines.push(R('Replying OK, header: OutHeader { len: 80, error: 0, unique: 2 }'));
    for (let u = 4; u < 4000; u += 2) {
      lines.push(R(`Received request: opcode=Lookup (1), inode=1, unique=${u}, pid=${u % 7}`));
      lines.push(R('QUEUE_EVENT'));
    }
    for (let u = 4; u < 4000; u += 2) {
      lines.push(
        R(
          `Replying ERROR, header: OutHeader { error: -2 (No such file or directory), unique: ${u}, len: 16 }`,
        ),
      );
    }
    lines.push(R('Received request: opcode=Getattr (3), inode=1, unique=5000, pid=3'));
    const f = join(dir, 'cross.log');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const { seq, par } = await both(f, 3);
    expect(seq.totals).toMatchObject({ repliesError: 1998, orphanReplies: 0, unanswered: 1 });
    expect(par).toEqual(seq);
    expect(par.unanswered[0].line).toBe(lines.length);
  });
});

describe('parallel analysis of C virtiofsd logs (lookup paths cross range boundaries)', () => {
  it('equals the sequential analysis on real C captures, and really splits them', async () => {
    for (const name of ['c-7.2-loop2-4s-cache-none', 'c-7.2-walk-cache-none', 'c-7.2-loop3-4s-cache-none']) {
      const f = join(dir, `${name}.log`);
      writeFileSync(f, readLog(`fixtures/lab/${name}/virtiofsd.log.gz`));
      expect((await analyzeParallel(f, statSync(f).size, {}, 2))?.analysis, name).not.toBeNull();
      for (const threads of [2, 3]) {
        const { seq, par } = await both(f, threads);
        expect(seq.paths.known).toBe(true);
        expect(par, `${name} threads=${threads}`).toEqual(seq);
      }
    }
  });

  it('resolves a path whose parent was looked up in the previous range', async () => {
    const C = (t: number, msg: string) =>
      `[2026-11-27 02:44:10.${String(t).padStart(6, '0')}+0000] [ID: 00000003] ${msg}`;
    const lines: string[] = [];
    let t = 0;
    let u = 2;
    const req = (op: string, n: number, node: number) =>
      lines.push(C(t++, `unique: ${(u += 2)}, opcode: ${op} (${n}), nodeid: ${node}, insize: 44, pid: 9`));
    const ok = () => lines.push(C(t++, `   unique: ${u}, success, outsize: 144`));
    req('LOOKUP', 1, 1);
    lines.push(C(t++, '  1/dir -> 2'));
    ok();
    for (let i = 0; i < 3000; i++)
      lines.push(C(t++, 'virtio_send_msg: elem 4: with 1 in desc of length 4096'));
    req('GETATTR', 3, 2); // second range: nodeid 2 named in the first
    ok();
    req('LOOKUP', 1, 2);
    lines.push(C(t++, '  2/b -> 3')); // parent path from the first range
    ok();
    req('GETATTR', 3, 3);
    ok();
    const f = join(dir, 'c-cross.log');
    writeFileSync(f, `${lines.join('\n')}\n`);
    expect((await analyzeParallel(f, statSync(f).size, {}, 2))?.analysis).not.toBeNull();
    const { seq, par } = await both(f, 2);
    const paths = Object.fromEntries(par.byInode.top.map((r) => [r.nodeid, r.paths]));
    expect(paths[2]).toEqual([{ path: '/dir', requests: 2 }]);
    expect(paths[3]).toEqual([{ path: '/dir/b', requests: 1 }]);
    expect(par).toEqual(seq);
  });
});

describe('one parse, two threads: the verdict engine fed from the worker’s event batches', () => {
  it('gives byte-identical analysis and verdict JSON for 1, 2 and 3 threads on every real capture', async () => {
    const names = readdirSync('fixtures/lab')
      .filter((n) => existsSync(`fixtures/lab/${n}/virtiofsd.log.gz`))
      .map((n) => `fixtures/lab/${n}/virtiofsd.log.gz`);
    expect(names.length).toBeGreaterThanOrEqual(25);
    // libfuse -d captures too
    for (const n of readdirSync('fixtures/libfuse'))
      if (/\.log(\.gz)?$/.test(n)) names.push(`fixtures/libfuse/${n}`);
    let split = 0;
    for (const name of names) {
      const f = join(dir, `${name.replaceAll('/', '_')}.log`);
      writeFileSync(f, readLog(name));
      const run = async (threads: number) => {
        const o = await withVerdict(f, { threads });
        expect(o.readBy, `${name} ${threads}`).toBe(threads === 1 ? 'one pass' : 'worker');
        return o.json;
      };
      const one = await run(1);
      for (const threads of [2, 3]) expect(await run(threads), `${name}, ${threads} threads`).toBe(one);
      split++;
    }
    expect(split).toBe(names.length);
  }, 180_000);

  it('without ordered sinks the same captures are split into ranges, most of them merged exactly', async () => {
    const names = readdirSync('fixtures/lab')
      .filter((n) => existsSync(`fixtures/lab/${n}/virtiofsd.log.gz`))
      .map((n) => `fixtures/lab/${n}/virtiofsd.log.gz`);
    let merged = 0;
    for (const name of names) {
      const f = join(dir, `${name.replaceAll('/', '_')}.ranges.log`);
      writeFileSync(f, readLog(name));
      const one = await analyzeInput(f, { threads: 1 });
      const two = await analyzeInput(f, { threads: 2, parallelMinBytes: 0 });
      expect(two.readBy, name).toMatch(/^ranges/);
      if (two.readBy === 'ranges') merged++;
      expect(JSON.stringify(two.analysis), name).toBe(JSON.stringify(one.analysis));
    }
    expect(merged).toBeGreaterThan(names.length / 2);
  }, 180_000);

  it('replays every event in file order with global line numbers, and counts them all', async () => {
    const f = join(dir, 'order.log');
    execFileSync(process.execPath, ['bench/gen-rust-log.mjs', '--requests', '40000', '--out', f], {
      stdio: 'ignore',
    });
    const lines: number[] = [];
    const sink = {
      request(_ts: number, line: number) {
        lines.push(line);
      },
      reply(_ts: number, line: number) {
        lines.push(line);
      },
      entry() {},
    };
    const o = await analyzeInput(f, {
      threads: 2,
      parallelMinBytes: 0,
      events: { sink, restart: () => sink },
    });
    expect(o.readBy).toBe('worker');
    // strictly increasing (file order), and as many events as the analysis counted
    for (let i = 1; i < lines.length; i++) expect(lines[i]).toBeGreaterThan(lines[i - 1]);
    expect(lines.length).toBe((o.analysis?.totals.requests ?? 0) + (o.analysis?.totals.replies ?? 0));
    expect(lines.length).toBeGreaterThan(70_000);
  });
});

describe('a gzip input inflated here and parsed by a worker', () => {
  it('a worker that fails part-way: the input is read again on one thread, the verdict engine started over', async () => {
    const f = 'fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz';
    const failing = new URL('../support/failing-worker.mjs', import.meta.url);
    const two = await withVerdict(f, { threads: 2, workerScript: failing });
    expect(two.readBy).toBe('worker, then one pass');
    expect(two.json).not.toContain('4242');
    expect(two.json).toBe((await withVerdict(f, { threads: 1 })).json);
  });

  it('a plain file: a worker that fails after sending events is survived the same way', async () => {
    const f = join(dir, 'fail-plain.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz'));
    const failing = new URL('../support/failing-worker.mjs', import.meta.url);
    const two = await withVerdict(f, { threads: 2, workerScript: failing });
    expect(two.readBy).toBe('worker, then one pass');
    expect(two.json).not.toContain('4242');
    expect(two.json).toBe((await withVerdict(f, { threads: 1 })).json);
  });

  it('a warm-up that fails (a bug) is survived the same way, gzip or plain', async () => {
    const gz = 'fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz';
    const plain = join(dir, 'warm-up-fails.log');
    writeFileSync(plain, readLog(gz));
    for (const f of [gz, plain]) {
      const two = await withVerdict(f, { threads: 2 }, true);
      expect(two.readBy, f).toBe('worker, then one pass');
      expect(two.json).toBe((await withVerdict(f, { threads: 1 })).json);
    }
  });

  it('gives byte-identical analysis and verdict JSON to one thread on real captures', async () => {
    const names = readdirSync('fixtures/lab')
      .filter((n) => existsSync(`fixtures/lab/${n}/virtiofsd.log.gz`))
      .slice(0, 12);
    for (const name of names) {
      const f = `fixtures/lab/${name}/virtiofsd.log.gz`;
      const run = async (threads: number) => {
        const o = await withVerdict(f, { threads });
        expect(o.readBy, `${name} ${threads}`).toBe(threads === 1 ? 'one pass' : 'worker');
        return o.json;
      };
      expect(await run(2), name).toBe(await run(1));
    }
  }, 120_000);

  it('a truncated gzip: the readable part analysed, the read error kept, as on one thread', async () => {
    const whole = readFileSync('fixtures/lab/rust-1.13.2-walk-cache-never/virtiofsd.log.gz');
    const f = join(dir, 'cut.log.gz');
    writeFileSync(f, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const one = await analyzeInput(f, { threads: 1 });
    const two = await analyzeInput(f, { threads: 2, parallelMinBytes: 0 });
    expect(one.error?.exitCode).toBe(2);
    expect(two.readBy).toBe('worker');
    expect(two.error?.message).toBe(one.error?.message);
    expect(two.analysis?.totals.requests).toBeGreaterThan(0);
    expect(JSON.stringify(two.analysis)).toBe(JSON.stringify(one.analysis));
  });
});
