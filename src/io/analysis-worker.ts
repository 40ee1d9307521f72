/**
 * The analysis worker thread (range-worker.ts): started here, and started early when the command line says a log
 * will be analysed, so its ~100 ms of start-up (loading the parser and the post-mortem) overlaps the main
 * thread's own instead of following it.
 */
import { Worker } from 'node:worker_threads';
import type { RangeJob } from './range-worker.js';

/**
 * A small young generation (2 MB semi-spaces, as bin/vfs-analyze.js gives the main thread): V8 would grow it to
 * 16 MB per worker under the parser's allocation rate, for no gain in time.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 6 };

export function workerUrl(): URL {
  // Under vitest this module runs from src/ as TypeScript; the worker always runs the built JS.
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/io/range-worker.js', import.meta.url)
    : new URL('./range-worker.js', import.meta.url);
}

let warm: Worker | null = null;
let warmBroken = false;

/** Words after which the command is not the post-mortem of a log file (see cli/main.ts). */
const NOT_A_POSTMORTEM = new Set([
  'run',
  'compare',
  'report',
  'gate',
  '--help',
  '-h',
  '--version',
  '--follow',
]);

/**
 * Start the worker now, before the rest of the program loads, when `argv` (the arguments after the script) may
 * be a post-mortem of a log: no sub-command, no help, no --follow, not `--threads 1`. A worker nobody takes
 * holds nothing up: it waits, unreferenced, and goes with the process.
 */
export function prewarmAnalysisWorker(argv: readonly string[]): void {
  if (warm !== null || argv.length === 0) return;
  if (argv.some((a) => NOT_A_POSTMORTEM.has(a) || a.startsWith('--follow='))) return;
  const t = argv.indexOf('--threads');
  if ((t >= 0 && argv[t + 1] === '1') || argv.includes('--threads=1')) return;
  if (process.env.VFS_ANALYZE_THREADS === '1') return;
  const w = new Worker(workerUrl(), { workerData: null, resourceLimits: WORKER_LIMITS });
  w.unref();
  const broken = () => {
    warmBroken = true;
  };
  w.on('error', broken);
  w.on('exit', broken);
  warm = w;
}

/** A worker for `job`: the early one if it is there and well (it then gets the job as its first message). */
export function analysisWorker(job: RangeJob, script: URL = workerUrl()): Worker {
  const w = warm;
  if (w !== null && !warmBroken && script.href === workerUrl().href) {
    warm = null;
    w.removeAllListeners('error');
    w.removeAllListeners('exit');
    w.ref();
    w.postMessage({ job });
    return w;
  }
  return new Worker(script, { workerData: job, resourceLimits: WORKER_LIMITS });
}

/** Whether an early worker is waiting to be taken (for tests). */
export function hasPrewarmedWorker(): boolean {
  return warm !== null;
}
