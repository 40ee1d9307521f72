import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { analysisDocument } from '../../src/report/json.js';
import { renderComparisonJUnit, renderJUnit } from '../../src/report/junit.js';
import { healthyInput, labComparison, livelockInput, XSS } from './fixtures.js';
import { parseXml, type XmlElement } from './xml.js';

const SUREFIRE_TIME = /^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$/;

/**
 * The structure the common JUnit schemas require: Jenkins junit-10.xsd (xunit plugin) and Ant's JUnit.xsd.
 * Returns a list of violations.
 */
function junitViolations(root: XmlElement): string[] {
  const v: string[] = [];
  const allowed = (el: XmlElement, names: string[]) => {
    for (const a of Object.keys(el.attrs)) if (!names.includes(a)) v.push(`<${el.name}> has attribute ${a}`);
  };
  const required = (el: XmlElement, names: string[]) => {
    for (const a of names) if (!(a in el.attrs)) v.push(`<${el.name}> lacks required attribute ${a}`);
  };
  if (root.name !== 'testsuites') v.push(`root is <${root.name}>`);
  allowed(root, ['name', 'time', 'tests', 'failures', 'errors']);
  if (root.attrs.time !== undefined && !SUREFIRE_TIME.test(root.attrs.time))
    v.push(`bad time ${root.attrs.time}`);
  if (root.text.trim() !== '') v.push('text in <testsuites>');
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const s of root.children) {
    if (s.name !== 'testsuite') {
      v.push(`<testsuites> contains <${s.name}>`);
      continue;
    }
    allowed(s, [
      'name',
      'tests',
      'failures',
      'errors',
      'group',
      'time',
      'skipped',
      'timestamp',
      'hostname',
      'id',
      'package',
      'file',
      'log',
      'url',
    ]);
    // junit-10 requires the first four; Ant's schema also timestamp, hostname, time, id, package.
    required(s, ['name', 'tests', 'failures', 'errors', 'timestamp', 'hostname', 'time', 'id', 'package']);
    if (!SUREFIRE_TIME.test(s.attrs.time ?? '')) v.push(`bad suite time ${s.attrs.time}`);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(s.attrs.timestamp ?? ''))
      v.push(`bad timestamp ${s.attrs.timestamp}`);
    // Ant order: properties, testcase*, system-out, system-err.
    const order = s.children.map((c) => c.name);
    const expectOrder = ['properties', ...order.filter((n) => n === 'testcase'), 'system-out', 'system-err'];
    if (order.join() !== expectOrder.join()) v.push(`suite children out of order: ${order.join()}`);
    const cases = s.children.filter((c) => c.name === 'testcase');
    let f = 0;
    let e = 0;
    let sk = 0;
    for (const p of s.children.find((c) => c.name === 'properties')?.children ?? []) {
      if (p.name !== 'property') v.push(`<properties> contains <${p.name}>`);
      allowed(p, ['name', 'value']);
      required(p, ['name', 'value']);
    }
    for (const c of cases) {
      allowed(c, ['name', 'time', 'classname', 'group']);
      required(c, ['name', 'classname', 'time']);
      if (!SUREFIRE_TIME.test(c.attrs.time ?? '')) v.push(`bad case time ${c.attrs.time}`);
      for (const k of c.children) {
        if (!['skipped', 'error', 'failure', 'system-out', 'system-err'].includes(k.name)) {
          v.push(`<testcase> contains <${k.name}>`);
        }
        if (k.name === 'failure' || k.name === 'error' || k.name === 'skipped')
          allowed(k, ['type', 'message']);
        if (k.name === 'failure') required(k, ['type', 'message']);
        if (k.name === 'error') required(k, ['type']);
        if (k.children.length > 0) v.push(`<${k.name}> has child elements`);
      }
      if (c.children.some((k) => k.name === 'failure')) f++;
      if (c.children.some((k) => k.name === 'error')) e++;
      if (c.children.some((k) => k.name === 'skipped')) sk++;
    }
    if (Number(s.attrs.tests) !== cases.length)
      v.push(`suite tests=${s.attrs.tests} but ${cases.length} testcases`);
    if (Number(s.attrs.failures) !== f) v.push(`suite failures=${s.attrs.failures} but ${f}`);
    if (Number(s.attrs.errors) !== e) v.push(`suite errors=${s.attrs.errors} but ${e}`);
    if (Number(s.attrs.skipped ?? 0) !== sk) v.push(`suite skipped=${s.attrs.skipped} but ${sk}`);
    tests += cases.length;
    failures += f;
    errors += e;
  }
  if (Number(root.attrs.tests) !== tests) v.push(`testsuites tests=${root.attrs.tests} but ${tests}`);
  if (Number(root.attrs.failures) !== failures)
    v.push(`testsuites failures=${root.attrs.failures} but ${failures}`);
  if (Number(root.attrs.errors) !== errors) v.push(`testsuites errors=${root.attrs.errors} but ${errors}`);
  return v;
}

function find(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => find(c, name))];
}

