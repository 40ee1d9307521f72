/**
 * JUnit XML for CI. Shape valid against both common schemas: Jenkins' junit-10.xsd (xunit plugin) and Ant's
 * JUnit.xsd (XMLJUnitResultFormatter): `<testsuites>` holding one `<testsuite>` per analysed input (or per variant of
 * a comparison) with `<properties>` (the key figures), its `<testcase>`(s), `<system-out>` and `<system-err>`.
 *
 * - livelock / deadlock / stall → `<failure type="KIND" message="TITLE">` with an evidence excerpt;
 * - an input that could not be read, a binary input, a launcher/infrastructure error → `<error>`;
 * - an inconclusive verdict → `<skipped>`; busy / healthy / no verdict → pass.
 */
import type { RunRecord } from '../launch/run-record.js';
import type { Verdict } from '../verdict/types.js';
import { escXml, escXmlText } from './escape.js';
import { clip, int, pct, rate, utc } from './format.js';
import {
  bootSeconds,
  type ComparisonResult,
  culpritLabel,
  inferredUnitText,
  isProblem,
  pidLabel,
  type ReportDocument,
  type ReportInput,
  summarizeVariant,
  waitingText,
} from './model.js';
import { comparisonResultFromRuns } from './runs.js';
import { verdictHeadline } from './svg.js';

export interface JUnitOptions {
  /** `name` of `<testsuites>` and prefix of suite names (default `vfs-analyze`). */
  name?: string;
  /** `hostname` attribute (required by Ant's schema; default `localhost`). */
  hostname?: string;
  /** Recent requests quoted in a failure's evidence excerpt (default 12). */
  evidenceRequests?: number;
}

type Outcome =
  | { kind: 'pass' }
  | { kind: 'failure'; type: string; message: string; text: string }
  | { kind: 'error'; type: string; message: string; text: string }
  | { kind: 'skipped'; message: string };

interface Case {
  name: string;
  classname: string;
  time: number;
  outcome: Outcome;
  out?: string;
}

interface Suite {
  name: string;
  id: number;
  pkg: string;
  timestamp: string;
  time: number;
  properties: [string, string | number][];
  cases: Case[];
}

/** Seconds as the SUREFIRE_TIME pattern wants them: digits, a dot, digits; never negative or NaN. */
function secs(s: number): string {
  return (Number.isFinite(s) && s > 0 ? s : 0).toFixed(3);
}

/** xs:dateTime without a zone (Ant's ISO8601_DATETIME_PATTERN). */
function stamp(ms: number | null): string {
  const v = ms !== null && Number.isFinite(ms) ? ms : 0;
  return new Date(v).toISOString().slice(0, 19);
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${escXml(v)}"`)
    .join('');
}

