/**
 * `vfs-analyze report INPUT... --format html|md|junit|json [-o PATH]`: re-render saved results without re-analysing
 * (analysis JSON from `--json`, a run folder or its run.json, a folder of runs → comparison, a comparison JSON), and
 * `vfs-analyze report --index [DIR]`: regenerate the reports/ index. Wiring only.
 */
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isStdin } from '../io/byte-source.js';
import { type LoadedResult, loadResults, loadRunAnalysis } from '../io/load-results.js';
import {
  DEFAULT_REPORTS_DIR,
  defaultReportName,
  describeWritten,
  parseReportSpec,
  REPORT_EXTENSIONS,
  type ReportOutputOptions,
  type ReportSpec,
  reportDocument,
  type WrittenReport,
  writeComparisonReports,
  writeReports,
  writeReportsIndex,
} from '../io/report-output.js';
import { writeStdout } from '../io/stdout.js';
import { renderComparisonMarkdown } from '../report/comparison-markdown.js';
import { renderComparisonHtml } from '../report/html.js';
import type { AnalysisDocument } from '../report/json.js';
import { renderJson } from '../report/json.js';
import type { ReportDocument } from '../report/model.js';

export interface ReportArgs {
  inputs: string[];
  format?: string;
  output?: string;
  report: string[];
  index?: string;
  title?: string;
  reportsDir: string;
}

function reportOptions<T>(y: Argv<T>) {
  return y
    .positional('inputs', {
      describe: 'analysis JSON (vfs-analyze --json), run folder or run.json, folder of runs, comparison JSON',
      type: 'string',
      array: true,
      default: [] as string[],
    })
    .option('format', {
      alias: 'f',
      type: 'string',
      describe: 'html, md (markdown), junit (xml) or json',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe:
        'file to write (atomically); "-" for stdout. Default: stdout, or $GITHUB_STEP_SUMMARY for md when it is set',
    })
    .option('report', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'also write FORMAT[=PATH] (repeatable; default PATH reports/<name>.<ext>)',
    })
    .option('index', {
      type: 'string',
      describe: `regenerate the index (index.html + index.md) of DIR (default ${DEFAULT_REPORTS_DIR})`,
    })
    .option('title', { type: 'string', describe: 'title of a comparison report' })
    .option('reports-dir', {
      type: 'string',
      default: DEFAULT_REPORTS_DIR,
      describe: 'folder for --report files without a PATH',
    })
    .example(
      '$0 report analysis.json --format html -o incident.html',
      'HTML report of a saved --json analysis',
    )
    .example(
      '$0 report reports/runs --format md',
      'Markdown comparison of the saved runs (job summary on CI)',
    )
    .example('$0 report --index', 'regenerate reports/index.html and reports/index.md');
}

/** `-` was turned into the stdin marker by main(); an output of `-` means stdout. */
function unStdin(p: string | undefined): string | undefined {
  return p !== undefined && isStdin(p) ? '-' : p;
}

type Source =
  | { kind: 'analysis'; doc: ReportDocument; raw: AnalysisDocument; name?: string }
  | { kind: 'runs'; loaded: Extract<LoadedResult, { kind: 'run' }>[] }
  | { kind: 'comparison'; loaded: Extract<LoadedResult, { kind: 'comparison' }> };

function mergeDocs(docs: AnalysisDocument[]): AnalysisDocument {
  if (docs.length === 1) return docs[0];
  const out: AnalysisDocument = {
    ...docs[0],
    inputs: docs.flatMap((d) => reportDocument(d).inputs),
    errors: docs.flatMap((d) => d.errors),
  };
  const guest = docs.find((d) => d.guest)?.guest;
  if (guest) out.guest = guest;
  else delete out.guest;
  return out;
}

async function resolveSource(inputs: string[]): Promise<Source> {
  for (const p of inputs) if (isStdin(p)) throw new UsageError('report reads saved files, not stdin ("-")');
  const loaded = await loadResults(inputs);
  const kinds = new Set(loaded.map((l) => l.kind));
  const log = loaded.find((l) => l.kind === 'log');
  if (log) {
    throw new InputError(
      log.path,
      `a virtiofsd log, not a saved result: analyse it with "vfs-analyze ${log.path} --report FORMAT" (report only re-renders --json output and run records)`,
    );
  }
  const baseline = loaded.find((l) => l.kind === 'baseline');
  if (baseline)
    throw new InputError(baseline.path, 'a gate baseline: nothing to render (see vfs-analyze gate)');
  if (kinds.size > 1) {
    throw new UsageError(
      `cannot mix ${[...kinds].join(' and ')} inputs in one report: render analyses and run records separately`,
    );
  }
  const first = loaded[0];
  if (first.kind === 'analysis') {
    const docs = loaded.flatMap((l) => (l.kind === 'analysis' ? [l.doc] : []));
    const raw = mergeDocs(docs);
    return { kind: 'analysis', doc: reportDocument(raw), raw };
  }
  if (first.kind === 'comparison') {
    if (loaded.length > 1) throw new UsageError('give one comparison JSON at a time (or the run records)');
    return { kind: 'comparison', loaded: first };
  }
  const runs = loaded.flatMap((l) => (l.kind === 'run' ? [l] : []));
  if (runs.length === 1) {
    // One run: its saved analysis (verdict, timeline, milestones) makes the richer report.
    const { doc, error } = await loadRunAnalysis(runs[0]);
    if (error)
      process.stderr.write(`vfs-analyze: warning: ${error.message}; rendering the run record only\n`);
    if (doc) return { kind: 'analysis', doc: reportDocument(doc), raw: doc, name: runs[0].record.id };
  }
  return { kind: 'runs', loaded: runs };
}

