/** The analysis worker started early (before the program has read its options) does the same work. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hasPrewarmedWorker,
  hasPrimedWorker,
  prewarmAnalysisWorker,
  primeLogWorker,
} from '../../src/io/analysis-worker.js';
import { analyzeInput } from '../../src/io/analyze-input.js';
import { AnalysisSession } from '../../src/session/analysis-session.js';
import { readLog } from '../support/analyze.js';

async function analyse(file: string, threads: number, top?: number) {
  const session = new AnalysisSession({ evidenceFiles: {} });
  const events = {
    sink: session.events,
    restart: () => session.restartEvents(),
    warmUp: () => session.warmUp(),
  };
  const o = await analyzeInput(file, { threads, parallelMinBytes: 0, top, events });
  const verdict =
    o.analysis && session.postMortem(o.analysis, { withVerdict: true, hasGuest: false }).verdict;
  return { readBy: o.readBy, json: JSON.stringify({ analysis: o.analysis, verdict }) };
}

describe('analysis worker started early', () => {
  it('takes its job as its first message and gives the analysis and verdict one thread gives', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-warm-')), 'boot.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-systemd-k7.3-never-loop/virtiofsd.log.gz'));
    const one = await analyse(f, 1);
    prewarmAnalysisWorker([f]);
    expect(hasPrewarmedWorker()).toBe(true);
    // let it load before the job comes (as the CLI's own start-up would)
    await new Promise((r) => setTimeout(r, 300));
    const warm = await analyse(f, 2);
    expect(hasPrewarmedWorker()).toBe(false);
    expect(warm.readBy).toBe('worker');
    expect(warm.json).toBe(one.json);
    // and the next analysis starts a worker of its own
    expect(await analyse(f, 2)).toEqual(warm);
  });

  it('given its job early, it runs ahead; the reader asking for the same job takes it and what it sent meanwhile', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-prime-')), 'loop.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-systemd-k7.3-never-loop/virtiofsd.log.gz'));
    const one = await analyse(f, 1);
    prewarmAnalysisWorker([f]);
    await primeLogWorker(f, { threads: 2, parallelMinBytes: 0 });
    expect(hasPrimedWorker()).toBe(true);
    // the worker reads, parses and sends its first batches before anyone listens
    await new Promise((r) => setTimeout(r, 500));
    const primed = await analyse(f, 2);
    expect(hasPrimedWorker()).toBe(false);
    expect(primed.readBy).toBe('worker');
    expect(primed.json).toBe(one.json);
  });

  it('a reader asking for another job stops the early one and starts its own: the same result', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-prime-')), 'loop.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz'));
    const one = await analyse(f, 1, 30);
    prewarmAnalysisWorker([f]);
    await primeLogWorker(f, { threads: 2, parallelMinBytes: 0 }); // top: the default, not 30
    expect(hasPrimedWorker()).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const other = await analyse(f, 2, 30);
    expect(hasPrimedWorker()).toBe(false);
    expect(other.readBy).toBe('worker');
    expect(other.json).toBe(one.json);
  });

  it('is not given a job for a gzip, a small file, stdin or one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-prime-'));
    const plain = join(dir, 'small.log');
    writeFileSync(plain, readLog('fixtures/lab/rust-1.13.2-loop2-4s-cache-never/virtiofsd.log.gz'));
    prewarmAnalysisWorker([plain]);
    for (const [path, opts] of [
      ['fixtures/lab/rust-1.13.2-loop2-4s-cache-never/virtiofsd.log.gz', { threads: 2, parallelMinBytes: 0 }],
      [plain, { threads: 2 }], // below 48 MB
      ['-', { threads: 2, parallelMinBytes: 0 }],
      [plain, { threads: 1, parallelMinBytes: 0 }],
    ] as const) {
      await primeLogWorker(path, opts);
      expect(hasPrimedWorker(), `${path} ${JSON.stringify(opts)}`).toBe(false);
    }
    expect(hasPrewarmedWorker()).toBe(true);
    // taken by the next reader, as before
    await analyse(plain, 2);
    expect(hasPrewarmedWorker()).toBe(false);
  });
});
