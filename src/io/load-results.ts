/**
 * Read back what vfs-analyze wrote before, without re-analysing: analysis documents (`--json`), run records
 * (`run.json`, also accepted as `record.json`), folders of runs, comparison documents and gate baselines. A path that
 * is none of these but looks like a log (a run folder with `virtiofsd.log[.gz]`, or a non-JSON file) is returned as a
 * raw log for the caller to analyse or refuse.
 */

import { open, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { COMPARISON_SCHEMA, type Comparison } from '../compare/comparison.js';
import { fsError, InputError, UsageError, type VfsError } from '../errors.js';
import { BASELINE_SCHEMA } from '../gate/gate.js';
import { parseRunRecord, RUN_RECORD_SCHEMA, type RunRecord, RunRecordError } from '../launch/run-record.js';
import { ANALYSIS_SCHEMA, type AnalysisDocument } from '../report/json.js';
import { readJson } from './read-json.js';

export const RUN_RECORD_FILES = ['run.json', 'record.json'] as const;

export type LoadedResult =
  | { kind: 'analysis'; path: string; doc: AnalysisDocument }
  | { kind: 'run'; path: string; dir: string; record: RunRecord }
  | { kind: 'comparison'; path: string; comparison: Comparison }
  | { kind: 'baseline'; path: string; json: unknown }
  | { kind: 'log'; path: string };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    throw fsError(path, err);
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The run record file of a run folder, or null. */
export async function runRecordFileIn(dir: string): Promise<string | null> {
  for (const name of RUN_RECORD_FILES) {
    const p = join(dir, name);
    if (await isFile(p)) return p;
  }
  return null;
}

/** First non-blank byte of a file is `{`: worth parsing as JSON (gzip and text logs never start so). */
async function looksLikeJson(path: string): Promise<boolean> {
  const h = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await h.read(buf, 0, 64, 0);
    const s = buf.subarray(0, bytesRead).toString('utf8').trimStart();
    return s.startsWith('{');
  } finally {
    await h.close();
  }
}

function classifyJson(path: string, json: unknown): LoadedResult {
  const schema = isObj(json) ? json.schema : undefined;
  switch (schema) {
    case ANALYSIS_SCHEMA: {
      const doc = json as Record<string, unknown>;
      if (!Array.isArray(doc.inputs)) throw new InputError(path, 'analysis document without "inputs"');
      if (!Array.isArray(doc.errors)) doc.errors = [];
      return { kind: 'analysis', path, doc: json as AnalysisDocument };
    }
    case RUN_RECORD_SCHEMA:
      try {
        return { kind: 'run', path, dir: dirname(path), record: parseRunRecord(json) };
      } catch (err) {
        if (err instanceof RunRecordError) throw new InputError(path, err.message);
        throw err;
      }
    case COMPARISON_SCHEMA:
      return { kind: 'comparison', path, comparison: json as Comparison };
    case BASELINE_SCHEMA:
      return { kind: 'baseline', path, json };
    default:
      throw new InputError(
        path,
        `not a vfs-analyze document (schema ${JSON.stringify(schema ?? null)}; expected ${ANALYSIS_SCHEMA}, ${RUN_RECORD_SCHEMA} or ${COMPARISON_SCHEMA})`,
      );
  }
}

/**
 * One path → what it holds. A folder is a run (has run.json/record.json), a folder of runs (sub-folders that have
 * one; returned oldest first by start time), or a raw run folder with a virtiofsd log.
 */
export async function loadResultPath(path: string): Promise<LoadedResult[]> {
  const st = await statOrThrow(path);
  if (st.isDirectory()) {
    const own = await runRecordFileIn(path);
    if (own) return [classifyJson(own, await readJson(own))];
    const runs: LoadedResult[] = [];
    const names = (await readdir(path, { withFileTypes: true })).filter((d) => d.isDirectory());
    for (const d of names.sort((a, b) => a.name.localeCompare(b.name))) {
      const f = await runRecordFileIn(join(path, d.name));
      if (f) runs.push(classifyJson(f, await readJson(f)));
    }
    // reports/ itself: its runs live in reports/runs/.
    if (runs.length === 0 && (await runRecordFolder(join(path, 'runs'))))
      return loadResultPath(join(path, 'runs'));
    if (runs.length > 0) {
      return runs.sort((a, b) => startOf(a) - startOf(b));
    }
    for (const log of ['virtiofsd.log', 'virtiofsd.log.gz']) {
      if (await isFile(join(path, log))) return [{ kind: 'log', path: join(path, log) }];
    }
    throw new InputError(
      path,
      `no run record (${RUN_RECORD_FILES.join(' or ')}), no folder of runs and no virtiofsd.log[.gz] in this directory`,
    );
  }
  if (!st.isFile()) throw new InputError(path, 'not a regular file');
  let json = false;
  try {
    json = await looksLikeJson(path);
  } catch (err) {
    throw fsError(path, err);
  }
  if (!json) return [{ kind: 'log', path }];
  return [classifyJson(path, await readJson(path))];
}

async function runRecordFolder(dir: string): Promise<boolean> {
  try {
    const names = await readdir(dir, { withFileTypes: true });
    for (const d of names) if (d.isDirectory() && (await runRecordFileIn(join(dir, d.name)))) return true;
  } catch {
    // not a folder
  }
  return false;
}

function startOf(r: LoadedResult): number {
  return r.kind === 'run' ? Date.parse(r.record.startedAt) || 0 : 0;
}

/** All paths, in order; the first unreadable one throws (a usage error, exit 2). */
export async function loadResults(paths: readonly string[]): Promise<LoadedResult[]> {
  if (paths.length === 0) throw new UsageError('no input given');
  const out: LoadedResult[] = [];
  for (const p of paths) out.push(...(await loadResultPath(p)));
  return out;
}

/** The analysis document a run record points at (`analysisPath`, relative to its folder), or null if absent. */
export async function loadRunAnalysis(
  run: Extract<LoadedResult, { kind: 'run' }>,
): Promise<{ doc: AnalysisDocument | null; error: VfsError | null }> {
  const rel = run.record.analysisPath;
  if (!rel) return { doc: null, error: null };
  const p = isAbsolute(rel) ? rel : join(run.dir, rel);
  try {
    const loaded = classifyJson(p, await readJson(p));
    if (loaded.kind !== 'analysis')
      return { doc: null, error: new InputError(p, 'not an analysis document') };
    return { doc: loaded.doc, error: null };
  } catch (err) {
    return { doc: null, error: err as VfsError };
  }
}
