import { describe, expect, it } from 'vitest';
import { COMPARISON_COLUMNS, compareRuns, comparisonCells } from '../../src/compare/comparison.js';
import {
  type OutcomeKind,
  parseRunRecord,
  type RunRecord,
  RunRecordError,
} from '../../src/launch/run-record.js';
import { parseCompare, type Variant } from '../../src/launch/variants.js';

const [never, metadata] = parseCompare(['cache=never,metadata']);
let seq = 0;
function rec(
  variant: Variant,
  kind: OutcomeKind,
  requests: number,
  tto: number | null,
  pid?: number,
): RunRecord {
  seq++;
  const dur = tto ?? 60;
  return {
    schema: 'vfs-analyze.run',
    schemaVersion: 1,
    id: `r${seq}`,
    variant,
    command: ['bcvk', 'ephemeral', 'run', 'img'],
    versions: { tool: '0.1.0', bcvk: 'bcvk 0.19.0', virtiofsd: '1.13.2' },
    host: { detectVirt: 'kvm', nested: true },
    startedAt: '2026-11-27T03:00:00Z',
    stoppedAt: '2026-11-27T03:01:00Z',
    stopReason: kind === 'healthy' ? 'goal' : kind === 'livelock' ? 'livelock' : 'error',
    outcome: { kind },
    timeToOutcomeSec: tto,
    totals: { requests, durationSec: dur, ratePerSec: requests / dur },
    topLoopingPid:
      pid === undefined ? null : { pid, name: 'systemd-journal', requests: requests / 2, share: 0.5 },
    analysisPath: 'analysis.json',
  };
}