function specsFrom(args: ReportArgs, env: NodeJS.ProcessEnv): ReportSpec[] {
  const specs: ReportSpec[] = args.report.map((s) => parseReportSpec(s));
  const output = unStdin(args.output);
  if (args.format !== undefined) {
    const { format } = parseReportSpec(
      args.format.includes('=') ? args.format.slice(0, args.format.indexOf('=')) : args.format,
    );
    if (output !== undefined) specs.unshift({ format, path: output });
    else if (format === 'md' && env.GITHUB_STEP_SUMMARY) specs.unshift({ format, path: null });
    else specs.unshift({ format, path: '-' });
  } else if (output !== undefined) {
    throw new UsageError('-o/--output needs --format');
  }
  return specs;
}

async function writeComparisonDoc(
  loaded: Extract<LoadedResult, { kind: 'comparison' }>,
  specs: ReportSpec[],
  opts: ReportOutputOptions,
  title: string | undefined,
): Promise<WrittenReport[]> {
  const out: WrittenReport[] = [];
  for (const s of specs) {
    if (s.format === 'junit')
      throw new UsageError('junit needs the run records (give the folder of runs, not the comparison JSON)');
    const text =
      s.format === 'html'
        ? renderComparisonHtml(loaded.comparison, { title })
        : s.format === 'md'
          ? renderComparisonMarkdown(loaded.comparison, [], { title })
          : renderJson(loaded.comparison);
    if (s.path === '-') {
      await writeStdout(text);
      out.push({ format: s.format, path: '-', to: 'stdout', bytes: Buffer.byteLength(text) });
    } else {
      const name = defaultReportName([loaded.path]);
      const path = s.path ?? join(opts.dir ?? DEFAULT_REPORTS_DIR, `${name}.${REPORT_EXTENSIONS[s.format]}`);
      await writeFileAtomic(path, text, { mkdirs: true });
      out.push({ format: s.format, path, to: 'file', bytes: Buffer.byteLength(text) });
    }
  }
  return out;
}

export async function runReport(args: ReportArgs): Promise<number> {
  const env = process.env;
  const indexDir = args.index === undefined ? undefined : unStdin(args.index) || DEFAULT_REPORTS_DIR;
  if (indexDir === '-') throw new UsageError('--index takes a folder, not "-"');
  if (args.inputs.length === 0 && indexDir === undefined) {
    throw new UsageError(
      'no input: give an analysis JSON, a run folder or a folder of runs (or --index [DIR])',
    );
  }
  if (args.inputs.length > 0) {
    const specs = specsFrom(args, env);
    if (specs.length === 0)
      throw new UsageError('no output format: give --format FORMAT (or --report FORMAT[=PATH])');
    const opts: ReportOutputOptions = { dir: args.reportsDir, env, stdoutInUse: false };
    const source = await resolveSource(args.inputs);
    let written: WrittenReport[];
    if (source.kind === 'analysis') {
      written = await writeReports(source.doc, specs, { ...opts, name: source.name });
    } else if (source.kind === 'runs') {
      written = await writeComparisonReports(
        { records: source.loaded.map((l) => l.record), title: args.title },
        specs,
        opts,
      );
    } else {
      written = await writeComparisonDoc(source.loaded, specs, opts, args.title);
    }
    process.stderr.write(describeWritten(written));
  }
  if (indexDir !== undefined) {
    const r = await writeReportsIndex(indexDir);
    process.stderr.write(
      `vfs-analyze: index of ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} written to ${r.html} and ${r.md}\n`,
    );
  }
  return 0;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report [inputs..]',
  describe:
    're-render saved results (analysis JSON, run records) as html/md/junit/json; --index lists reports/',
  builder: (y) => reportOptions(y) as unknown as Argv<ReportArgs>,
  handler: async (a: ArgumentsCamelCase<ReportArgs>) => {
    await runReport(a);
  },
};
