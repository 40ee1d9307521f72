/**
 * The analysis worker started before the rest of the program loads (bin/vfs-analyze.js imports this module first,
 * and it imports nothing but node:worker_threads): the worker's ~100 ms of start-up then overlaps the main
 * thread's own instead of following it. analysis-worker.ts gives it its job, or stops it.
 */
import { Worker } from 'node:worker_threads';

/**
 * A small young generation (2 MB semi-spaces; bin/vfs-analyze.js gives the main thread 1 MB): V8 would grow it to
 * 16 MB per worker under the parser's allocation rate, for no gain in time (3 MB instead of 6 changed nothing).
 */
export const WORKER_LIMITS = { maxYoungGenerationSizeMb: 6 };

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

/** Whether the early worker is there and has not failed (it is not taken). */
export function earlyWorkerReady(): boolean {
  return warm !== null && !warmBroken;
}

/** The early worker waiting for a job, taken from here (null if there is none, or it broke). */
export function takeWarm(): Worker | null {
  const w = warm;
  if (w === null || warmBroken) return null;
  warm = null;
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  return w;
}

/** Whether an early worker waits for a job (for tests). */
export function hasPrewarmedWorker(): boolean {
  return warm !== null;
}
