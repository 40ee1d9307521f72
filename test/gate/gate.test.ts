import { describe, expect, test } from 'vitest';
import {
  BASELINE_SCHEMA,
  BaselineFormatError,
  baselineFromAnalyses,
  baselineFromSamples,
  formatGateResult,
  type GateSample,
  parseBaseline,
  runGate,
  sampleFromInput,
} from '../../src/gate/gate.js';
import type { ReportInput } from '../../src/report/model.js';
import { healthyInput, livelockInput } from '../report/fixtures.js';

const meta = { version: '0.1.0', createdAt: '2026-11-27T00:00:00.000Z' };

function sample(id: string, over: Partial<GateSample> = {}): GateSample {
  return { id, outcome: 'healthy', requests: 1000, ratePerSec: 100, bootSec: 20, ...over };
}

const healthyDirs = [
  'rust-1.13.2-walk-cache-metadata',
  'rust-1.13.2-loop2-4s-cache-metadata',
  'rust-1.13.2-unpack-cache-never',
];

describe('gate on real captures', () => {
  const healthy: ReportInput[] = healthyDirs.map((d) => healthyInput(d));

  test('a baseline passes against itself', () => {
    const baseline = baselineFromAnalyses(healthy, meta);
    const r = runGate(baseline, healthy.map(sampleFromInput));
    expect(r.status).toBe('pass');
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([
      ['outcome', 'pass'],
      ['requests', 'pass'],
      ['rate', 'pass'],
      ['boot', 'skipped'],
    ]);
  });

  test('a livelock capture fails against a healthy baseline', () => {
    const baseline = baselineFromAnalyses(healthy, meta);
    const r = runGate(baseline, [sampleFromInput(livelockInput())]);
    expect(r.status).toBe('regression');
    const outcome = r.checks.find((c) => c.name === 'outcome')!;
    expect(outcome.status).toBe('regression');
    expect(outcome.reason).toBe('livelock in 1 of 1 current sample(s), none in 3 baseline sample(s)');
    expect(r.reasons).toContain(outcome.reason);
    // One current sample is below the default minimum for the request/rate checks: said, not called.
    const req = r.checks.find((c) => c.name === 'requests')!;
    expect(req.status).toBe('insufficient');
    expect(req.reason).toMatch(/fewer than the minimum 3 \(it would exceed the threshold\)/);
    expect(formatGateResult(r)).toMatch(/^gate: REGRESSION \(1 current vs 3 baseline sample\(s\)\)\n/);
  });

  test('the baseline document round-trips through JSON and is versioned', () => {
    const b = baselineFromAnalyses(healthy, { ...meta, thresholds: { minSamples: 1 } });
    expect(b.schema).toBe(BASELINE_SCHEMA);
    expect(b.schemaVersion).toBe(1);
    expect(parseBaseline(JSON.parse(JSON.stringify(b)))).toEqual(b);
  });
});

