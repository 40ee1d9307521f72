import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { loadResultPath } from '../../src/io/load-results.js';
import {
  defaultReportName,
  parseReportSpec,
  reportDocument,
  scanReports,
  writeComparisonReports,
  writeReports,
  writeReportsIndex,
} from '../../src/io/report-output.js';
import { renderJson } from '../../src/report/json.js';
import type { ReportDocument } from '../../src/report/model.js';
import { labRunRecords, livelockDocument } from '../report/fixtures.js';

let doc: ReportDocument;
let dir: string;
beforeAll(() => {
  doc = livelockDocument();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-reports-'));
});

const noEnv = {};

describe('parseReportSpec', () => {
  it('parses FORMAT and FORMAT=PATH, with aliases', () => {
    expect(parseReportSpec('html')).toEqual({ format: 'html', path: null });
    expect(parseReportSpec('markdown=out/x.md')).toEqual({ format: 'md', path: 'out/x.md' });
    expect(parseReportSpec('xml=-')).toEqual({ format: 'junit', path: '-' });
    expect(parseReportSpec('JSON=a=b.json')).toEqual({ format: 'json', path: 'a=b.json' });
  });

  it('rejects an unknown format with the valid list, and an empty path', () => {
    expect(() => parseReportSpec('pdf')).toThrow(UsageError);
    expect(() => parseReportSpec('pdf')).toThrow(/valid: html, md, junit, json/);
    expect(() => parseReportSpec('html=')).toThrow(UsageError);
  });
});

describe('defaultReportName', () => {
  it('uses the run folder for generic log names', () => {
    expect(defaultReportName(['fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz'])).toBe(
      'rust-1.13.2-loop2-10s-cache-never',
    );
    expect(defaultReportName(['/var/log/incident 42.log'])).toBe('incident-42');
    expect(defaultReportName(['a.log', 'b.log'])).toBe('a-and-1-more');
    expect(defaultReportName([])).toBe('analysis');
  });
});

