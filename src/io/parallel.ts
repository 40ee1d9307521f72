/**
 * Two ways to put a second core to work on one log:
 *
 * - {@link analyzeParallel}: worker threads each read a byte range that starts and ends on a line boundary, and
 *   this thread merges their results in file order (VirtiofsdAnalysis.absorb). Used when nothing needs the events
 *   in order (`--no-verdict`) and only where the merge is exact; otherwise the caller reads the file sequentially.
 * - {@link analyzeStreamInWorker}: this thread reads (or inflates) the bytes and posts them to one worker, which
 *   parses and reduces them and sends its events back as columnar batches, replayed here in file order into the
 *   verdict engine. One parser sees the whole log, so the result is the sequential one by construction.
 *
 * Why not ranges with replay: the verdict engine must see range k+1's events after all of range k's, so a range
 * worker ahead of the replay can only buffer its batches (memory grows with the file) or wait (no gain). Measured
 * on 2 cores, 442 MB: ranges with bounded replay 2.2–2.5 s and 133 MB; one streaming worker 1.9–2.1 s and 107 MB.
 */

import { open } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import {
  type AnalysisOptions,
  FinishedAnalysis,
  type FinishedParts,
  type RangeParts,
  VirtiofsdAnalysis,
} from '../analyze/virtiofsd-analysis.js';
import { batchBuffers, type EventBatch, replayBatch } from '../parse/event-batch.js';
import { sniffLibfuse, VirtiofsdLineParser, type VirtiofsdSink } from '../parse/virtiofsd.js';
import { analysisWorker, wholeFileJob, workerOptions } from './analysis-worker.js';

export { PARALLEL_MIN_BYTES, threadCount } from './analysis-worker.js';

import type { RangeJob } from './range-worker.js';
import { readRange } from './read-range.js';

const WINDOW = 64 * 1024;

/** A sample of the file start that looks like a virtiofsd debug log (Rust or C), worth splitting. */
export function looksLikeVirtiofsdLog(head: Buffer): boolean {
  const text = head.toString('latin1');
  return (
    text.includes('Received request: opcode=') || (text.includes('unique: ') && text.includes(', opcode: '))
  );
}

export interface ParallelOutcome {
  /** The merged analysis, or null where the merge would not be exact (read the file again sequentially). */
  analysis: VirtiofsdAnalysis | null;
}

/**
 * Analyse `path` on `threads` worker threads, one byte range each, and merge. Returns null when the file is not
 * worth splitting (nothing was read); throws when a worker fails.
 */
export async function analyzeParallel(
  path: string,
  size: number,
  opts: AnalysisOptions,
  threads: number,
  onProgress?: (done: number) => void,
): Promise<ParallelOutcome | null> {
  const fh = await open(path, 'r');
  const jobs: RangeJob[] = [];
  try {
    const head = Buffer.alloc(Math.min(size, WINDOW));
    await fh.read(head, 0, head.length, 0);
    if (!looksLikeVirtiofsdLog(head)) return null;
    // libfuse -d: start ranges on a request line, where no `LOOKUP /x` is waiting for its `NODEID: n` (so the
    // ranges' events are also exactly what one reader would see).
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
      jobs.push({
        path,
        start: bounds[k],
        end: bounds[k + 1],
        seedTs,
        opts: workerOptions(opts),
        record: false,
      });
    }
  } finally {
    await fh.close();
  }
  const done = new Array<number>(jobs.length).fill(0);
  const progress = (k: number, bytes: number) => {
    done[k] = bytes;
    onProgress?.(done.reduce((a, b) => a + b, 0));
  };
  // The first range is parsed on this thread (one heap fewer than a worker of its own); the others on workers.
  const [own, ...rest] = jobs;
  const analysis = new VirtiofsdAnalysis(path, { ...opts, extraSink: undefined });
  const workers: Worker[] = [];
  let results: RangeParts[];
  try {
    const parts = rest.map(
      (job, i) =>
        new Promise<RangeParts>((resolve, reject) => {
          const w = analysisWorker(job);
          workers.push(w);
          w.on('message', (m: { progress?: number; parts?: RangeParts; error?: string }) => {
            if (m.progress !== undefined) progress(i + 1, m.progress);
            else if (m.parts) resolve(m.parts);
            else if (m.error) reject(new Error(m.error));
          });
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0) reject(new Error(`analysis worker exited with code ${code}`));
          });
        }),
    );
    for (const p of parts) p.catch(() => {}); // awaited below, after this thread's own range
    let n = 0;
    await readRange(path, own.start, own.end, analysis, (bytes) => {
      if (++n % 16 === 0) progress(0, bytes);
    });
    analysis.end();
    results = await Promise.all(parts);
  } catch (err) {
    for (const w of workers) void w.terminate();
    throw err;
  }
  for (const parts of results) {
    if (!analysis.canAbsorb(parts)) return { analysis: null };
    analysis.absorb(parts);
  }
  return { analysis };
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

/**
 * The default command on a large plain file: one worker reads the whole file itself, parses and reduces it, and
 * sends its events back as batches, replayed here into `events` (the verdict engine) in file order. As
 * {@link analyzeStreamInWorker}, without this thread reading and posting the bytes: it only replays.
 */