describe('runGate thresholds and sample minimums', () => {
  const base = baselineFromSamples(
    [sample('a'), sample('b', { requests: 1100 }), sample('c', { requests: 900 })],
    meta,
  );

  test('request count above the percentage threshold is a regression, within it a pass', () => {
    const cur = [
      sample('x', { requests: 1600 }),
      sample('y', { requests: 1600 }),
      sample('z', { requests: 1600 }),
    ];
    const r = runGate(base, cur);
    expect(r.status).toBe('regression');
    const c = r.checks.find((k) => k.name === 'requests')!;
    expect(c).toMatchObject({ status: 'regression', baseline: 1000, current: 1600, changePct: 60 });
    expect(runGate(base, cur, { requestsPct: 70 }).status).toBe('pass');
  });

  test('rate and boot time', () => {
    const cur = [1, 2, 3].map((i) => sample(`r${i}`, { ratePerSec: 200, bootSec: 30 }));
    const r = runGate(base, cur);
    expect(r.checks.find((c) => c.name === 'rate')!.status).toBe('regression');
    expect(r.checks.find((c) => c.name === 'boot')!.status).toBe('regression');
    // +1 s on a 2 s boot is +50 % but under the absolute floor of 2 s.
    const quick = baselineFromSamples(
      [1, 2, 3].map((i) => sample(`q${i}`, { bootSec: 2 })),
      meta,
    );
    const slow = [1, 2, 3].map((i) => sample(`s${i}`, { bootSec: 3 }));
    expect(runGate(quick, slow).checks.find((c) => c.name === 'boot')!.status).toBe('pass');
    // Boot never reached / unknown: skipped, not a pass or regression.
    const unknown = [1, 2, 3].map((i) => sample(`u${i}`, { bootSec: null }));
    expect(runGate(base, unknown).checks.find((c) => c.name === 'boot')).toMatchObject({ status: 'skipped' });
  });

  test('refuses to call a regression on too few samples, and says so', () => {
    const cur = [sample('x', { requests: 5000 })];
    const r = runGate(base, cur);
    expect(r.status).toBe('insufficient');
    expect(r.reasons.join('\n')).toMatch(
      /requests median 5000 vs baseline 1000 \(\+400%\): not judged, 3 baseline and 1 current sample\(s\), fewer than the minimum 3/,
    );
    expect(runGate(base, cur, { minSamples: 1 }).status).toBe('regression');
    // Outcome minimum too.
    const hung = [sample('h', { outcome: 'livelock' })];
    const strict = runGate(base, hung, { minOutcomeSamples: 2, minSamples: 1 });
    expect(strict.checks[0]).toMatchObject({ name: 'outcome', status: 'insufficient' });
    expect(strict.status).toBe('insufficient');
  });

  test('hang rates: some livelocks in the baseline need a clearly higher current rate', () => {
    const flaky = baselineFromSamples(
      Array.from({ length: 10 }, (_, i) => sample(`b${i}`, { outcome: i < 1 ? 'livelock' : 'healthy' })),
      meta,
    );
    const oneOfTen = Array.from({ length: 10 }, (_, i) =>
      sample(`c${i}`, { outcome: i < 2 ? 'livelock' : 'healthy' }),
    );
    expect(runGate(flaky, oneOfTen).checks[0].status).toBe('pass');
    const tenOfTen = Array.from({ length: 10 }, (_, i) => sample(`d${i}`, { outcome: 'livelock' }));
    expect(runGate(flaky, tenOfTen).checks[0]).toMatchObject({ status: 'regression' });
    // A deadlock where the baseline had none is a regression even though it had livelocks.
    const dead = [...oneOfTen.slice(1), sample('dd', { outcome: 'deadlock' })];
    expect(runGate(flaky, dead).checks[0].reason).toMatch(/^deadlock in 1 of 10/);
  });

  test('no verdicts: outcome skipped; nothing to compare: insufficient; launcher errors are not samples', () => {
    const noVerdict = [1, 2, 3].map((i) => sample(`n${i}`, { outcome: null }));
    expect(runGate(base, noVerdict).checks[0]).toMatchObject({ status: 'skipped' });
    expect(runGate(base, noVerdict).status).toBe('pass');
    expect(runGate(base, []).status).toBe('insufficient');
    const errs = [1, 2, 3].map((i) => sample(`e${i}`, { outcome: 'error', requests: 0, ratePerSec: 0 }));
    const r = runGate(base, errs);
    expect(r.checks.find((c) => c.name === 'requests')!.status).toBe('skipped');
  });

  test('thresholds stored in the baseline apply unless overridden', () => {
    const b = baselineFromSamples(base.samples, { ...meta, thresholds: { requestsPct: 10 } });
    const cur = [1, 2, 3].map((i) => sample(`t${i}`, { requests: 1200 }));
    expect(runGate(b, cur).status).toBe('regression');
    expect(runGate(b, cur, { requestsPct: 25 }).status).toBe('pass');
  });
});

describe('parseBaseline', () => {
  test('rejects what is not a baseline with a precise message', () => {
    expect(() => parseBaseline([])).toThrow(BaselineFormatError);
    expect(() => parseBaseline({ schema: 'vfs-analyze.analysis', schemaVersion: 1 })).toThrow(
      /schema is "vfs-analyze.analysis", expected "vfs-analyze.baseline"/,
    );
    expect(() => parseBaseline({ schema: BASELINE_SCHEMA, schemaVersion: 2, samples: [] })).toThrow(
      /unsupported schemaVersion 2/,
    );
    expect(() =>
      parseBaseline({
        schema: BASELINE_SCHEMA,
        schemaVersion: 1,
        samples: [{ outcome: 'ok', requests: 1, ratePerSec: 1 }],
      }),
    ).toThrow(/samples\[0\]\.outcome "ok"/);
    expect(() =>
      parseBaseline({
        schema: BASELINE_SCHEMA,
        schemaVersion: 1,
        samples: [{ outcome: null, requests: 'x', ratePerSec: 1 }],
      }),
    ).toThrow(/samples\[0\]\.requests is not a number/);
    expect(() =>
      parseBaseline({ schema: BASELINE_SCHEMA, schemaVersion: 1, samples: [], thresholds: { ratePct: -1 } }),
    ).toThrow(/thresholds\.ratePct/);
  });
});
