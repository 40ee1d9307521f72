/**
 * `--report FORMAT[=PATH]`: render an analysis document (or a comparison of run records) and write it where asked.
 *
 * - FORMAT: `html`, `md` (alias `markdown`), `junit` (alias `xml`), `json`.
 * - PATH omitted: `reports/<name>.<ext>`; for `md` it is `$GITHUB_STEP_SUMMARY` (appended to, as GitHub expects)
 *   when that variable is set.
 * - PATH `-`: stdout, allowed once and only when stdout does not already carry data (`stdoutInUse`).
 *
 * Every file is written atomically (src/io/atomic.ts); the step summary is appended in one write.
 */

import type { Dirent } from 'node:fs';
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Comparison, compareRuns } from '../compare/comparison.js';
import { ExitCode, fsError, outputError, UsageError, VfsError } from '../errors.js';
import type { RunRecord } from '../launch/run-record.js';
import { parseRunRecord } from '../launch/run-record.js';
import { renderComparisonMarkdown } from '../report/comparison-markdown.js';
import { renderComparisonHtml, renderHtml } from '../report/html.js';
import {
  type IndexEntry,
  type IndexLink,
  renderIndexHtml,
  renderIndexMarkdown,
} from '../report/index-page.js';
import { type AnalysisDocument, renderJson } from '../report/json.js';
import { renderJUnit, renderRunsJUnit } from '../report/junit.js';
import { DEFAULT_MARKDOWN_MAX_BYTES, renderMarkdown } from '../report/markdown.js';
import type { ReportDocument } from '../report/model.js';
import { OUTCOME_SEVERITY } from '../verdict/types.js';
import { writeFileAtomic } from './atomic.js';
import { RUN_RECORD_FILES, runRecordFileIn } from './load-results.js';
import { writeStdout } from './stdout.js';

export const REPORT_FORMATS = ['html', 'md', 'junit', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const ALIASES: Record<string, ReportFormat> = {
  html: 'html',
  md: 'md',
  markdown: 'md',
  junit: 'junit',
  xml: 'junit',
  json: 'json',
};

export const REPORT_EXTENSIONS: Record<ReportFormat, string> = {
  html: 'html',
  md: 'md',
  junit: 'junit.xml',
  json: 'json',
};

/** Default folder for reports and run records. */
export const DEFAULT_REPORTS_DIR = 'reports';

export interface ReportSpec {
  format: ReportFormat;
  /** `null`: the default place; `-`: stdout; else a file path. */
  path: string | null;
}

/** Parse `FORMAT[=PATH]`; throws a UsageError naming the valid formats. */
export function parseReportSpec(spec: string): ReportSpec {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim().toLowerCase();
  const format = ALIASES[name];
  if (!format) {
    throw new UsageError(
      `--report: unknown format ${JSON.stringify(name)} (valid: ${REPORT_FORMATS.join(', ')}; md = markdown, junit = xml)`,
    );
  }
  if (eq < 0) return { format, path: null };
  const path = spec.slice(eq + 1);
  if (path === '') throw new UsageError(`--report ${name}=: empty path (omit "=" for the default)`);
  return { format, path };
}

export interface ReportOutputOptions {
  /** Folder for reports without an explicit PATH (default `reports`). */
  dir?: string;
  /** Base name of default report files (default: derived from the inputs). */
  name?: string;
  /** True when stdout already carries data (e.g. `--json` or the terminal tables): `-` is then refused. */
  stdoutInUse?: boolean;
  /** Environment consulted for GITHUB_STEP_SUMMARY (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where `-` goes (default: stdout, flushed). */
  stdout?: (text: string) => Promise<void>;
  /** Markdown size bound (default 1 MB; GitHub rejects summaries over 1 MiB). */
  markdownMaxBytes?: number;
}

export interface WrittenReport {
  format: ReportFormat;
  /** File written, or `-` for stdout. */
  path: string;
  to: 'file' | 'stdout' | 'step-summary';
  bytes: number;
}

interface Target {
  spec: ReportSpec;
  path: string;
  to: WrittenReport['to'];
}

/** File-system-safe base name: letters, digits, `.`, `_`, `-`. */
export function safeName(s: string): string {
  const t = s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 120);
  return t === '' ? 'report' : t;
}

