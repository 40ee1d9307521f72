/**
 * The analysis worker thread (range-worker.ts): started here, or taken from those started early (early-worker.ts)
 * when the command line says a log will be analysed.
 */
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AnalysisOptions } from '../analyze/virtiofsd-analysis.js';
import type { InputOptions } from './analyze-input.js';
import { isGzipMagic, isStdin } from './byte-source.js';
import { earlyWorkerReady, takeWarm, WORKER_LIMITS, workerUrl } from './early-worker.js';
import type { RangeJob } from './range-worker.js';

export { hasPrewarmedWorker, prewarmAnalysisWorker, workerUrl } from './early-worker.js';

/** Below this size one thread is faster than starting workers. */
export const PARALLEL_MIN_BYTES = 48 * 1024 * 1024;

/** Threads to use: `requested`, else VFS_ANALYZE_THREADS, else the available cores (at most 4). */
export function threadCount(requested?: number): number {
  const env = Number(process.env.VFS_ANALYZE_THREADS);
  const n = requested ?? (Number.isInteger(env) && env > 0 ? env : Math.min(4, availableParallelism()));
  return Math.max(1, Math.floor(n));
}

/** The analysis options a worker needs: plain data only (sinks and callbacks stay on this thread). */
export function workerOptions(o: AnalysisOptions): AnalysisOptions {
  return {
    format: o.format,
    maxLineBytes: o.maxLineBytes,
    assumeYear: o.assumeYear,
    top: o.top,
    recent: o.recent,
    unansweredListed: o.unansweredListed,
    maxPending: o.maxPending,
    maxBuckets: o.maxBuckets,
    maxPids: o.maxPids,
    maxBigInodes: o.maxBigInodes,
  };
}

/** The job of a worker that reads a whole plain file itself and sends its events back (analyzeFileInWorker). */
export function wholeFileJob(path: string, size: number, opts: AnalysisOptions): RangeJob {
  return { path, start: 0, end: size, seedTs: Number.NaN, opts: workerOptions(opts), record: true };
}

/** The early worker, already on a job (see primeLogWorker): what it sent before anyone listened, kept in order. */
interface Primed {
  worker: Worker;
  key: string;
  early: unknown[];
  broken: boolean;
  onMessage: (m: unknown) => void;
  onBroken: () => void;
  onExit: (code: number) => void;
}
let primed: Primed | null = null;

/**
 * Give the early worker its job now, before the reader asks for it: `path` a plain file of PARALLEL_MIN_BYTES or
 * more (a gzip is inflated on the main thread, so there is nothing to start), `opts` as the reader will pass them.
 * The job the reader then asks for is compared with this one (analysisWorker): the same, it takes this worker and
 * what it has sent so far; any other, this one is stopped. Nothing is decided here that the reader does not decide
 * again.
 */
export async function primeLogWorker(path: string, opts: InputOptions): Promise<void> {
  if (!earlyWorkerReady() || isStdin(path) || threadCount(opts.threads) < 2) return;
  try {
    // stat before open: opening a FIFO (or a `<(…)`) here and closing it would take its writer away
    const st = await stat(path);
    if (!st.isFile() || st.size < (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES)) return;
    const fh = await open(path, 'r');
    try {
      const magic = Buffer.alloc(2);
      await fh.read(magic, 0, 2, 0);
      if (isGzipMagic(magic)) return;
      primeAnalysisWorker(wholeFileJob(path, st.size, opts));
    } finally {
      await fh.close();
    }
  } catch {
    // the reader meets the same error and reports it
  }
}

function primeAnalysisWorker(job: RangeJob): void {
  const w = takeWarm();
  if (w === null) return;
  const p: Primed = {
    worker: w,
    key: JSON.stringify(job),
    early: [],
    broken: false,
    onMessage: (m) => p.early.push(m),
    onBroken: () => {
      p.broken = true;
    },
    // done with the whole file before the reader asked: its parts are among `early`
    onExit: (code: number) => {
      if (code !== 0) p.broken = true;
    },
  };
  w.on('message', p.onMessage);
  w.on('error', p.onBroken);
  w.on('exit', p.onExit);
  w.postMessage({ job });
  primed = p;
}

/**
 * A worker for `job`: the one started early on this very job (what it sent meanwhile is emitted again, in order,
 * once the caller listens), else the early one still waiting for a job (it gets `job` as its first message), else
 * a new one.
 */
export function analysisWorker(job: RangeJob, script: URL = workerUrl()): Worker {
  const p = primed;
  if (p !== null) {
    primed = null;
    p.worker.off('message', p.onMessage);
    p.worker.off('error', p.onBroken);
    p.worker.off('exit', p.onExit);
    if (!p.broken && script.href === workerUrl().href && JSON.stringify(job) === p.key) {
      p.worker.ref();
      // The caller attaches its listeners before it awaits; re-emitting in a microtask puts these messages after
      // that and before any newer one (those come from the event loop).
      queueMicrotask(() => {
        for (const m of p.early) p.worker.emit('message', m);
      });
      return p.worker;
    }
    void p.worker.terminate();
  }
  const w = script.href === workerUrl().href ? takeWarm() : null;
  if (w !== null) {
    w.ref();
    w.postMessage({ job });
    return w;
  }
  return new Worker(script, { workerData: job, resourceLimits: WORKER_LIMITS });
}

/**
 * Stops the early workers nobody took: the command ended before reading the log (a usage error found late, a
 * missing guest input) or read it another way. One on a job would otherwise wait for the reader's credit for ever
 * and keep the process alive; one still waiting for a job would only go with the process.
 */
export function stopEarlyWorkers(): void {
  const p = primed;
  primed = null;
  if (p !== null) {
    p.worker.removeAllListeners();
    void p.worker.terminate();
  }
  const w = takeWarm();
  if (w !== null) void w.terminate();
}

/** Whether an early worker is on a job nobody took yet (for tests). */
export function hasPrimedWorker(): boolean {
  return primed !== null;
}
