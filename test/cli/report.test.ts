import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderJson } from '../../src/report/json.js';
import { labRunRecords } from '../report/fixtures.js';
import { runCli } from '../support/cli.js';

/** A real systemd boot whose unit loops forever (killed by timeout mid-loop). */
const LOOP = 'fixtures/lab/rust-1.13.2-systemd-k7.3-never-loop/virtiofsd.log.gz';
/** No step summary unless a test sets one (CI runners set GITHUB_STEP_SUMMARY). */
const ENV = { GITHUB_STEP_SUMMARY: '' };
let dir: string;
let analysis: string;
let title: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-cli-report-'));
  const r = runCli(['--json', LOOP]);
  expect(r.code).toBe(0);
  analysis = join(dir, 'analysis.json');
  writeFileSync(analysis, r.stdout);
  title = JSON.parse(r.stdout).inputs[0].verdict.title;
  expect(title).toMatch(/^livelock: pid 169 /);
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

describe('vfs-analyze report', () => {
  it('re-renders an analysis JSON as HTML into a file (-o)', () => {
    const out = join(dir, 'r.html');
    const r = runCli(['report', analysis, '--format', 'html', '-o', out], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).toContain(title.slice(0, 40).replace(/>/g, '&gt;'));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('Markdown goes to stdout, verdict title first', () => {
    const r = runCli(['report', analysis, '--format', 'md'], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain('LIVELOCK');
    expect(Buffer.byteLength(r.stdout)).toBeLessThan(1_000_000);
  });

  it('Markdown is appended to $GITHUB_STEP_SUMMARY when it is set', () => {
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '## before\n');
    const r = runCli(['report', analysis, '--format', 'markdown'], { env: { GITHUB_STEP_SUMMARY: summary } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('GITHUB_STEP_SUMMARY');
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('## before\n')).toBe(true);
    expect(text).toContain('LIVELOCK');
  });

  it('JUnit marks the livelock as a failure', () => {
    const r = runCli(['report', analysis, '--format', 'junit'], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml/);
    expect(r.stdout).toContain('<failure type="livelock"');
  });

  it('JSON round-trips the document', () => {
    const r = runCli(['report', analysis, '--format', 'json'], { env: ENV });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(analysis, 'utf8')));
  });

  it('--report writes several formats to the reports folder', () => {
    const rd = join(dir, 'rep');
    const r = runCli(['report', analysis, '--reports-dir', rd, '--report', 'html', '--report', 'junit'], {
      env: ENV,
    });
    expect(r.code).toBe(0);
    expect(readdirSync(rd).sort()).toEqual([
      'rust-1.13.2-systemd-k7.3-never-loop.html',
      'rust-1.13.2-systemd-k7.3-never-loop.junit.xml',
    ]);
  });

  it('a folder of runs renders as a comparison', () => {
    const runs = join(dir, 'reports', 'runs');
    for (const rec of labRunRecords()) {
      mkdirSync(join(runs, rec.id), { recursive: true });
      writeFileSync(join(runs, rec.id, 'run.json'), renderJson(rec));
    }
    const md = runCli(['report', runs, '--format', 'md'], { env: ENV });
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('| variant |');
    const junit = runCli(['report', runs, '--format', 'junit'], { env: ENV });
    expect(junit.code).toBe(0);
    expect(junit.stdout).toContain('<failure type="livelock"');
    expect(junit.stdout).toContain('<error type="infrastructure"');
    // One run folder (no saved analysis) renders as a one-run comparison.
    const one = runCli(['report', join(runs, labRunRecords()[0].id), '--format', 'html'], { env: ENV });
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('<!DOCTYPE html>');
  });

  it('--index regenerates index.html and index.md, newest first', () => {
    const reports = join(dir, 'reports');
    writeFileSync(join(reports, 'incident.json'), readFileSync(analysis));
    const r = runCli(['report', '--index', reports], { env: ENV });
    expect(r.code).toBe(0);
    const md = readFileSync(join(reports, 'index.md'), 'utf8');
    expect(md).toContain('](incident.json)');
    expect(md).toContain('](runs/');
    expect(md).toContain('livelock');
    expect(readFileSync(join(reports, 'index.html'), 'utf8')).toContain('<table>');
  });

  it('usage errors exit 2 with one line', () => {
    const bad = runCli(['report', analysis, '--format', 'pdf'], { env: ENV });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/valid: html, md, junit, json/);
    const log = runCli(['report', LOOP, '--format', 'html'], { env: ENV });
    expect(log.code).toBe(2);
    expect(oneLine(log.stderr)).toMatch(/a virtiofsd log, not a saved result/);
    const missing = runCli(['report', join(dir, 'nope.json'), '--format', 'html'], { env: ENV });
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toMatch(/no such file/);
    const none = runCli(['report', analysis], { env: ENV });
    expect(none.code).toBe(2);
  });
});
