/** Test helpers: run the pure analysis over a file or a string, chunked like the real reader. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  type AnalysisOptions,
  type InputAnalysis,
  VirtiofsdAnalysis,
} from '../../src/analyze/virtiofsd-analysis.js';

export function readLog(file: string): Buffer {
  const raw = readFileSync(file);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

/** Analyse `data` pushed in chunks of `chunk` bytes (small chunks exercise line carry-over). */
export function analyzeBuffer(
  data: Buffer | string,
  opts: AnalysisOptions = {},
  chunk = 1 << 20,
  name = 'test.log',
): InputAnalysis {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const a = new VirtiofsdAnalysis(name, opts);
  for (let i = 0; i < buf.length; i += chunk) a.push(buf.subarray(i, Math.min(buf.length, i + chunk)));
  a.end();
  return a.result();
}

export function analyzeFile(file: string, opts: AnalysisOptions = {}): InputAnalysis {
  return analyzeBuffer(readLog(file), opts, 1 << 20, file);
}
