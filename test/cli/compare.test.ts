import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderComparison, resolveReference } from '../../src/cli/compare.js';
import { compareRuns } from '../../src/compare/comparison.js';
import { runCli } from '../launch/fakes-support.js';
import { fakeRecord } from '../launch/record-fixture.js';

function reportsDir() {
  const dir = mkdtempSync(join(tmpdir(), 'vfs-cmp-'));
  const recs = [
    fakeRecord('n1', 'cache=never', 'livelock', 180_000, 0),
    fakeRecord('m1', 'cache=metadata', 'healthy', 13_000, 1),
    fakeRecord('n2', 'cache=never', 'livelock', 190_000, 2),
    fakeRecord('m2', 'cache=metadata', 'healthy', 14_000, 3),
  ];
  for (const r of recs) {
    mkdirSync(join(dir, 'runs', r.id), { recursive: true });
    writeFileSync(join(dir, 'runs', r.id, 'record.json'), JSON.stringify(r));
  }
  return { dir, recs };
}

describe('vfs-analyze compare', () => {
  it('recomputes the table from saved records (text and JSON)', async () => {
    const { dir, recs } = reportsDir();
    const r = await runCli(['compare', dir], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(renderComparison(compareRuns(recs)));
    expect(r.stdout).toMatch(/cache=never \(ref\)/);
    expect(r.stdout).toMatch(/92\.7%/); // reduction of the median: 1 - 13,500 / 185,000
    const j = await runCli(['compare', join(dir, 'runs'), '--json'], {});
    const c = JSON.parse(j.stdout);
    expect(c.schema).toBe('vfs-analyze.comparison');
    expect(c.reference).toBe('cache=never');
    expect(c.variants.map((v: { name: string }) => v.name)).toEqual(['cache=never', 'cache=metadata']);
  });

  it('--reference takes a variant or a saved run', async () => {
    const { dir } = reportsDir();
    const byVariant = JSON.parse(
      (await runCli(['compare', dir, '--json', '--reference', 'cache=metadata'], {})).stdout,
    );
    expect(byVariant.reference).toBe('cache=metadata');
    const byRun = JSON.parse(
      (await runCli(['compare', dir, '--json', '--reference', join(dir, 'runs', 'm2')], {})).stdout,
    );
    expect(byRun.reference).toBe('cache=metadata');
    const bad = await runCli(['compare', dir, '--reference', 'cache=always'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a variant/);
  });

  it('--report writes the comparison as HTML, Markdown and JUnit next to the table', async () => {
    const { dir } = reportsDir();
    const out = mkdtempSync(join(tmpdir(), 'vfs-cmp-rep-'));
    const r = await runCli(
      [
        'compare',
        dir,
        '--report',
        `html=${join(out, 'c.html')}`,
        '--report',
        `md=${join(out, 'c.md')}`,
        '--report',
        `junit=${join(out, 'c.xml')}`,
      ],
      {},
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'c.html'), 'utf8')).toContain('cache=metadata');
    expect(readFileSync(join(out, 'c.md'), 'utf8')).toContain('cache=never');
    expect(readFileSync(join(out, 'c.xml'), 'utf8')).toMatch(/<failure type="livelock"/);
    expect((await runCli(['compare', dir, '--report', 'pdf'], {})).code).toBe(2);
  });

  it('no records → exit 3; a missing path → exit 2', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vfs-cmp-'));
    expect((await runCli(['compare', empty], {})).code).toBe(3);
    expect((await runCli(['compare', join(empty, 'missing')], {})).code).toBe(2);
  });

  it('resolveReference is pure over the loaded records', () => {
    const recs = [{ record: fakeRecord('x1', 'cache=never', 'livelock', 1), path: '/r/runs/x1/record.json' }];
    expect(resolveReference(recs, undefined)).toBeUndefined();
    expect(resolveReference(recs, 'x1')).toBe('cache=never');
    expect(resolveReference(recs, '/r/runs/x1/')).toBe('cache=never');
  });
});