describe('writeReports', () => {
  it('writes every format to reports/<name>.<ext> by default', async () => {
    const written = await writeReports(doc, ['html', 'md', 'junit', 'json'], { dir, env: noEnv });
    expect(written.map((w) => w.path)).toEqual([
      join(dir, 'rust-1.13.2-loop2-10s-cache-never.html'),
      join(dir, 'rust-1.13.2-loop2-10s-cache-never.md'),
      join(dir, 'rust-1.13.2-loop2-10s-cache-never.junit.xml'),
      join(dir, 'rust-1.13.2-loop2-10s-cache-never.json'),
    ]);
    const title = doc.inputs[0].verdict?.title ?? '';
    expect(title).toMatch(/^livelock/);
    expect(readFileSync(written[0].path, 'utf8')).toContain('<svg');
    expect(readFileSync(written[1].path, 'utf8')).toContain('LIVELOCK');
    expect(readFileSync(written[2].path, 'utf8')).toContain('<failure type="livelock"');
    expect(JSON.parse(readFileSync(written[3].path, 'utf8')).schema).toBe('vfs-analyze.analysis');
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('md without a path appends to $GITHUB_STEP_SUMMARY', async () => {
    const summary = join(dir, 'step-summary.md');
    writeFileSync(summary, '# earlier step\n');
    const env = { GITHUB_STEP_SUMMARY: summary };
    const [w] = await writeReports(doc, ['md'], { dir, env });
    expect(w.to).toBe('step-summary');
    await writeReports(doc, ['md'], { dir, env });
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('# earlier step\n')).toBe(true);
    expect(text.split('LIVELOCK').length - 1).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(dir, 'rust-1.13.2-loop2-10s-cache-never.md'))).toBe(false);
    // An explicit path still wins.
    await writeReports(doc, [`md=${join(dir, 'x.md')}`], { dir, env });
    expect(existsSync(join(dir, 'x.md'))).toBe(true);
  });

  it('"-" goes to stdout only when stdout is free, and only once', async () => {
    const out: string[] = [];
    const stdout = async (t: string) => {
      out.push(t);
    };
    await writeReports(doc, ['junit=-'], { dir, env: noEnv, stdout });
    expect(out[0]).toContain('<testsuites');
    await expect(writeReports(doc, ['md=-'], { dir, stdoutInUse: true, stdout })).rejects.toThrow(UsageError);
    await expect(writeReports(doc, ['md=-', 'html=-'], { dir, stdout })).rejects.toThrow(/only one/);
    await expect(writeReports(doc, [`md=${dir}/a`, `html=${dir}/a`], { dir, stdout })).rejects.toThrow(
      /two reports/,
    );
    expect(out).toHaveLength(1);
  });

  it('validates every spec before writing anything', async () => {
    await expect(writeReports(doc, ['html', 'pdf'], { dir, env: noEnv })).rejects.toThrow(UsageError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('attaches top-level guest milestones to inputs without their own', () => {
    const plain = { ...doc, inputs: doc.inputs.map(({ milestones: _m, ...i }) => i) };
    const withGuest = {
      ...plain,
      guest: { milestones: [{ time: 5, uptime: null, text: 'login:', kind: 'login-prompt' }] },
    } as unknown as ReportDocument;
    expect(reportDocument(withGuest).inputs[0].milestones).toEqual([
      { time: 5, text: 'login:', kind: 'login-prompt' },
    ]);
  });
});

describe('writeComparisonReports', () => {
  it('renders run records in all four formats', async () => {
    const records = labRunRecords();
    const written = await writeComparisonReports(
      { records },
      ['html', 'md', 'junit', `json=${join(dir, 'c.json')}`],
      { dir, env: noEnv, name: 'cmp' },
    );
    expect(written.map((w) => w.path)).toEqual([
      join(dir, 'cmp.html'),
      join(dir, 'cmp.md'),
      join(dir, 'cmp.junit.xml'),
      join(dir, 'c.json'),
    ]);
    const md = readFileSync(join(dir, 'cmp.md'), 'utf8');
    expect(md).toContain('| variant |');
    expect(md).not.toContain('<script>');
    expect(readFileSync(join(dir, 'cmp.junit.xml'), 'utf8')).toContain('type="infrastructure"');
    expect(JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')).schema).toBe('vfs-analyze.comparison');
    expect(readFileSync(join(dir, 'cmp.html'), 'utf8')).not.toContain('<script>window');
  });
});

describe('the reports/ index', () => {
  it('lists runs and reports newest first, linking their files, with outcomes', async () => {
    const [a, b] = labRunRecords();
    for (const [r, started] of [
      [a, '2026-11-27T03:00:00Z'],
      [b, '2026-11-27T05:00:00Z'],
    ] as const) {
      mkdirSync(join(dir, 'runs', r.id), { recursive: true });
      writeFileSync(join(dir, 'runs', r.id, 'run.json'), renderJson({ ...r, startedAt: started }));
      writeFileSync(join(dir, 'runs', r.id, 'report.html'), '<html></html>');
    }
    await writeReports(doc, ['html', 'json'], { dir, env: noEnv });
    writeFileSync(join(dir, 'old notes.md'), '# x');
    utimesSync(join(dir, 'old notes.md'), new Date('2020-01-01'), new Date('2020-01-01'));

    const entries = await scanReports(dir);
    expect(entries).toHaveLength(4);
    const r = await writeReportsIndex(dir, { now: new Date('2026-11-27T06:00:00Z') });
    expect(r.entries).toBe(4);
    const md = readFileSync(join(dir, 'index.md'), 'utf8');
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    const order = [b.id, 'rust-1.13.2-loop2-10s-cache-never', a.id, 'old notes'].map((n) =>
      md.indexOf(n.replace(/_/g, '\\_')),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(md).toContain(`](runs/${a.id}/run.json)`);
    expect(md).toContain('](rust-1.13.2-loop2-10s-cache-never.html)');
    expect(md).toContain('](old%20notes.md)');
    expect(md).toMatch(/🔴 livelock/);
    expect(html).toContain(`href="runs/${a.id}/report.html"`);
    expect(html).not.toContain('<script');
    // Regenerating does not list the index itself.
    await writeReportsIndex(dir);
    expect((await scanReports(dir)).length).toBe(4);
  });

  it('loads a reports folder back as its runs', async () => {
    const records = labRunRecords().slice(0, 3);
    for (const r of records) {
      mkdirSync(join(dir, 'runs', r.id), { recursive: true });
      writeFileSync(join(dir, 'runs', r.id, 'run.json'), renderJson(r));
    }
    const loaded = await loadResultPath(dir);
    expect(loaded.map((l) => l.kind)).toEqual(['run', 'run', 'run']);
  });
});