function renderSuites(name: string, suites: Suite[], hostname: string): string {
  const count = (k: Outcome['kind']) =>
    suites.reduce((a, s) => a + s.cases.filter((c) => c.outcome.kind === k).length, 0);
  const tests = suites.reduce((a, s) => a + s.cases.length, 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attrs({ name, tests, failures: count('failure'), errors: count('error'), time: secs(suites.reduce((a, s) => a + s.time, 0)) })}>`,
  );
  for (const s of suites) {
    const n = (k: Outcome['kind']) => s.cases.filter((c) => c.outcome.kind === k).length;
    out.push(
      `  <testsuite${attrs({
        name: s.name,
        tests: s.cases.length,
        failures: n('failure'),
        errors: n('error'),
        skipped: n('skipped'),
        time: secs(s.time),
        timestamp: s.timestamp,
        hostname,
        id: s.id,
        package: s.pkg,
      })}>`,
    );
    out.push('    <properties>');
    for (const [k, v] of s.properties) out.push(`      <property${attrs({ name: k, value: v })}/>`);
    out.push('    </properties>');
    for (const c of s.cases) {
      out.push(`    <testcase${attrs({ name: c.name, classname: c.classname, time: secs(c.time) })}>`);
      const o = c.outcome;
      if (o.kind === 'failure' || o.kind === 'error') {
        out.push(
          `      <${o.kind}${attrs({ type: o.type, message: o.message })}>${escXmlText(o.text)}</${o.kind}>`,
        );
      } else if (o.kind === 'skipped') {
        out.push(`      <skipped${attrs({ message: o.message })}/>`);
      }
      if (c.out) out.push(`      <system-out>${escXmlText(c.out)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('    <system-out></system-out>', '    <system-err></system-err>', '  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** Episode summaries written to a testcase's system-out. */
const EPISODE_LINES = 20;

/** The system-out of an input's testcase: the verdict, what the guest waits on, the loop episodes, warnings. */
function verdictOut(input: ReportInput): string {
  const v = input.verdict;
  if (!v) {
    return `no verdict; ${int(input.totals.requests)} requests, ${rate(input.rate.meanPerSec)}/s mean, ${int(input.totals.unanswered)} unanswered`;
  }
  const lines = [verdictHeadline(v)];
  for (const c of v.culprits.slice(0, 3)) {
    const inferred = inferredUnitText(c);
    if (inferred) lines.push(`culprit pid ${culpritLabel(c, input.pidNames)}: ${inferred}`);
  }
  for (const w of v.waitingOn ?? []) lines.push(`guest waiting on: ${waitingText(w)}`);
  const eps = v.episodes ?? [];
  if (eps.length > 0) {
    lines.push(`loop episodes (${eps.length}, longest first):`);
    for (const e of eps.slice(0, EPISODE_LINES))
      lines.push(`  ${utc(e.start, null, true)} ${clip(e.summary, 2000)}`);
    if (eps.length > EPISODE_LINES)
      lines.push(`  … ${eps.length - EPISODE_LINES} more (see the JSON report)`);
  }
  return lines.join('\n');
}

/** The evidence excerpt of a hang verdict: reason, culprits, loop, pointers, the last requests. */
export function evidenceExcerpt(v: Verdict, input: ReportInput | undefined, requests = 12): string {
  const names = input?.pidNames;
  const lines: string[] = [v.title, '', v.reason];
  lines.push(
    `confidence ${pct(v.confidence, 0)}${v.onset !== null ? `, onset ${utc(v.onset, null, true)} UTC` : ''}`,
  );
  for (const c of v.culprits.slice(0, 5)) {
    const inferred = inferredUnitText(c);
    lines.push(
      `culprit: pid ${culpritLabel(c, names)} ${int(c.requests)} requests (${pct(c.share)})${c.detail ? ` ${c.detail}` : ''}${inferred ? ` (${inferred})` : ''}`,
    );
  }
  if (v.loop) {
    lines.push(
      `loop: ${v.loop.tokens.join(' -> ')} x${int(v.loop.repetitions)} at ${rate(v.loop.ratePerSec)}/s (${pct(v.loop.share)})`,
    );
  }
  const lp = v.criticalTransition?.lastProgress;
  if (lp) lines.push(`last guest progress: ${utc(lp.time, null, true)} ${lp.text}`);
  for (const w of v.waitingOn ?? []) lines.push(`guest waiting on: ${waitingText(w)}`);
  for (const e of v.evidence.slice(0, 10)) {
    lines.push(`evidence: ${e.file ?? e.input}:${e.line}${e.lineEnd ? `-${e.lineEnd}` : ''} ${e.what}`);
  }
  if (input && input.recent.length > 0 && requests > 0) {
    lines.push(
      '',
      `last ${Math.min(requests, input.recent.length)} requests (line, time, opcode, nodeid, pid, result):`,
    );
    for (const r of input.recent.slice(-requests)) {
      lines.push(
        `  ${r.line} ${utc(r.ts, null, true)} ${r.name} ${r.nodeid} ${pidLabel(r.pid, names)} ${r.result}`,
      );
    }
  }
  return lines.map((l) => clip(l, 2000)).join('\n');
}

function inputProperties(input: ReportInput): [string, string | number][] {
  const v = input.verdict;
  const p: [string, string | number][] = [
    ['file', input.file],
    ['format', input.format.detected],
    ['requests', input.totals.requests],
    ['durationSec', input.time.durationSec],
    ['meanRequestsPerSec', Math.round(input.rate.meanPerSec * 100) / 100],
    ['peakRequestsPerSec', input.rate.peakPerSec],
    ['repliesOk', input.totals.repliesOk],
    ['repliesError', input.totals.repliesError],
    ['unanswered', input.totals.unanswered],
    ['distinctPids', input.totals.distinctPids],
    ['rootInodeShare', Math.round(input.byInode.rootShare * 1000) / 1000],
    ['firstTimestamp', input.time.first === null ? '' : new Date(input.time.first).toISOString()],
    ['lastTimestamp', input.time.last === null ? '' : new Date(input.time.last).toISOString()],
  ];
  const boot = bootSeconds(input);
  if (boot !== null) p.push(['bootSec', Math.round(boot * 1000) / 1000]);
  if (v) {
    p.push(['verdict', v.kind], ['verdictTitle', v.title], ['verdictConfidence', v.confidence]);
    if (v.onset !== null) p.push(['verdictOnset', new Date(v.onset).toISOString()]);
    if (v.durationSec !== null) p.push(['verdictDurationSec', v.durationSec]);
    if (v.culprits[0]) p.push(['topCulpritPid', v.culprits[0].pid]);
    if (v.culprits[0]?.inferredUnit) p.push(['topCulpritInferredUnit', v.culprits[0].inferredUnit]);
    if (v.episodes) p.push(['loopEpisodes', v.episodes.length]);
    if (v.waitingOn?.[0]) p.push(['waitingOn', v.waitingOn[0].unit ?? v.waitingOn[0].subject]);
  }
  return p;
}

function inputOutcome(input: ReportInput, evidenceRequests: number): Outcome {
  const v = input.verdict;
  if (input.binary) {
    return {
      kind: 'error',
      type: 'unusable-input',
      message: `${input.file}: binary data, not a log`,
      text: '',
    };
  }
  if (v && isProblem(v.kind)) {
    return {
      kind: 'failure',
      type: v.kind,
      message: v.title,
      text: evidenceExcerpt(v, input, evidenceRequests),
    };
  }
  if (v && v.kind === 'inconclusive') return { kind: 'skipped', message: `inconclusive: ${v.title}` };
  return { kind: 'pass' };
}

/** JUnit XML of an analysis document: one testsuite + testcase per input, one per unreadable input. */
export function renderJUnit(doc: ReportDocument, opts: JUnitOptions = {}): string {
  const name = opts.name ?? 'vfs-analyze';
  const ev = opts.evidenceRequests ?? 12;
  const suites: Suite[] = doc.inputs.map((input, i) => {
    return {
      name: `${name}: ${input.file}`,
      id: i,
      pkg: name,
      timestamp: stamp(input.time.first),
      time: input.time.durationSec,
      properties: inputProperties(input),
      cases: [
        {
          name: input.file,
          classname: `${name}.boot`,
          time: input.time.durationSec,
          outcome: inputOutcome(input, ev),
          out: [verdictOut(input), ...input.warnings.map((w) => `warning: ${w}`)].join('\n'),
        },
      ],
    };
  });
  doc.errors.forEach((e, i) => {
    suites.push({
      name: `${name}: ${e.file}`,
      id: doc.inputs.length + i,
      pkg: name,
      timestamp: stamp(null),
      time: 0,
      properties: [
        ['file', e.file],
        ['exitCode', e.exitCode],
      ],
      cases: [
        {
          name: e.file,
          classname: `${name}.boot`,
          time: 0,
          outcome: {
            kind: 'error',
            type: e.exitCode === 3 ? 'unusable-input' : 'input',
            message: e.message,
            text: e.message,
          },
        },
      ],
    });
  });
  return renderSuites(name, suites, opts.hostname ?? 'localhost');
}

/** JUnit XML of a comparison: one testsuite per variant, one testcase per run. */
export function renderComparisonJUnit(cmp: ComparisonResult, opts: JUnitOptions = {}): string {
  const name = opts.name ?? 'vfs-analyze';
  const focus = cmp.outcome ?? 'problem';
  const suites: Suite[] = cmp.variants.map((v, i) => {
    const s = summarizeVariant(v, focus);
    return {
      name: `${name}: ${v.name}`,
      id: i,
      pkg: `${name}.compare`,
      timestamp: stamp(null),
      time: 0,
      properties: [
        ['variant', v.name],
        ...(v.description ? ([['description', v.description]] as [string, string][]) : []),
        ['runs', s.runs],
        ['validRuns', s.valid],
        [`${focus}Runs`, s.focus.k],
        [`${focus}Rate`, Math.round(s.focus.rate * 1000) / 1000],
        [`${focus}RateLow95`, Math.round(s.focus.low * 1000) / 1000],
        [`${focus}RateHigh95`, Math.round(s.focus.high * 1000) / 1000],
        ...Object.entries(s.outcomes).map(([k, n]) => [`outcome.${k}`, n] as [string, number]),
        ...(s.medianRequests === null ? [] : ([['medianRequests', s.medianRequests]] as [string, number][])),
        ...(s.medianBootSec === null ? [] : ([['medianBootSec', s.medianBootSec]] as [string, number][])),
      ],
      cases: v.runs.map((r) => {
        let outcome: Outcome = { kind: 'pass' };
        if (r.outcome === 'error') {
          outcome = {
            kind: 'error',
            type: 'infrastructure',
            message: r.error ?? 'run failed',
            text: r.error ?? 'run failed',
          };
        } else if (isProblem(r.outcome)) {
          outcome = {
            kind: 'failure',
            type: r.outcome,
            message: r.title ?? r.outcome,
            text: r.title ?? r.outcome,
          };
        } else if (r.outcome === 'inconclusive' || r.outcome === 'interrupted') {
          outcome = { kind: 'skipped', message: `${r.outcome}${r.title ? `: ${r.title}` : ''}` };
        }
        return {
          name: `${v.name} / ${r.id}`,
          classname: `${name}.compare.${v.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`,
          time: 0,
          outcome,
          out: `${r.outcome}${r.title ? `: ${r.title}` : ''}${r.requests !== undefined ? `; ${int(r.requests)} requests` : ''}`,
        };
      }),
    };
  });
  return renderSuites(name, suites, opts.hostname ?? 'localhost');
}

/** JUnit XML of run records (src/launch/run-record.ts): one testsuite per variant, one testcase per run. */
export function renderRunsJUnit(records: readonly RunRecord[], opts: JUnitOptions = {}): string {
  return renderComparisonJUnit(comparisonResultFromRuns(records), opts);
}
