/**
 * IO shell around the pure analysis: read one input, push its chunks, turn what went wrong into the error
 * hierarchy. A read failure midway (truncated gzip) keeps the partial analysis and reports the error beside it.
 */

import { stat } from 'node:fs/promises';
import {
  type AnalysisOptions,
  type InputAnalysis,
  VirtiofsdAnalysis,
} from '../analyze/virtiofsd-analysis.js';
import { UnusableInputError, type VfsError } from '../errors.js';
import { TeeSink, type VirtiofsdSink } from '../parse/virtiofsd.js';
import { type ByteSource, isStdin, openByteSource } from './byte-source.js';
import {
  analyzeFileInWorker,
  analyzeParallel,
  analyzeStreamInWorker,
  PARALLEL_MIN_BYTES,
  type ParallelOutcome,
  threadCount,
} from './parallel.js';

export interface InputOutcome {
  file: string;
  analysis: InputAnalysis | null;
  error: VfsError | null;
  /** How the input was read: split into byte ranges on worker threads (nothing needed the events in order), read
   * or inflated here and parsed by one worker, or one pass on this thread; 'ranges, then one pass' when the
   * ranges' post-mortems could not be merged exactly, 'worker, then one pass' when the worker failed (tests check
   * which path ran). */
  readBy?: 'ranges' | 'ranges, then one pass' | 'worker' | 'worker, then one pass' | 'one pass';
}

export type ProgressFn = (file: string, done: number, total: number | null) => void;

export interface InputOptions extends AnalysisOptions {
  /** Worker threads for large plain files (1 = never parallel). Default: VFS_ANALYZE_THREADS or the cores. */
  threads?: number;
  /** Smallest file split across threads (default PARALLEL_MIN_BYTES; tests lower it). */
  parallelMinBytes?: number;
  /**
   * Where every event goes in file order, whether the file is split across threads or not (an analysis session's
   * verdict engine). `restart()` gives a fresh sink when a worker failed after part of the log was replayed.
   */
  events?: {
    sink: VirtiofsdSink;
    restart(): VirtiofsdSink;
    /** Called once a worker reads a large log, while this thread waits for its first events (see
     * AnalysisSession.warmUp). */
    warmUp?(): void;
  };
  /** Tests: the script the streaming worker runs (one that fails, to check the fallback). */
  workerScript?: URL;
}

export async function analyzeInput(
  path: string,
  opts: InputOptions = {},
  onProgress?: ProgressFn,
): Promise<InputOutcome> {
  const extra = opts.extraSink;
  // Whatever needs every event in file order (the verdict engine, the FUSE unique watch): fed by replaying the
  // worker's event batches, or directly by the sequential reader.
  const e = opts.events?.sink;
  const inOrder = e ? (extra ? new TeeSink(e, extra) : e) : extra;
  const seqOpts: InputOptions = { ...opts, extraSink: inOrder };
  let split: ParallelOutcome | null = null;
  if (!inOrder) {
    try {
      split = await tryParallel(path, opts, onProgress);
    } catch {
      // a worker failed: read it again on one thread
    }
    if (split?.analysis) {
      const result = split.analysis.result();
      return { file: path, analysis: result, error: unusable(result), readBy: 'ranges' };
    }
  }
  let source: ByteSource;
  try {
    source = await openByteSource(path);
  } catch (err) {
    return { file: path, analysis: null, error: err as VfsError };
  }
  // Events needed in order, or a gzip to inflate: read here, parse on one worker (see analyzeStreamInWorker).
  if ((inOrder || source.gzip) && threadCount(opts.threads) >= 2) {
    const min = opts.parallelMinBytes ?? (source.gzip ? GZIP_WORKER_MIN_BYTES : PARALLEL_MIN_BYTES);
    if ((source.size ?? 0) >= min) {
      try {
        // A plain file: the worker reads it itself; this thread only replays (analyzeFileInWorker).
        if (inOrder !== undefined && !source.gzip && source.size !== null) {
          const size = source.size;
          const analysis = await analyzeFileInWorker(
            source.name,
            size,
            { ...opts, extraSink: undefined },
            inOrder,
            (done) => onProgress?.(source.name, done, size),
            { script: opts.workerScript, warmUp: opts.events?.warmUp },
          );
          return outcome(source.name, analysis, null, 'worker');
        }
        return await streamInWorker(source, opts, inOrder, onProgress);
      } catch {
        // The worker failed part-way (a bug, out of memory): read the file again on this thread, the ordered
        // sinks starting over (the unique watch keeps its first hits).
        const events = opts.events && { ...opts.events, sink: opts.events.restart() };
        const again = await analyzeInput(path, { ...opts, threads: 1, events }, onProgress);
        return { ...again, readBy: 'worker, then one pass' };
      }
    }
  }
  const analysis = new VirtiofsdAnalysis(source.name, seqOpts);
  let readError: VfsError | null = null;
  const tick = progressTicker(source, onProgress);
  try {
    for await (const chunk of source.chunks) {
      analysis.push(chunk);
      if (analysis.isBinary) break;
      tick();
    }
  } catch (err) {
    readError = err as VfsError;
  }
  analysis.end();
  return outcome(source.name, analysis, readError, split ? 'ranges, then one pass' : 'one pass');
}

