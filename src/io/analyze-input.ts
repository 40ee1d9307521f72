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
import { TeeSink } from '../parse/virtiofsd.js';
import { VerdictEngine, type VerdictEngineOptions } from '../verdict/engine.js';
import { isStdin, openByteSource } from './byte-source.js';
import { analyzeParallel, PARALLEL_MIN_BYTES, threadCount } from './parallel.js';

export interface InputOutcome {
  file: string;
  analysis: InputAnalysis | null;
  error: VfsError | null;
  /** The verdict engine fed this input's events, when `verdict` was asked for. */
  engine?: VerdictEngine;
}

export type ProgressFn = (file: string, done: number, total: number | null) => void;

export interface InputOptions extends AnalysisOptions {
  /** Worker threads for large plain files (1 = never parallel). Default: VFS_ANALYZE_THREADS or the cores. */
  threads?: number;
  /** Smallest file split across threads (default PARALLEL_MIN_BYTES; tests lower it). */
  parallelMinBytes?: number;
  /** Also feed a verdict engine with these options (one sequential pass: no thread split). */
  verdict?: VerdictEngineOptions;
}

export async function analyzeInput(
  path: string,
  opts: InputOptions = {},
  onProgress?: ProgressFn,
): Promise<InputOutcome> {
  const engine = opts.verdict ? new VerdictEngine(opts.verdict) : undefined;
  // one sequential pass feeds the reducer, the verdict engine and any extra sink (e.g. the FUSE unique watch)
  const extra = opts.extraSink;
  if (engine) opts = { ...opts, extraSink: extra ? new TeeSink(engine, extra) : engine };
  const parallel = engine || extra ? null : await tryParallel(path, opts, onProgress);
  if (parallel !== null) {
    const result = parallel.result();
    return { file: path, analysis: result, error: unusable(result) };
  }
  let source: Awaited<ReturnType<typeof openByteSource>>;
  try {
    source = await openByteSource(path);
  } catch (err) {
    return { file: path, analysis: null, error: err as VfsError };
  }
  const analysis = new VirtiofsdAnalysis(source.name, opts);
  let error: VfsError | null = null;
  let lastProgress = 0;
  try {
    for await (const chunk of source.chunks) {
      analysis.push(chunk);
      if (analysis.isBinary) break;
      if (onProgress) {
        const now = Date.now();
        if (now - lastProgress > 100) {
          lastProgress = now;
          onProgress(source.name, source.bytesRead(), source.size);
        }
      }
    }
  } catch (err) {
    error = err as VfsError;
  }
  analysis.end();
  const result = analysis.result();
  if (error === null) error = unusable(result);
  const keep = !result.binary && result.totals.requests + result.totals.replies > 0;
  return { file: source.name, analysis: keep ? result : null, error, engine };
}

/** Large plain virtiofsd logs are split across worker threads; null means "read it sequentially". */
async function tryParallel(
  path: string,
  opts: InputOptions,
  onProgress?: ProgressFn,
): Promise<VirtiofsdAnalysis | null> {
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
  try {
    return await analyzeParallel(path, size, opts, threads, (done) => onProgress?.(path, done, size));
  } catch {
    return null;
  }
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