/**
 * Default report name of an analysis: the log's base name without `.log`/`.gz`/`.txt`; a generic name
 * (`virtiofsd.log`) takes its folder's name instead (run folders and lab captures).
 */
export function defaultReportName(files: readonly string[]): string {
  if (files.length === 0) return 'analysis';
  const f = files[0];
  let base = basename(f)
    .replace(/(\.gz)$/i, '')
    .replace(/\.(log|txt|json)$/i, '');
  if (/^(virtiofsd|record|run|analysis|stdin|-)$/i.test(base) || f === '-' || f === '<stdin>') {
    const parent = basename(dirname(f));
    base = parent && parent !== '.' && parent !== '/' ? parent : 'analysis';
  }
  const name = safeName(base);
  return files.length > 1 ? `${name}-and-${files.length - 1}-more` : name;
}

function resolveTargets(
  specs: readonly (string | ReportSpec)[],
  opts: ReportOutputOptions,
  name: string,
): Target[] {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? DEFAULT_REPORTS_DIR;
  const targets: Target[] = [];
  let stdoutUsers = 0;
  for (const s of specs) {
    const spec = typeof s === 'string' ? parseReportSpec(s) : s;
    if (spec.path === '-') {
      if (opts.stdoutInUse) {
        throw new UsageError(
          `--report ${spec.format}=-: stdout already carries the output; give a file path instead`,
        );
      }
      if (++stdoutUsers > 1) throw new UsageError('--report: only one report can go to stdout ("-")');
      targets.push({ spec, path: '-', to: 'stdout' });
    } else if (spec.path !== null) {
      targets.push({ spec, path: spec.path, to: 'file' });
    } else if (spec.format === 'md' && env.GITHUB_STEP_SUMMARY) {
      targets.push({ spec, path: env.GITHUB_STEP_SUMMARY, to: 'step-summary' });
    } else {
      targets.push({ spec, path: join(dir, `${name}.${REPORT_EXTENSIONS[spec.format]}`), to: 'file' });
    }
  }
  const seen = new Set<string>();
  for (const t of targets) {
    if (t.to !== 'file') continue;
    if (seen.has(t.path)) throw new UsageError(`--report: two reports would be written to ${t.path}`);
    seen.add(t.path);
  }
  return targets;
}

/** Validate report specs without writing anything (call before a long analysis to fail fast). */
export function checkReportSpecs(specs: readonly string[], opts: ReportOutputOptions = {}): ReportSpec[] {
  return resolveTargets(specs, opts, 'check').map((t) => t.spec);
}

