import { describe, expect, test } from 'vitest';
import { compareRuns } from '../../src/compare/comparison.js';
import { baselineFromSamples, runGate, sampleFromRunRecord } from '../../src/gate/gate.js';
import { escHtml } from '../../src/report/escape.js';
import { renderComparisonHtml } from '../../src/report/html.js';
import { renderRunsJUnit } from '../../src/report/junit.js';
import { comparisonResultFromRuns } from '../../src/report/runs.js';
import { labRunRecords, XSS } from './fixtures.js';
import { parseXml } from './xml.js';

describe('run records and the comparison of src/compare/', () => {
  const runs = labRunRecords();
  const cmp = compareRuns(runs);

  test('comparison HTML: healthy-rate chart with intervals, one row per variant, per-run table', () => {
    const html = renderComparisonHtml(cmp, { runs });
    expect(html).not.toMatch(/<script/i);
    expect(html.match(/<rect class="bar"/g)).toHaveLength(2);
    expect(html.match(/<path class="interval"/g)).toHaveLength(2);
    expect(html).toContain('cache=never (reference)');
    expect(html).toContain('healthy rate per variant');
    expect(html).toContain(`qemu failed: ${escHtml(XSS)}`);
    expect(html).toContain(`(sh ${escHtml(XSS)})`);
  });

  test('adapter groups by variant and keeps errors out of the rate', () => {
    const c = comparisonResultFromRuns(runs);
    expect(c.variants.map((v) => [v.name, v.runs.length])).toEqual([
      ['cache=never', 4],
      ['cache=metadata', 5],
    ]);
    expect(c.variants[1].runs[4]).toMatchObject({
      outcome: 'error',
      error: `error, exit 1: qemu failed: ${XSS}`,
    });
  });

  test('JUnit of run records: livelocks fail, the launcher error is an <error>', () => {
    const root = parseXml(renderRunsJUnit(runs));
    expect(root.attrs).toMatchObject({ tests: '9', failures: '4', errors: '1' });
  });

  test('gate over run records: metadata baseline vs never runs is a regression', () => {
    const base = baselineFromSamples(
      runs.filter((r) => r.variant.name === 'cache=metadata').map(sampleFromRunRecord),
      { version: '0', createdAt: '' },
    );
    const cur = runs.filter((r) => r.variant.name === 'cache=never').map(sampleFromRunRecord);
    const r = runGate(base, cur);
    expect(r.status).toBe('regression');
    expect(r.checks.find((c) => c.name === 'outcome')!.reason).toBe(
      'livelock in 4 of 4 current sample(s), none in 4 baseline sample(s)',
    );
    expect(r.checks.find((c) => c.name === 'requests')!.status).toBe('regression');
    expect(runGate(base, base.samples).status).toBe('pass');
  });
});
