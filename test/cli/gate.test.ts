import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const LAB = 'fixtures/lab';
/** A real systemd boot whose unit loops forever (killed by timeout mid-loop). */
const LIVELOCK = `${LAB}/rust-1.13.2-systemd-k7.3-never-loop/virtiofsd.log.gz`;
/** Healthy captures (truth.json: healthy): raw run folders, analysed by the gate with a verdict. */
const HEALTHY = [
  `${LAB}/rust-1.13.2-loop2-4s-cache-metadata`,
  `${LAB}/rust-1.13.2-walk-cache-metadata`,
  `${LAB}/rust-1.13.2-loop2-10s-cache-metadata`,
];
let dir: string;
let baseline: string;
let livelockJson: string;

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-cli-gate-'));
  baseline = join(dir, 'baseline.json');
  const r = runCli(['gate', '--baseline', baseline, '--update-baseline', ...HEALTHY]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('baseline written');
  const a = runCli(['--json', LIVELOCK]);
  expect(a.code).toBe(0);
  livelockJson = join(dir, 'livelock.json');
  writeFileSync(livelockJson, a.stdout);
});

describe('vfs-analyze gate', () => {
  it('--update-baseline writes a valid baseline atomically', () => {
    const b = JSON.parse(readFileSync(baseline, 'utf8'));
    expect(b.schema).toBe('vfs-analyze.baseline');
    expect(b.samples).toHaveLength(3);
    expect(b.samples.map((s: { outcome: string }) => s.outcome)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('passes on the baseline against itself', () => {
    const r = runCli(['gate', '--baseline', baseline, ...HEALTHY]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^gate: PASS/);
    expect(r.stderr).toBe('');
  });

  it('fails (exit 1) on a livelock capture against the healthy baseline, printing the result first', () => {
    for (const current of [livelockJson, LIVELOCK]) {
      const r = runCli(['gate', '--baseline', baseline, current]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/^gate: REGRESSION/);
      expect(r.stdout).toMatch(/regression\s+livelock in 1 of 1 current sample/);
      expect(oneLine(r.stderr)).toMatch(/^vfs-analyze: gate: regression: livelock/);
    }
  });

  it('--json prints the result as one document', () => {
    const r = runCli(['gate', '--json', '--baseline', baseline, livelockJson]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.status).toBe('regression');
    expect(doc.pass).toBe(false);
    expect(doc.current[0].outcome).toBe('livelock');
  });

  it('too few samples pass with a note, unless --strict', () => {
    const few = HEALTHY.slice(0, 1);
    const r = runCli(['gate', '--baseline', baseline, ...few]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gate: INSUFFICIENT SAMPLES/);
    expect(r.stdout).toContain('note: too few samples');
    const strict = runCli(['gate', '--strict', '--baseline', baseline, ...few]);
    expect(strict.code).toBe(1);
    const lowered = runCli(['gate', '--min-samples', '1', '--baseline', baseline, ...few]);
    expect(lowered.code).toBe(0);
    expect(lowered.stdout).toMatch(/^gate: PASS/);
  });

  it('a missing or invalid baseline is a one-line error, exit 2', () => {
    const missing = runCli(['gate', '--baseline', join(dir, 'none.json'), livelockJson]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toMatch(/baseline not found/);
    const bad = join(dir, 'bad.json');
    for (const text of [
      '{"schema":"something-else"}',
      '{ not json',
      '{"schema":"vfs-analyze.baseline","schemaVersion":1,"samples":[{"outcome":"x"}]}',
    ]) {
      writeFileSync(bad, text);
      const r = runCli(['gate', '--baseline', bad, livelockJson]);
      expect(r.code, text).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/bad\.json: (not a vfs-analyze baseline|baseline is not valid JSON)/);
      expect(r.stdout).toBe('');
    }
  });

  it('bad options are usage errors (exit 2)', () => {
    expect(runCli(['gate', '--baseline', baseline]).code).toBe(2);
    expect(runCli(['gate', '--baseline', baseline, '--min-samples', '0', livelockJson]).code).toBe(2);
    expect(runCli(['gate', '--baseline', baseline, '--max-rate-increase', '-5', livelockJson]).code).toBe(2);
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });
});