/** The outcome of a whole read: a read error part-way wins over "nothing usable"; empty results are dropped. */
function outcome(
  file: string,
  analysis: Pick<VirtiofsdAnalysis, 'result'>,
  readError: VfsError | null,
  readBy: InputOutcome['readBy'],
): InputOutcome {
  const result = analysis.result();
  const error = readError ?? unusable(result);
  const keep = !result.binary && result.totals.requests + result.totals.replies > 0;
  return { file, analysis: keep ? result : null, error, readBy };
}

/** Reports read progress at most every 100 ms. */
function progressTicker(source: ByteSource, onProgress?: ProgressFn): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (onProgress && now - last > 100) {
      last = now;
      onProgress(source.name, source.bytesRead(), source.size);
    }
  };
}

/**
 * Large plain virtiofsd logs are split across worker threads when nothing needs their events in order; null
 * means "read it sequentially".
 */
async function tryParallel(
  path: string,
  opts: InputOptions,
  onProgress?: ProgressFn,
): Promise<ParallelOutcome | null> {
  const threads = threadCount(opts.threads);
  if (threads < 2 || isStdin(path)) return null;
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size < (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES)) return null;
    size = st.size;
  } catch {
    return null; // the sequential path reports the error
  }
  return await analyzeParallel(path, size, opts, threads, (done) => onProgress?.(path, done, size));
}

/** Compressed size from which a gzip input is inflated here and parsed by a worker (≈ 50 MB of text). */
export const GZIP_WORKER_MIN_BYTES = 6 * 1024 * 1024;

/** A large input read (or inflated) here, parsed by a worker, the ordered sinks fed from its batches. */
async function streamInWorker(
  source: ByteSource,
  opts: InputOptions,
  inOrder: VirtiofsdSink | undefined,
  onProgress?: ProgressFn,
): Promise<InputOutcome> {
  const { analysis, readError } = await analyzeStreamInWorker(
    source.name,
    source.chunks,
    { ...opts, extraSink: undefined },
    inOrder,
    progressTicker(source, onProgress),
    { script: opts.workerScript, warmUp: opts.events?.warmUp },
  );
  return outcome(source.name, analysis, readError as VfsError | null, 'worker');
}

/** Why a fully read input holds nothing to analyse, or null when it does. */
function unusable(r: InputAnalysis): VfsError | null {
  if (r.binary) return new UnusableInputError(r.file, 'binary data, not a text log');
  if (r.bytes === 0) return new UnusableInputError(r.file, 'empty file');
  if (r.totals.requests + r.totals.replies > 0) return null;
  const k = r.lines.byKind;
  if (k.lifecycle + k.queue + k.warning > 0 && k.unrecognized === 0) {
    return new UnusableInputError(
      r.file,
      'virtiofsd log without request lines: start virtiofsd with --log-level debug (Rust) or -d (C)',
    );
  }
  return new UnusableInputError(
    r.file,
    `not a virtiofsd debug log (${r.lines.total} lines, none a FUSE request or reply)`,
  );
}