describe('compareRuns', () => {
  it('the #90 table with 2 runs per side: counts, reduction, rate, and "too few runs"', () => {
    const runs = [
      rec(never, 'livelock', 184758, 12, 763),
      rec(metadata, 'healthy', 13821, 13),
      rec(never, 'livelock', 170000, 10, 763),
      rec(metadata, 'healthy', 14000, 14),
    ];
    const c = compareRuns(runs);
    expect(c.reference).toBe('cache=never');
    const [a, b] = c.variants;
    expect(a).toMatchObject({
      name: 'cache=never',
      isReference: true,
      runs: 2,
      validRuns: 2,
      vsReference: null,
    });
    expect(a.outcomes.livelock).toBe(2);
    expect(a.healthy).toMatchObject({ k: 0, n: 2, rate: 0 });
    expect(a.healthy.ci?.hi).toBeCloseTo(0.6576, 4); // Wilson 0/2
    expect(a.requests.total).toBe(354758);
    expect(a.requests.median).toBe(177379);
    expect(a.requests.ci).toBeNull();
    expect(a.ratePerSec).toBeCloseTo(354758 / 22, 6);
    expect(a.topLoopingPid).toMatchObject({ pid: 763, runs: 2, name: 'systemd-journal' });
    expect(a.timeToBootSec.n).toBe(0);
    expect(b.reductionVsReference).toBeCloseTo(1 - 13910.5 / 177379, 10);
    expect(b.timeToBootSec.median).toBe(13.5);
    expect(b.vsReference?.healthy.claim.tooFew).toBe(true);
    expect(b.vsReference?.healthy.p).toBeCloseTo(1 / 3, 12); // Fisher [2,0;0,2]
    expect(b.vsReference?.requests.claim.mark).toBe('~');
    expect(c.notes).toContain(
      'cache=metadata vs cache=never: too few runs: 2 per side, need ≥ 4 to claim a difference',
    );
    expect(c.notes.some((n) => /fewer than 6 runs have no 95% confidence interval/.test(n))).toBe(true);
  });

  it('5 vs 5 separated: Fisher p = 0.0079, Mann–Whitney p = 0.0079, significant', () => {
    const runs: RunRecord[] = [];
    for (let i = 0; i < 5; i++) {
      runs.push(rec(never, 'livelock', 100000 + i * 1000, 15 + i));
      runs.push(rec(metadata, 'healthy', 5000 + i * 100, 20 + i));
    }
    const c = compareRuns(runs);
    const b = c.variants[1];
    expect(b.vsReference?.healthy.p).toBeCloseTo(0.007936507936507938, 12);
    expect(b.vsReference?.healthy.claim.significant).toBe(true);
    expect(b.vsReference?.requests.mw?.p).toBeCloseTo(0.007936507936507938, 12); // exact 5+5, U = 0
    expect(b.vsReference?.requests.claim.text).toMatch(/^−94\.9% requests \(p=0\.008 n=5\+5\)$/);
    expect(c.notes[0]).toMatch(/outcomes differ — healthy in 5\/5 vs 0\/5 \(Fisher's exact test p=0\.008\)/);
    // time to boot: the reference has no healthy runs → no test
    expect(b.vsReference?.timeToBoot.mw).toBeNull();
  });

  it('leaves error / interrupted runs out of rates and tests, and says so', () => {
    const runs = [
      rec(never, 'livelock', 1000, 10),
      rec(never, 'error', 0, null),
      rec(never, 'interrupted', 50, null),
      rec(metadata, 'healthy', 100, 5),
    ];
    const c = compareRuns(runs);
    expect(c.variants[0]).toMatchObject({ runs: 3, validRuns: 1 });
    expect(c.variants[0].healthy.n).toBe(1);
    expect(c.variants[0].requests.total).toBe(1000);
    expect(c.notes[0]).toBe(
      'cache=never: 2 runs (1 error, 1 interrupted) left out of rates and tests: they say nothing about the variant',
    );
    expect(c.notes).toContain(
      'cache=metadata vs cache=never: too few runs: 1 per side, need ≥ 4 to claim a difference',
    );
  });

  it('medians get a CI from 6 runs on; a chosen reference goes first', () => {
    const runs: RunRecord[] = [];
    for (let i = 1; i <= 6; i++) runs.push(rec(never, 'healthy', i * 10, i));
    for (let i = 1; i <= 6; i++) runs.push(rec(metadata, 'healthy', i * 10 + 1, i + 0.5));
    const c = compareRuns(runs, { reference: 'cache=metadata' });
    expect(c.variants.map((v) => v.name)).toEqual(['cache=metadata', 'cache=never']);
    expect(c.variants[0].requests.ci).toMatchObject({ lo: 11, hi: 61 });
    expect(c.variants[1].vsReference?.requests.claim.significant).toBe(false);
    expect(c.notes.some((n) => /request counts not shown to differ/.test(n))).toBe(true);
    expect(() => compareRuns(runs, { reference: 'nope' })).toThrow(/has no runs/);
  });

  it('no runs', () => {
    expect(compareRuns([]).notes).toEqual(['no runs']);
  });

  it('table cells', () => {
    const c = compareRuns([rec(never, 'livelock', 184758, 12, 763), rec(metadata, 'healthy', 13821, 13)]);
    const cells = comparisonCells(c);
    expect(cells[0]).toHaveLength(COMPARISON_COLUMNS.length);
    expect(cells[0][0]).toBe('cache=never (ref)');
    expect(cells[0][8]).toBe('0% [0, 79]');
    expect(cells[1][10]).toBe('13,821');
    expect(cells[1][14]).toBe('92.5%');
    expect(cells[0][17]).toBe('763 (systemd-journal) ×1');
    expect(cells[1][9]).toMatch(/too few runs: 1\+1/);
  });
});

describe('parseRunRecord', () => {
  it('accepts a record and its JSON round trip', () => {
    const r = rec(never, 'livelock', 10, 1, 5);
    expect(parseRunRecord(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });
  it.each([
    [{}, /schema/],
    [{ ...rec(never, 'healthy', 1, 1), stopReason: 'bored' }, /stopReason/],
    [{ ...rec(never, 'healthy', 1, 1), outcome: { kind: 'meh' } }, /outcome.kind/],
    [{ ...rec(never, 'healthy', 1, 1), totals: { requests: 'x' } }, /totals/],
    [{ ...rec(never, 'healthy', 1, 1), startedAt: 'yesterday' }, /startedAt/],
    [
      { ...rec(never, 'healthy', 1, 1), variant: { name: 'x', mitigations: [{ kind: 'nope' }] } },
      /mitigations/,
    ],
  ])('rejects %#', (v, msg) => {
    expect(() => parseRunRecord(v)).toThrow(RunRecordError);
    expect(() => parseRunRecord(v)).toThrow(msg);
  });
});