/** With JUNIT_XSD pointing at a schema (e.g. Jenkins' junit-10.xsd) and xmllint installed, validate with it too. */
function xmllintValidate(xml: string): void {
  const xsd = process.env.JUNIT_XSD;
  if (!xsd || !existsSync(xsd) || !existsSync('/usr/bin/xmllint')) return;
  const dir = mkdtempSync(join(tmpdir(), 'vfs-junit-'));
  try {
    writeFileSync(join(dir, 'junit.xml'), xml);
    execFileSync('/usr/bin/xmllint', ['--noout', '--schema', xsd, join(dir, 'junit.xml')], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('renderJUnit', () => {
  const livelock = livelockInput();
  const healthy = healthyInput('rust-1.13.2-walk-cache-metadata');
  const doc = analysisDocument(
    '0.1.0',
    [livelock, healthy],
    [{ file: `missing ${XSS}.log`, message: `missing ${XSS}.log: no such file`, exitCode: 2 }],
  );
  const xml = renderJUnit(doc);

  test('is well-formed and has the structure of the common JUnit schemas', () => {
    const root = parseXml(xml);
    expect(junitViolations(root)).toEqual([]);
    xmllintValidate(xml);
  });

  test('a livelock is a failure with the title and an evidence excerpt; unreadable input is an error', () => {
    const root = parseXml(xml);
    const cases = find(root, 'testcase');
    expect(cases).toHaveLength(3);
    const failure = find(cases[0], 'failure')[0];
    expect(failure.attrs.type).toBe('livelock');
    expect(failure.attrs.message).toBe(livelock.verdict!.title);
    expect(failure.text).toContain('culprit: pid 1');
    expect(failure.text).toContain('loop: Lookup(1) -> Getattr(new)');
    expect(failure.text).toMatch(/last 12 requests/);
    expect(find(cases[1], 'failure')).toHaveLength(0);
    expect(find(cases[1], 'error')).toHaveLength(0);
    const error = find(cases[2], 'error')[0];
    expect(error.attrs.type).toBe('input');
    // Escaped on the way in, identical on the way out.
    expect(error.attrs.message).toBe(`missing ${XSS}.log: no such file`);
    expect(root.attrs).toMatchObject({ tests: '3', failures: '1', errors: '1' });
  });

  test('properties carry the key figures', () => {
    const suite = find(parseXml(xml), 'testsuite')[0];
    const props = Object.fromEntries(find(suite, 'property').map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({
      requests: '83602',
      durationSec: '10',
      unanswered: '0',
      verdict: 'livelock',
      verdictTitle: livelock.verdict!.title,
      peakRequestsPerSec: '9357',
    });
    // pid names with markup survive as text in the evidence.
    expect(find(suite, 'failure')[0].text).toContain(`1 (sh ${XSS})`);
  });

  test('control characters and odd text cannot break the document', () => {
    const nasty = healthyInput('rust-1.13.2-walk-cache-metadata');
    nasty.file = 'a\u0000b\u001bc]]>&"\'\ttab\nnewline\uD800.log';
    nasty.verdict = { ...nasty.verdict!, kind: 'deadlock', title: 'dead]]><lock & "x"\u0007' };
    nasty.warnings = ['--> <!-- ]]>'];
    const out = renderJUnit(analysisDocument('0', [nasty], []));
    const root = parseXml(out);
    expect(junitViolations(root)).toEqual([]);
    const f = find(root, 'failure')[0];
    expect(f.attrs.type).toBe('deadlock');
    expect(f.attrs.message).toBe('dead]]><lock & "x"\uFFFD');
    expect(find(root, 'testcase')[0].attrs.name).toBe('a\uFFFDb\uFFFDc]]>&"\'\ttab\nnewline\uFFFD.log');
    xmllintValidate(out);
  });

  test('inconclusive is skipped, no verdict passes', () => {
    const a = healthyInput('rust-1.13.2-walk-cache-metadata');
    a.verdict = { ...a.verdict!, kind: 'inconclusive' };
    const b = healthyInput('rust-1.13.2-walk-cache-metadata');
    b.verdict = undefined;
    const root = parseXml(renderJUnit(analysisDocument('0', [a, b], [])));
    expect(junitViolations(root)).toEqual([]);
    const cases = find(root, 'testcase');
    expect(find(cases[0], 'skipped')).toHaveLength(1);
    expect(cases[1].children.map((c) => c.name)).toEqual(['system-out']);
  });
});

describe('renderComparisonJUnit', () => {
  test('one testcase per run, livelock runs fail, launcher errors are errors', () => {
    const cmp = labComparison();
    const xml = renderComparisonJUnit(cmp);
    const root = parseXml(xml);
    expect(junitViolations(root)).toEqual([]);
    xmllintValidate(xml);
    const suites = find(root, 'testsuite');
    expect(suites).toHaveLength(3);
    expect(find(suites[0], 'testcase')).toHaveLength(3);
    expect(find(suites[0], 'failure').map((f) => f.attrs.type)).toEqual(['livelock', 'livelock']);
    const err = find(suites[1], 'error');
    expect(err).toHaveLength(1);
    expect(err[0].attrs.type).toBe('infrastructure');
    expect(err[0].attrs.message).toContain('<script>');
    const props = Object.fromEntries(find(suites[0], 'property').map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({ runs: '3', livelockRuns: '2', livelockRate: '0.667' });
  });
});