export async function analyzeFileInWorker(
  path: string,
  size: number,
  opts: AnalysisOptions,
  events: VirtiofsdSink,
  onProgress?: (done: number) => void,
  hooks: { script?: URL; warmUp?: () => void } = {},
): Promise<FinishedAnalysis> {
  const w = analysisWorker(wholeFileJob(path, size, opts), hooks.script);
  try {
    const parts = await new Promise<FinishedParts>((resolve, reject) => {
      w.on(
        'message',
        (m: { progress?: number; batch?: EventBatch; finished?: FinishedParts; error?: string }) => {
          if (m.batch) {
            replayBatch(m.batch, events, 0);
            w.postMessage({ credit: 1, batch: m.batch }, batchBuffers(m.batch));
          } else if (m.progress !== undefined) onProgress?.(m.progress);
          else if (m.finished) resolve(m.finished);
          else if (m.error) reject(new Error(m.error));
        },
      );
      w.on('error', reject);
      w.on('exit', (code) => {
        if (code !== 0) reject(new Error(`analysis worker exited with code ${code}`));
      });
      hooks.warmUp?.();
    });
    const analysis = new FinishedAnalysis(parts);
    // the worker's post-mortem paired the replies (the batches said which request each answered); its requests
    // still outstanding are the verdict's too
    events.usePairing?.(analysis);
    return analysis;
  } finally {
    void w.terminate();
  }
}

/** Chunks (read or inflated) posted to the worker but not yet parsed; the reader waits beyond this (bounds memory). */
const MAX_CHUNKS_IN_FLIGHT = 8;
/** Size of the buffers posted to the worker. */
const POSTED_BYTES = 1 << 19;

/**
 * One input on two threads: this thread reads (a plain file) or inflates (gzip, zlib on the thread pool) and posts
 * the chunks to one worker, which parses and reduces them and sends its events back as batches, replayed here into
 * `events` (the verdict engine) in order. Read, parse and the verdict overlap instead of taking turns. The chunk
 * buffers and the batches go back to where they came from once used, so the two threads make no garbage and the
 * memory in flight stays bounded. A read error part-way (a truncated gzip) ends the input there: the analysis of
 * what was read is returned with it.
 */
export async function analyzeStreamInWorker(
  name: string,
  chunks: AsyncIterable<Buffer>,
  opts: AnalysisOptions,
  events: VirtiofsdSink | undefined,
  onChunk?: () => void,
  hooks: { script?: URL; warmUp?: () => void } = {},
): Promise<{ analysis: FinishedAnalysis; readError: unknown }> {
  const job: RangeJob = {
    path: name,
    start: 0,
    end: 0,
    seedTs: Number.NaN,
    opts: workerOptions(opts),
    record: !!events,
    stream: true,
  };
  const w = analysisWorker(job, hooks.script);
  /** Chunk buffers the worker handed back, reused for the next chunks. */
  const pool: ArrayBuffer[] = [];
  let inFlight = 0;
  let wakeReader: (() => void) | null = null;
  let failed: Error | null = null;
  const parts = new Promise<FinishedParts>((resolve, reject) => {
    const fail = (e: Error) => {
      failed = e;
      wakeReader?.();
      reject(e);
    };
    w.on(
      'message',
      (m: { ack?: ArrayBuffer; batch?: EventBatch; finished?: FinishedParts; error?: string }) => {
        if (m.ack) {
          pool.push(m.ack);
          inFlight--;
          wakeReader?.();
          wakeReader = null;
        } else if (m.batch) {
          if (events) replayBatch(m.batch, events, 0);
          w.postMessage({ credit: 1, batch: m.batch }, batchBuffers(m.batch));
        } else if (m.finished) resolve(m.finished);
        else if (m.error) fail(new Error(m.error));
      },
    );
    w.on('error', fail);
    w.on('exit', (code) => {
      if (code !== 0) fail(new Error(`analysis worker exited with code ${code}`));
    });
    // while the worker starts: the events sink's warm-up (see AnalysisSession.warmUp); a failure there fails this
    // reading as a worker's would (the input is then read again on one thread)
    try {
      if (events) hooks.warmUp?.();
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  });
  parts.catch(() => {}); // awaited below; a failure also wakes the reader
  let readError: unknown = null;
  // The source's chunks (which it may reuse) are copied into buffers of POSTED_BYTES, filled before they are
  // posted (small inflated chunks coalesce), taken from those the worker gave back.
  let cur: ArrayBuffer | null = null;
  let used = 0;
  const post = async () => {
    if (cur === null || used === 0) return;
    w.postMessage({ chunk: cur, length: used }, [cur]);
    cur = null;
    inFlight++;
    while (inFlight >= MAX_CHUNKS_IN_FLIGHT && !failed) await new Promise<void>((r) => (wakeReader = r));
  };
  try {
    for await (const chunk of chunks) {
      if (failed) break;
      for (let off = 0; off < chunk.length; ) {
        if (cur === null) {
          cur = pool.pop() ?? new ArrayBuffer(POSTED_BYTES);
          used = 0;
        }
        const n = Math.min(POSTED_BYTES - used, chunk.length - off);
        new Uint8Array(cur, used, n).set(chunk.subarray(off, off + n));
        used += n;
        off += n;
        if (used === POSTED_BYTES) await post();
      }
      onChunk?.();
    }
  } catch (err) {
    readError = err;
  }
  // what was read before an error too (a truncated gzip is analysed up to where it breaks)
  if (!failed) await post();
  w.postMessage({ end: true });
  try {
    const analysis = new FinishedAnalysis(await parts);
    events?.usePairing?.(analysis);
    return { analysis, readError };
  } finally {
    void w.terminate();
  }
}
