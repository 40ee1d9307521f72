/**
 * Parallel analysis of one large plain-text log: worker threads each read a byte range that starts and ends on a
 * line boundary, and the main thread merges their results in file order (VirtiofsdAnalysis.absorb). Used only
 * where the merge is exact; returns null otherwise, and the caller reads the file sequentially.
 */

import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AnalysisOptions, type RangeParts, VirtiofsdAnalysis } from '../analyze/virtiofsd-analysis.js';
import { sniffLibfuse, VirtiofsdLineParser } from '../parse/virtiofsd.js';
import type { RangeJob } from './range-worker.js';

/** Below this size one thread is faster than starting workers. */
export const PARALLEL_MIN_BYTES = 48 * 1024 * 1024;
const WINDOW = 64 * 1024;

/** Threads to use: `requested`, else VFS_ANALYZE_THREADS, else the available cores (at most 4). */
export function threadCount(requested?: number): number {
  const env = Number(process.env.VFS_ANALYZE_THREADS);
  const n = requested ?? (Number.isInteger(env) && env > 0 ? env : Math.min(4, availableParallelism()));
  return Math.max(1, Math.floor(n));
}

function workerUrl(): URL {
  // Under vitest this module runs from src/ as TypeScript; the worker always runs the built JS.
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/io/range-worker.js', import.meta.url)
    : new URL('./range-worker.js', import.meta.url);
}

/** A sample of the file start that looks like a virtiofsd debug log (Rust or C), worth splitting. */
export function looksLikeVirtiofsdLog(head: Buffer): boolean {
  const text = head.toString('latin1');
  return (
    text.includes('Received request: opcode=') || (text.includes('unique: ') && text.includes(', opcode: '))
  );
}

export async function analyzeParallel(
  path: string,
  size: number,
  opts: AnalysisOptions,
  threads: number,
  onProgress?: (done: number) => void,
): Promise<VirtiofsdAnalysis | null> {
  const fh = await open(path, 'r');
  const jobs: RangeJob[] = [];
  try {
    const head = Buffer.alloc(Math.min(size, WINDOW));
    await fh.read(head, 0, head.length, 0);
    if (!looksLikeVirtiofsdLog(head)) return null;
    // libfuse -d: start ranges on a request line, where no `LOOKUP /x` is waiting for its `NODEID: n`.
    const startWith = sniffLibfuse(head, opts) || opts.format === 'libfuse' ? 'unique: ' : '';
    const bounds = [0];
    for (let k = 1; k < threads; k++) {
      const nominal = Math.floor((size * k) / threads);
      const b = await nextLineStart(fh, nominal, size, startWith);
      if (b === null || b <= bounds[bounds.length - 1] || b >= size) return null;
      bounds.push(b);
    }
    bounds.push(size);
    for (let k = 0; k + 1 < bounds.length; k++) {
      const seedTs = k === 0 ? Number.NaN : await lastStampBefore(fh, bounds[k], opts);
      jobs.push({ path, start: bounds[k], end: bounds[k + 1], seedTs, opts });
    }
  } finally {
    await fh.close();
  }
  const done = new Array<number>(jobs.length).fill(0);
  const results = await Promise.all(
    jobs.map(
      (job, k) =>
        new Promise<RangeParts>((resolve, reject) => {
          const w = new Worker(workerUrl(), { workerData: job });
          w.on('message', (m: { progress?: number; parts?: RangeParts; error?: string }) => {
            if (m.progress !== undefined) {
              done[k] = m.progress;
              onProgress?.(done.reduce((a, b) => a + b, 0));
            } else if (m.parts) resolve(m.parts);
            else if (m.error) reject(new Error(m.error));
          });
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0) reject(new Error(`analysis worker exited with code ${code}`));
          });
        }),
    ),
  );
  const analysis = new VirtiofsdAnalysis(path, opts);
  for (const parts of results) {
    if (!analysis.canAbsorb(parts)) return null;
    analysis.absorb(parts);
  }
  return analysis;
}

/** Offset of the first line that starts at or after `pos` (with `startWith`, if given), or null when none is near. */
async function nextLineStart(
  fh: import('node:fs/promises').FileHandle,
  pos: number,
  size: number,
  startWith = '',
): Promise<number | null> {
  const buf = Buffer.alloc(WINDOW);
  const needle = Buffer.from(`\n${startWith}`, 'latin1');
  for (let at = pos - 1; at < size && at < pos + 16 * WINDOW; at += WINDOW - needle.length + 1) {
    const { bytesRead } = await fh.read(buf, 0, WINDOW, at);
    const nl = buf.subarray(0, bytesRead).indexOf(needle);
    if (nl >= 0) return at + nl + 1;
  }
  return null;
}

/** The timestamp a sequential reader would hold when reaching `pos`: parse the lines just before it. */
async function lastStampBefore(
  fh: import('node:fs/promises').FileHandle,
  pos: number,
  opts: AnalysisOptions,
): Promise<number> {
  const start = Math.max(0, pos - WINDOW);
  const buf = Buffer.alloc(pos - start);
  await fh.read(buf, 0, buf.length, start);
  const parser = new VirtiofsdLineParser(
    { request() {}, reply() {}, entry() {} },
    { format: opts.format, assumeYear: opts.assumeYear },
  );
  let s = start === 0 ? 0 : buf.indexOf(10) + 1;
  while (s < buf.length) {
    let e = buf.indexOf(10, s);
    if (e < 0) e = buf.length;
    parser.line(buf, s, e > s && buf[e - 1] === 13 ? e - 1 : e, 0);
    s = e + 1;
  }
  parser.flushStamp();
  return parser.ts;
}