async function emit(
  targets: Target[],
  render: (format: ReportFormat) => string,
  opts: ReportOutputOptions,
): Promise<WrittenReport[]> {
  const out: WrittenReport[] = [];
  const failed: VfsError[] = [];
  const cache = new Map<ReportFormat, string>();
  for (const t of targets) {
    let text = cache.get(t.spec.format);
    if (text === undefined) {
      text = render(t.spec.format);
      cache.set(t.spec.format, text);
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    // One report that cannot be written (a full disk, a read-only path) does not stop the others.
    try {
      if (t.to === 'stdout') {
        await (opts.stdout ?? writeStdout)(text);
      } else if (t.to === 'step-summary') {
        // GitHub concatenates what the steps append; a separating newline keeps tables apart.
        await appendFile(t.path, text.endsWith('\n') ? text : `${text}\n`).catch((err) => {
          throw outputError(t.path, err);
        });
      } else {
        await writeFileAtomic(t.path, text, { mkdirs: true });
      }
    } catch (err) {
      if (!(err instanceof VfsError)) throw err;
      failed.push(err);
      continue;
    }
    out.push({ format: t.spec.format, path: t.path, to: t.to, bytes });
  }
  if (failed.length > 0) {
    const written =
      out.length > 0 ? ` (written: ${out.map((w) => `${w.format} to ${w.path}`).join(', ')})` : '';
    if (failed.length === 1 && written === '') throw failed[0];
    throw new VfsError(`${failed.map((e) => e.message).join('; ')}${written}`, ExitCode.output);
  }
  return out;
}

/**
 * Attach the guest milestones (top-level `guest.milestones`, host times known) to inputs that carry none, so the
 * renderers and the gate see them per input.
 */
export function reportDocument(doc: AnalysisDocument | ReportDocument): ReportDocument {
  const g = (doc as AnalysisDocument).guest;
  const ms = (g?.milestones ?? []).flatMap((m) =>
    m.time === null ? [] : [{ time: m.time, text: m.text, kind: m.kind }],
  );
  if (ms.length === 0) return doc as ReportDocument;
  return {
    ...(doc as ReportDocument),
    inputs: doc.inputs.map((i) =>
      (i as ReportDocument['inputs'][number]).milestones ? i : { ...i, milestones: ms },
    ),
  };
}

/** Render `doc` in each requested format and write it (see the module comment). Returns what was written. */
export async function writeReports(
  doc: AnalysisDocument | ReportDocument,
  specs: readonly (string | ReportSpec)[],
  opts: ReportOutputOptions = {},
): Promise<WrittenReport[]> {
  if (specs.length === 0) return [];
  const name = opts.name ?? defaultReportName(doc.inputs.map((i) => i.file));
  const targets = resolveTargets(specs, opts, name);
  const rdoc = reportDocument(doc);
  return emit(
    targets,
    (format) => {
      switch (format) {
        case 'html':
          return renderHtml(rdoc);
        case 'md':
          return renderMarkdown(rdoc, { maxBytes: opts.markdownMaxBytes ?? DEFAULT_MARKDOWN_MAX_BYTES });
        case 'junit':
          return renderJUnit(rdoc);
        case 'json':
          return renderJson(doc);
      }
    },
    opts,
  );
}

export interface ComparisonReportInput {
  records: readonly RunRecord[];
  /** Precomputed comparison (default: compareRuns(records)). */
  comparison?: Comparison;
  title?: string;
}

/** Like {@link writeReports} for a comparison of run records (one record renders as a one-run comparison). */
export async function writeComparisonReports(
  input: ComparisonReportInput,
  specs: readonly (string | ReportSpec)[],
  opts: ReportOutputOptions = {},
): Promise<WrittenReport[]> {
  if (specs.length === 0) return [];
  const records = input.records;
  const name =
    opts.name ??
    (records.length === 1 ? safeName(records[0].id) : `comparison-${safeName(new Date().toISOString())}`);
  const targets = resolveTargets(specs, opts, name);
  const comparison = input.comparison ?? compareRuns(records);
  return emit(
    targets,
    (format) => {
      switch (format) {
        case 'html':
          return renderComparisonHtml(comparison, { runs: records, title: input.title });
        case 'md':
          return renderComparisonMarkdown(comparison, records, {
            title: input.title,
            maxBytes: opts.markdownMaxBytes ?? DEFAULT_MARKDOWN_MAX_BYTES,
          });
        case 'junit':
          return renderRunsJUnit(records);
        case 'json':
          return renderJson(comparison);
      }
    },
    opts,
  );
}

/** One line per written report, for stderr. */
export function describeWritten(written: readonly WrittenReport[]): string {
  return written
    .filter((w) => w.to !== 'stdout')
    .map(
      (w) =>
        `vfs-analyze: wrote ${w.format} report to ${w.to === 'step-summary' ? `$GITHUB_STEP_SUMMARY (${w.path})` : w.path}\n`,
    )
    .join('');
}

// ---------------------------------------------------------------------------------------------------------------
// The reports/ index.

const INDEX_SKIP = new Set(['index.html', 'index.md', 'README.md', '.gitkeep']);
const REPORT_EXT = /\.(junit\.xml|html|md|json|xml)$/i;
/** Analysis JSON larger than this is not parsed for the index (its other files are still linked). */
const INDEX_MAX_JSON_BYTES = 64 * 1024 * 1024;
const SEVERITY = OUTCOME_SEVERITY;

function labelOf(file: string): string {
  const m = REPORT_EXT.exec(file);
  if (!m) return file;
  const ext = m[1].toLowerCase();
  return ext === 'junit.xml' || ext === 'xml' ? 'junit' : ext;
}

function worst(kinds: (string | null | undefined)[]): string | null {
  let best: string | null = null;
  for (const k of kinds) {
    if (!k) continue;
    const i = SEVERITY.indexOf(k);
    if (best === null || (i >= 0 && (SEVERITY.indexOf(best) < 0 || i < SEVERITY.indexOf(best)))) best = k;
  }
  return best;
}

async function runEntry(dir: string, rel: string, recordFile: string): Promise<IndexEntry | null> {
  let record: ReturnType<typeof parseRunRecord>;
  try {
    record = parseRunRecord(JSON.parse(await readFile(recordFile, 'utf8')));
  } catch {
    return null;
  }
  const names = (await readdir(join(dir, rel), { withFileTypes: true }))
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort((a, b) => {
      const ra = (RUN_RECORD_FILES as readonly string[]).includes(a) ? 0 : REPORT_EXT.test(a) ? 1 : 2;
      const rb = (RUN_RECORD_FILES as readonly string[]).includes(b) ? 0 : REPORT_EXT.test(b) ? 1 : 2;
      return ra - rb || a.localeCompare(b);
    });
  const t = Date.parse(record.startedAt);
  return {
    name: record.id,
    kind: 'run',
    time: Number.isFinite(t) ? t : null,
    outcome: record.outcome.kind,
    title: record.outcome.title,
    variant: record.variant.name || undefined,
    requests: record.totals.requests,
    files: names.map((n) => ({ label: n, href: `${rel}/${n}` })),
  };
}

/** Scan a reports folder: run folders (`runs/<id>/` or `<id>/` with run.json) and top-level report files. */
export async function scanReports(dir: string): Promise<IndexEntry[]> {
  const entries: IndexEntry[] = [];
  let top: Dirent[];
  try {
    top = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw fsError(dir, err);
  }
  // Run folders.
  const runDirs: string[] = [];
  for (const d of top) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue;
    if (await runRecordFileIn(join(dir, d.name))) runDirs.push(d.name);
    else if (d.name === 'runs') {
      for (const r of await readdir(join(dir, 'runs'), { withFileTypes: true })) {
        if (r.isDirectory() && !r.name.startsWith('.') && (await runRecordFileIn(join(dir, 'runs', r.name))))
          runDirs.push(`runs/${r.name}`);
      }
    }
  }
  for (const rel of runDirs) {
    const f = await runRecordFileIn(join(dir, rel));
    const e = f ? await runEntry(dir, rel, f) : null;
    if (e) entries.push(e);
  }
  // Top-level reports, grouped by base name (x.html, x.md, x.junit.xml, x.json → one entry "x").
  const groups = new Map<string, string[]>();
  for (const d of top) {
    if (!d.isFile() || d.name.startsWith('.') || INDEX_SKIP.has(d.name) || !REPORT_EXT.test(d.name)) continue;
    const base = d.name.replace(REPORT_EXT, '');
    groups.set(base, [...(groups.get(base) ?? []), d.name]);
  }
  for (const [base, files] of groups) {
    files.sort();
    const links: IndexLink[] = files.map((f) => ({ label: labelOf(f), href: f }));
    let mtime = 0;
    for (const f of files) mtime = Math.max(mtime, (await stat(join(dir, f))).mtimeMs);
    const entry: IndexEntry = {
      name: base,
      kind: 'report',
      time: mtime || null,
      outcome: null,
      files: links,
    };
    const jsonFile = files.find((f) => /\.json$/i.test(f));
    if (jsonFile) {
      try {
        const p = join(dir, jsonFile);
        if ((await stat(p)).size <= INDEX_MAX_JSON_BYTES)
          describeJson(entry, JSON.parse(await readFile(p, 'utf8')));
      } catch {
        // unreadable or not JSON: listed without an outcome
      }
    }
    entries.push(entry);
  }
  return entries;
}

