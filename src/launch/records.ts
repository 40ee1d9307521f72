/**
 * Run folders: `reports/runs/<id>/` written atomically (every file to a hidden temporary folder, fsynced, then one
 * rename), and read back for `vfs-analyze compare`.
 *
 * ```
 * reports/runs/<id>/
 *   record.json          the RunRecord (+ launch details), what `compare` reads
 *   analysis.json        the full analysis document (vfs-analyze --json schema) with the verdict
 *   virtiofsd.log.gz     the virtiofsd debug log as written by the wrapper
 *   console.txt.gz       bcvk --log-dir console (the emulated UART)
 *   journal.json.gz      bcvk --log-dir journal (journalctl -o json)
 *   bcvk.stdout.txt, bcvk.stderr.txt, virtiofsd-wrapper.sh, virtiofsd.argv
 * ```
 */

import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { type AtomicData, writeDirAtomic } from '../io/atomic.js';
import { parseRunRecord, type RunRecord, RunRecordError } from './run-record.js';

export const RECORD_FILE = 'record.json';
/** Older name, still read. */
const LEGACY_RECORD_FILE = 'run.json';

export interface RunFiles {
  record: RunRecord;
  analysis: unknown;
  /** Logs to compress: name in the run folder (without .gz) → path of the captured file. */
  gzip: Record<string, string>;
  /** Small files copied verbatim: name → path. */
  copy: Record<string, string>;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Write one run folder atomically; returns its path. Missing captured files are left out. */
export async function writeRunDir(runsDir: string, files: RunFiles): Promise<string> {
  const dir = join(runsDir, files.record.id);
  const out: Record<string, AtomicData> = {};
  for (const [name, path] of Object.entries(files.gzip)) {
    // pipeline(): a read error destroys the gzip stream, so the atomic write fails instead of truncating
    if (await exists(path))
      out[`${name}.gz`] = pipeline(createReadStream(path), createGzip({ level: 6 }), () => {});
  }
  for (const [name, path] of Object.entries(files.copy)) {
    if (await exists(path)) out[name] = createReadStream(path);
  }
  out['analysis.json'] = `${JSON.stringify(files.analysis, null, 2)}\n`;
  // last, so a reader that sees record.json in a (non-atomic) copy also has the rest
  out[RECORD_FILE] = `${JSON.stringify(files.record, null, 2)}\n`;
  await writeDirAtomic(dir, out, { mkdirs: true });
  return dir;
}

export interface LoadedRecords {
  records: { record: RunRecord; path: string }[];
  /** Paths that looked like records but could not be read, with the reason. */
  problems: { path: string; message: string }[];
}

async function readRecord(path: string, into: LoadedRecords): Promise<void> {
  try {
    const text = await readFile(path, 'utf8');
    into.records.push({ record: parseRunRecord(JSON.parse(text)), path });
  } catch (e) {
    const msg = e instanceof RunRecordError || e instanceof SyntaxError ? e.message : (e as Error).message;
    into.problems.push({ path, message: msg });
  }
}

async function recordIn(dir: string): Promise<string | null> {
  for (const f of [RECORD_FILE, LEGACY_RECORD_FILE]) {
    const p = join(dir, f);
    if (await exists(p)) return p;
  }
  return null;
}

async function subdirs(dir: string): Promise<string[]> {
  const ents = await readdir(dir, { withFileTypes: true });
  return ents
    .filter((e) => e.isDirectory() && !e.name.startsWith('.')) // hidden: atomic-write temporaries
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Records from paths: a record file, a run folder, a folder of run folders (`reports/runs`), or a reports folder
 * holding `runs/`. Hidden folders (temporaries of an atomic write in progress) are skipped. Throws for a path that
 * does not exist; records come back ordered by start time.
 */
export async function loadRunRecords(paths: readonly string[]): Promise<LoadedRecords> {
  const out: LoadedRecords = { records: [], problems: [] };
  const seen = new Set<string>();
  const add = async (p: string) => {
    if (seen.has(p)) return;
    seen.add(p);
    await readRecord(p, out);
  };
  for (const p of paths) {
    const st = await stat(p);
    if (st.isFile()) {
      await add(p);
      continue;
    }
    const own = await recordIn(p);
    if (own) {
      await add(own);
      continue;
    }
    let dirs = await subdirs(p);
    const runs = dirs.find((d) => d === join(p, 'runs'));
    if (runs) dirs = await subdirs(runs);
    for (const d of dirs) {
      const r = await recordIn(d);
      if (r) await add(r);
    }
  }
  out.records.sort(
    (a, b) =>
      Date.parse(a.record.startedAt) - Date.parse(b.record.startedAt) ||
      (a.record.schedule?.order ?? 0) - (b.record.schedule?.order ?? 0),
  );
  return out;
}