function describeJson(entry: IndexEntry, json: unknown): void {
  if (typeof json !== 'object' || json === null) return;
  const j = json as Record<string, unknown>;
  if (j.schema === 'vfs-analyze.analysis' && Array.isArray(j.inputs)) {
    const inputs = j.inputs as {
      file?: string;
      verdict?: { kind?: string; title?: string };
      totals?: { requests?: number };
      time?: { first?: number | null };
    }[];
    const errs = Array.isArray(j.errors) ? j.errors.length : 0;
    entry.outcome = worst([...inputs.map((i) => i.verdict?.kind), errs > 0 ? 'error' : null]);
    const titled = inputs.find((i) => i.verdict?.kind === entry.outcome && i.verdict?.title);
    entry.title =
      titled?.verdict?.title ??
      inputs
        .map((i) => i.file)
        .filter(Boolean)
        .join(', ');
    entry.requests = inputs.reduce((a, i) => a + (i.totals?.requests ?? 0), 0);
    const first = inputs.map((i) => i.time?.first).find((t): t is number => typeof t === 'number');
    if (first !== undefined) entry.time = first;
  } else if (j.schema === 'vfs-analyze.comparison') {
    entry.kind = 'comparison';
    const variants = Array.isArray(j.variants) ? j.variants.length : 0;
    entry.title = `${variants} variant(s) vs ${String(j.reference ?? '?')}`;
  } else if (j.schema === 'vfs-analyze.baseline') {
    entry.kind = 'baseline';
    const samples = Array.isArray(j.samples) ? (j.samples as { outcome?: string | null }[]) : [];
    entry.outcome = worst(samples.map((s) => s.outcome));
    entry.title = `${samples.length} sample(s)`;
    const t = typeof j.createdAt === 'string' ? Date.parse(j.createdAt) : Number.NaN;
    if (Number.isFinite(t)) entry.time = t;
  } else if (j.schema === 'vfs-analyze.run') {
    const r = j as { id?: string; outcome?: { kind?: string; title?: string }; startedAt?: string };
    entry.kind = 'run';
    entry.outcome = r.outcome?.kind ?? null;
    entry.title = r.outcome?.title;
    const t = typeof r.startedAt === 'string' ? Date.parse(r.startedAt) : Number.NaN;
    if (Number.isFinite(t)) entry.time = t;
  }
}

/** Regenerate `<dir>/index.html` and `<dir>/index.md` (atomically). Returns the paths and the entry count. */
export async function writeReportsIndex(
  dir: string = DEFAULT_REPORTS_DIR,
  opts: { now?: Date } = {},
): Promise<{ html: string; md: string; entries: number }> {
  const entries = await scanReports(dir);
  const generatedAt = (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const html = join(dir, 'index.html');
  const md = join(dir, 'index.md');
  await writeFileAtomic(html, renderIndexHtml(entries, { generatedAt }));
  await writeFileAtomic(md, renderIndexMarkdown(entries, { generatedAt }));
  return { html, md, entries: entries.length };
}
