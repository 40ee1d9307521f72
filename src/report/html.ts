/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external assets; a Content-Security-
 * Policy forbids scripts and network access as a second line of defence). Every string from a log is escaped.
 */

import type { RequestRow } from '../analyze/postmortem.js';
import { COMPARISON_SCHEMA, type Comparison } from '../compare/comparison.js';
import type { RunRecord } from '../launch/run-record.js';
import type { Verdict } from '../verdict/types.js';
import { escHtml } from './escape.js';
import { clip, duration, int, pct, rate, shortenSignatures, shortSignature, utc } from './format.js';
import {
  type ComparisonResult,
  culpritLabel,
  episodeFollowed,
  type GuestMilestone,
  inferredUnitText,
  isProblem,
  pidLabel,
  type ReportDocument,
  type ReportInput,
  summarizeVariant,
  waitingText,
} from './model.js';
import { comparisonResultFromRuns } from './runs.js';
import {
  OPCODE_COLORS,
  OTHER_COLOR,
  outcomeRateChart,
  type RateRow,
  timelineFigure,
  VERDICT_COLORS,
  verdictHeadline,
} from './svg.js';

export interface HtmlOptions {
  /** Page title (default: derived from the inputs). */
  title?: string;
  /** Rows in the top-N tables (default 15). */
  top?: number;
  /** Rows of recent activity (default 20). */
  recent?: number;
  /** Milestones listed in the table (default 200). */
  milestones?: number;
  /** Opcodes drawn as their own series (default 7; the rest is "other"). */
  series?: number;
  /** PIDs given their own lane (default 5). */
  lanes?: number;
}

const CSS = `
:root{--fg:#1d2327;--muted:#5f6b73;--line:#dde3e8;--bg:#fff;--panel:#f6f8fa;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0;padding:20px 28px 40px;max-width:1680px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;word-break:break-all}h3{font-size:15px;margin:18px 0 6px}
.muted{color:var(--muted);fill:var(--muted)}
.sub{color:var(--muted);font-size:13px;margin-bottom:14px}
section.input{border-top:3px solid var(--line);margin-top:22px}
.verdict{border-left:6px solid var(--vc,#616161);background:var(--panel);padding:10px 14px;margin:8px 0 14px;border-radius:4px}
.verdict .kind{display:inline-block;background:var(--vc,#616161);color:#fff;font-weight:600;padding:1px 8px;border-radius:3px;text-transform:uppercase;font-size:12px;letter-spacing:.04em;margin-right:8px}
.verdict-title{font-size:17px;font-weight:600;word-break:break-word}
.verdict p{margin:6px 0 0;font-size:14px}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:6px 10px;min-width:110px}
.card b{display:block;font-size:18px}.card span{font-size:12px;color:var(--muted)}
.layout{display:grid;grid-template-columns:minmax(0,1.7fr) minmax(380px,1fr);gap:22px;align-items:start}
@media (max-width:1200px){.layout{grid-template-columns:1fr}}
.chart{width:100%;height:auto;display:block;background:#fff;border:1px solid var(--line);border-radius:4px}
.chart text{font-size:12.5px;fill:#37474f}
.chart .grid line{stroke:#eceff1}.chart .grid text{fill:var(--muted)}
.chart .axis{stroke:#90a4ae}.chart .ticks line{stroke:#90a4ae}
.chart .axis-title{font-size:12px;fill:var(--muted)}
.chart .vtitle{font-size:13px;font-weight:600}
.chart .lane-label{font-size:12.5px}.chart .lane-title{font-size:12.5px;fill:var(--muted)}
.chart .lane-base{stroke:#eceff1}
.chart .ms-num{font-size:11px;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:4px 0 6px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:12.5px;margin:4px 0 10px;width:100%}
th,td{border-bottom:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:break-word}
.charts,.tables{min-width:0}.tables{overflow-x:auto}
.wide{max-width:1100px}
th{background:var(--panel);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.log{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.note{font-size:12px;color:var(--muted);margin:-4px 0 10px}
ul.warn{margin:4px 0 10px;padding-left:20px;font-size:13px;color:#8a4b00}
.errors{border-left:6px solid #37474f;background:#eceff1;padding:8px 14px}
footer{margin-top:30px;font-size:12px;color:var(--muted)}
`;

function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    body,
    '</body></html>',
    '',
  ].join('\n');
}

interface Col {
  head: string;
  num?: boolean;
  log?: boolean;
}

/** The leading columns of a table of single requests (unanswered at end, recent activity), and their cells. */
const REQUEST_COLUMNS: Col[] = [
  { head: 'line', num: true },
  { head: 'time' },
  { head: 'unique', num: true },
  { head: 'opcode' },
  { head: 'nodeid', num: true },
  { head: 'pid' },
];

function requestCells(
  r: RequestRow,
  day: number | null,
  names?: Record<string, string>,
): (string | number)[] {
  return [
    r.line,
    utc(r.ts, day, true),
    r.unique === null ? '—' : String(r.unique),
    r.name,
    String(r.nodeid),
    pidLabel(r.pid, names),
  ];
}

/** A table cell: raw text or a number, or text shown with a longer text as its tooltip (`title`). */
type Cell = string | number | { text: string; title: string };

function cellHtml(v: Cell): string {
  if (typeof v === 'object') return `<span title="${escHtml(v.title)}">${escHtml(v.text)}</span>`;
  return escHtml(typeof v === 'number' ? int(v) : v);
}

/** A table; `rows` hold raw strings or numbers (or {@link Cell}s with a tooltip), escaped here. */
function table(cols: Col[], rows: Cell[][], total?: number, what = 'rows'): string {
  if (rows.length === 0) return '<p class="note">none</p>';
  const head = cols.map((c) => `<th${c.num ? ' class="n"' : ''}>${escHtml(c.head)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((v, i) => {
            const c = cols[i];
            const cls = c?.num ? ' class="n"' : c?.log ? ' class="log"' : '';
            return `<td${cls}>${cellHtml(v)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  const more =
    total !== undefined && total > rows.length
      ? `<p class="note">${int(rows.length)} of ${int(total)} ${escHtml(what)} shown.</p>`
      : '';
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

function card(value: string, label: string): string {
  return `<div class="card"><b>${escHtml(value)}</b><span>${escHtml(label)}</span></div>`;
}

export function verdictBlock(v: Verdict | undefined, names?: Record<string, string>): string {
  if (!v) {
    return '<div class="verdict" style="--vc:#90a4ae"><span class="kind">no verdict</span><span class="muted">the verdict engine did not run for this input; statistics only</span></div>';
  }
  const color = VERDICT_COLORS[v.kind] ?? '#616161';
  const facts: string[] = [`confidence ${pct(v.confidence, 0)}`];
  if (v.onset !== null)
    facts.push(`since ${utc(v.onset, null, true)}${v.onsetMethod ? ` (${v.onsetMethod})` : ''}`);
  if (v.durationSec !== null) facts.push(`lasted ${duration(v.durationSec)}`);
  if (v.hostOnly) facts.push('host log only (no guest input)');
  const culprits = v.culprits
    .map((c) => {
      const inferred = inferredUnitText(c);
      return `${culpritLabel(c, names)}${inferred ? ` (${inferred})` : ''}: ${int(c.requests)} requests, ${pct(c.share)}${c.detail ? ` — ${c.detail}` : ''}`;
    })
    .join('; ');
  const loop = v.loop
    ? `loop of ${v.loop.period}: ${v.loop.tokens.join(' → ')} ×${int(v.loop.repetitions)} at ${rate(v.loop.ratePerSec)}/s (${pct(v.loop.share)} of requests)`
    : '';
  const last = v.criticalTransition?.lastProgress;
  return [
    `<div class="verdict" style="--vc:${color}">`,
    `<div><span class="kind">${escHtml(v.kind)}</span><span class="verdict-title">${escHtml(v.title)}</span></div>`,
    `<p>${escHtml(v.reason)}</p>`,
    `<p class="muted">${escHtml(facts.join(' · '))}</p>`,
    culprits ? `<p><b>Culprits:</b> ${escHtml(culprits)}</p>` : '',
    loop ? `<p><b>Loop:</b> ${escHtml(loop)}</p>` : '',
    last ? `<p><b>Last guest progress:</b> ${escHtml(`${utc(last.time, null, true)} ${last.text}`)}</p>` : '',
    ...(v.waitingOn ?? []).map((w) => `<p><b>Guest waiting on:</b> ${escHtml(waitingText(w))}</p>`),
    '</div>',
  ].join('');
}

/** Episode rows listed (the rest is counted; --json has them all). */
const EPISODE_ROWS = 20;

/** The loop episodes of the run (longest first): transient loops that ended, and one still running at the end. */
export function episodesBlock(
  v: Verdict | undefined,
  day: number | null,
  names?: Record<string, string>,
): string {
  const eps = v?.episodes ?? [];
  if (eps.length === 0) return '';
  const rows = eps.slice(0, EPISODE_ROWS).map((e): Cell[] => {
    const sig = e.tokens.join('→');
    const short = shortSignature(e.tokens);
    return [
      culpritLabel(e, names),
      short === sig ? sig : { text: short, title: sig },
      utc(e.start, day, true),
      duration(e.durationSec),
      e.repetitions,
      rate(e.ratePerSec),
      { text: episodeFollowed(e, day), title: e.summary },
    ];
  });
  return [
    `<h3>Loop episodes (${int(eps.length)})</h3>`,
    '<p class="note">Loops seen in the run, longest first. A loop that ended and was followed by guest progress is not a livelock.</p>',
    table(
      [
        { head: 'pid' },
        { head: 'signature', log: true },
        { head: 'start (UTC)' },
        { head: 'duration', num: true },
        { head: 'repetitions', num: true },
        { head: 'req/s', num: true },
        { head: 'then' },
      ],
      rows,
      eps.length,
      'episodes',
    ),
  ].join('\n');
}

/** Opcode names of the stacked series: the most frequent across the timeline. */
function topSeries(input: ReportInput, k: number): string[] {
  const sums = new Map<string, number>();
  for (const b of input.timeline.buckets) {
    for (const [name, v] of Object.entries(b.opcodes)) sums.set(name, (sums.get(name) ?? 0) + v);
  }
  const sorted = [...sums].sort((a, b) => b[1] - a[1]);
  // Keep "other" meaningful: if only one more opcode would remain, draw it too.
  const n = sorted.length === k + 1 ? k + 1 : k;
  return sorted.slice(0, n).map(([name]) => name);
}

function lanePids(input: ReportInput, k: number): number[] {
  const counts = new Map<number, number>();
  for (const b of input.timeline.buckets) {
    if (b.topPid !== null) counts.set(b.topPid, (counts.get(b.topPid) ?? 0) + b.topPidRequests);
  }
  const byTop = [...counts].sort((a, b) => b[1] - a[1]).map(([p]) => p);
  const extra = input.byPid.map((p) => p.pid).filter((p) => !byTop.includes(p));
  return [...byTop, ...extra].slice(0, k);
}

function legend(series: string[], v?: Verdict): string {
  const items = series.map(
    (s, i) =>
      `<span><i style="background:${OPCODE_COLORS[i % OPCODE_COLORS.length]}"></i>${escHtml(s)}</span>`,
  );
  items.push(`<span><i style="background:${OTHER_COLOR}"></i>other opcodes</span>`);
  if (v?.window) {
    const c = VERDICT_COLORS[v.kind] ?? '#616161';
    items.push(
      `<span><i style="background:${c};opacity:.35;border:1px dashed ${c}"></i>verdict window (${escHtml(v.kind)})</span>`,
    );
  }
  return `<div class="legend">${items.join('')}</div>`;
}

function milestoneTable(ms: GuestMilestone[], limit: number, sameDay: number | null): string {
  const rows = ms.slice(0, limit).map((m, i) => [String(i + 1), utc(m.time, sameDay, true), m.kind, m.text]);
  return table(
    [{ head: '#', num: true }, { head: 'time (UTC)' }, { head: 'kind' }, { head: 'text', log: true }],
    rows,
    ms.length,
    'milestones',
  );
}

function inputSection(input: ReportInput, idx: number, o: Required<HtmlOptions>): string {
  const names = input.pidNames;
  const day = input.time.first;
  const t = input.totals;
  const out: string[] = [];
  out.push(`<section class="input" id="input-${idx + 1}">`);
  out.push(`<h2>${escHtml(input.file)}</h2>`);
  out.push(verdictBlock(input.verdict, names));
  out.push(episodesBlock(input.verdict, day, names));
  const cards = [
    card(int(t.requests), 'requests'),
    card(
      duration(input.time.durationSec),
      `${utc(input.time.first)} → ${utc(input.time.last, input.time.first)}`,
    ),
    card(rate(input.rate.meanPerSec), 'mean requests/s'),
    card(rate(input.rate.peakPerSec), `peak/s at ${utc(input.rate.peakAt, input.time.first)}`),
    card(int(t.repliesOk), 'replies OK'),
    card(int(input.errors.total), 'error replies'),
    card(int(t.unanswered), 'unanswered at end'),
    card(int(t.distinctPids), 'guest PIDs'),
    card(int(t.distinctInodes), 'inodes'),
    card(pct(input.byInode.rootShare), 'on inode 1 (root)'),
  ];
  out.push(`<div class="cards">${cards.join('')}</div>`);
  out.push(
    `<div class="sub">${escHtml(`${input.format.detected} format · ${int(input.lines.total)} lines (${int(input.lines.byKind.unrecognized)} unrecognized) · ${int(input.bytes)} bytes · clock ${input.clock.kind}/${input.clock.resolution}`)}</div>`,
  );
  if (input.warnings.length > 0) {
    out.push(`<ul class="warn">${input.warnings.map((w) => `<li>${escHtml(w)}</li>`).join('')}</ul>`);
  }
  const series = topSeries(input, o.series);
  const pids = lanePids(input, o.lanes);
  const ms = [...(input.milestones ?? [])].sort((a, b) => a.time - b.time);
  out.push('<div class="layout"><div class="charts">');
  out.push(
    `<h3>Requests over time${input.timeline.bucketSec > 1 ? ` (${input.timeline.bucketSec} s intervals)` : ''}</h3>`,
  );
  out.push(legend(series, input.verdict));
  out.push(
    timelineFigure({
      buckets: input.timeline.buckets,
      bucketSec: input.timeline.bucketSec,
      series,
      lanePids: pids,
      pidLabel: (p) => pidLabel(p, names),
      milestones: ms,
      verdict: input.verdict,
      relative: input.clock.kind === 'monotonic',
    }),
  );
  if (ms.length > 0) {
    out.push('<h3>Guest milestones</h3>');
    out.push(milestoneTable(ms, o.milestones, day));
  }
  out.push('</div><div class="tables">');
  out.push('<h3>Requests by opcode</h3>');
  out.push(
    table(
      [
        { head: 'opcode' },
        { head: 'requests', num: true },
        { head: 'OK', num: true },
        { head: 'errors', num: true },
        { head: 'no reply', num: true },
        { head: 'unanswered', num: true },
      ],
      input.byOpcode
        .slice(0, o.top)
        .map((r) => [`${r.name} (${r.opcode})`, r.requests, r.ok, r.errors, r.noReply, r.unanswered]),
      input.byOpcode.length,
      'opcodes',
    ),
  );
  out.push('<h3>Requests by guest PID</h3>');
  out.push(
    table(
      [
        { head: 'pid' },
        { head: 'requests', num: true },
        { head: 'share', num: true },
        { head: 'errors', num: true },
        { head: 'top opcodes' },
        { head: 'active (UTC)' },
      ],
      input.byPid
        .slice(0, o.top)
        .map((p) => [
          pidLabel(p.pid, names),
          p.requests,
          pct(p.share),
          p.errors,
          p.topOpcodes.map((x) => `${x.name} ${int(x.requests)}`).join(', '),
          `${utc(p.first, day)} → ${utc(p.last, day)}`,
        ]),
      input.byPid.length,
      'PIDs',
    ),
  );
  out.push('<h3>Requests by inode</h3>');
  out.push(
    table(
      [
        { head: 'nodeid', num: true },
        { head: 'requests', num: true },
        { head: 'share', num: true },
        { head: 'paths' },
      ],
      input.byInode.top
        .slice(0, o.top)
        .map((r) => [
          String(r.nodeid),
          r.requests,
          pct(r.share),
          (r.paths ?? [])
            .map((p) => `${p.path}${r.paths && r.paths.length > 1 ? ` (${int(p.requests)})` : ''}`)
            .join(', '),
        ]),
      input.byInode.distinct,
      'inodes',
    ),
  );
  if (input.errors.total > 0) {
    out.push('<h3>Errors</h3>');
    out.push(
      table(
        [{ head: 'opcode' }, { head: 'errno' }, { head: 'count', num: true }],
        input.errors.byOpcode.slice(0, o.top).map((e) => [e.name, `${e.errnoName} (${e.errno})`, e.count]),
        input.errors.byOpcode.length,
        'rows',
      ),
    );
  }
  out.push(`<h3>Unanswered at end (${int(t.unanswered)})</h3>`);
  out.push(
    table(
      [...REQUEST_COLUMNS, { head: 'age', num: true }],
      input.unanswered
        .slice(0, o.top)
        .map((u) => [...requestCells(u, day, names), u.ageSec === null ? '—' : duration(u.ageSec)]),
      t.unanswered,
      'requests',
    ),
  );
  out.push('</div></div>');
  if (input.recent.length > 0 && o.recent > 0) {
    out.push('<h3>Recent activity (last requests)</h3>');
    out.push(
      table(
        [...REQUEST_COLUMNS, { head: 'result' }],
        input.recent.slice(-o.recent).map((r) => [...requestCells(r, day, names), r.result]),
      ),
    );
  }
  if (input.lines.unrecognizedSamples.length > 0) {
    out.push(`<h3>Unrecognized lines (${int(input.lines.byKind.unrecognized)})</h3>`);
    out.push(
      table(
        [
          { head: 'line', num: true },
          { head: 'text', log: true },
        ],
        input.lines.unrecognizedSamples.map((s) => [s.line, clip(s.text, 400)]),
      ),
    );
  }
  out.push('</section>');
  return out.join('\n');
}

function resolve(opts: HtmlOptions): Required<HtmlOptions> {
  return {
    title: opts.title ?? '',
    top: opts.top ?? 15,
    recent: opts.recent ?? 20,
    milestones: opts.milestones ?? 200,
    series: opts.series ?? 7,
    lanes: opts.lanes ?? 5,
  };
}

/** The HTML report of an analysis document (one section per input). */
export function renderHtml(doc: ReportDocument, opts: HtmlOptions = {}): string {
  const o = resolve(opts);
  const first = doc.inputs[0];
  const full =
    o.title ||
    (first?.verdict
      ? verdictHeadline(first.verdict)
      : `vfs-analyze: ${doc.inputs.map((i) => i.file).join(', ') || 'no inputs'}`);
  // A long loop signature must not overflow the tab or the heading: shorten it there, the full text stays in the
  // heading's tooltip and in the verdict block.
  const title = clip(shortenSignatures(full), 200);
  const body: string[] = [];
  body.push(`<h1${title === full ? '' : ` title="${escHtml(full)}"`}>${escHtml(title)}</h1>`);
  const problems = doc.inputs.filter((i) => isProblem(i.verdict?.kind)).length;
  body.push(
    `<div class="sub">${escHtml(`${doc.tool.name} ${doc.tool.version} · ${doc.inputs.length} input(s)${problems > 0 ? ` · ${problems} hung` : ''}${doc.errors.length > 0 ? ` · ${doc.errors.length} unreadable` : ''}`)}</div>`,
  );
  if (doc.errors.length > 0) {
    body.push(
      `<div class="errors"><b>Inputs that could not be analysed</b><ul>${doc.errors.map((e) => `<li>${escHtml(e.message)} (exit ${e.exitCode})</li>`).join('')}</ul></div>`,
    );
  }
  doc.inputs.forEach((input, i) => {
    body.push(inputSection(input, i, o));
  });
  body.push(
    `<footer>Generated by ${escHtml(`${doc.tool.name} ${doc.tool.version}`)} from ${escHtml(doc.schema)} v${doc.schemaVersion}. Times are UTC. Self-contained: no scripts, no network.</footer>`,
  );
  return page(title, body.join('\n'));
}

function isRealComparison(c: ComparisonResult | Comparison): c is Comparison {
  return (c as Comparison).schema === COMPARISON_SCHEMA;
}

function runsTable(runs: ComparisonResult['variants']): string {
  return table(
    [
      { head: 'variant' },
      { head: 'run' },
      { head: 'outcome' },
      { head: 'title / error', log: true },
      { head: 'requests', num: true },
      { head: 'boot', num: true },
    ],
    runs.flatMap((v) =>
      v.runs.map((r) => [
        v.name,
        r.id,
        r.outcome,
        r.error ?? r.title ?? '',
        r.requests === undefined ? '—' : int(r.requests),
        r.bootSec === undefined || r.bootSec === null ? '—' : duration(r.bootSec),
      ]),
    ),
  );
}

function ci(lo: number, hi: number, f: (v: number) => string): string {
  return `[${f(lo)}, ${f(hi)}]`;
}

/** Body of the report for the real comparison of src/compare/ (healthy rate with Wilson intervals, tests vs reference). */
function realComparisonBody(cmp: Comparison, runs: readonly RunRecord[] | undefined): string[] {
  const body: string[] = [];
  const rows: RateRow[] = cmp.variants.map((v) => ({
    name: v.isReference ? `${v.name} (reference)` : v.name,
    runs: v.runs,
    valid: v.validRuns,
    focus: {
      k: v.healthy.k,
      n: v.healthy.n,
      rate: v.healthy.rate ?? 0,
      low: v.healthy.ci?.lo ?? 0,
      high: v.healthy.ci?.hi ?? 1,
    },
  }));
  body.push(
    `<div class="sub">${escHtml(`${cmp.variants.length} variant(s), ${cmp.variants.reduce((a, v) => a + v.runs, 0)} run(s); reference: ${cmp.reference}; ${Math.round(cmp.level * 100)}% intervals, α = ${cmp.alpha}`)}</div>`,
  );
  if (cmp.notes.length > 0)
    body.push(`<ul class="warn">${cmp.notes.map((n) => `<li>${escHtml(n)}</li>`).join('')}</ul>`);
  body.push(`<div class="wide">${outcomeRateChart(rows, 'healthy', { good: true })}</div>`);
  const kinds = [
    ...new Set(
      cmp.variants.flatMap((v) =>
        Object.entries(v.outcomes)
          .filter(([, n]) => n > 0)
          .map(([k]) => k),
      ),
    ),
  ];
  body.push('<h3>Variants</h3>');
  body.push(
    table(
      [
        { head: 'variant' },
        { head: 'runs (valid)', num: true },
        { head: 'healthy rate', num: true },
        ...kinds.map((k) => ({ head: k, num: true })),
        { head: 'median requests', num: true },
        { head: 'vs reference' },
        { head: 'median boot', num: true },
        { head: 'top looping pid' },
      ],
      cmp.variants.map((v) => [
        v.isReference ? `${v.name} (reference)` : v.name,
        `${v.runs} (${v.validRuns})`,
        v.healthy.rate === null
          ? '—'
          : `${pct(v.healthy.rate, 0)} (${v.healthy.k}/${v.healthy.n})${v.healthy.ci ? ` ${ci(v.healthy.ci.lo, v.healthy.ci.hi, (x) => pct(x, 0))}` : ''}`,
        ...kinds.map((k) => v.outcomes[k as keyof typeof v.outcomes] ?? 0),
        v.requests.median === null
          ? '—'
          : `${int(v.requests.median)}${v.requests.ci ? ` ${ci(v.requests.ci.lo, v.requests.ci.hi, int)}` : ''}`,
        v.vsReference
          ? `${v.vsReference.healthy.claim.text}; requests ${v.vsReference.requests.claim.text}${v.reductionVsReference !== null ? ` (${pct(v.reductionVsReference)} fewer)` : ''}`
          : '—',
        v.timeToBootSec.median === null ? '—' : duration(v.timeToBootSec.median),
        v.topLoopingPid
          ? `${v.topLoopingPid.pid}${v.topLoopingPid.name ? ` (${v.topLoopingPid.name})` : ''}`
          : '—',
      ]),
    ),
  );
  if (runs && runs.length > 0) {
    body.push('<h3>Runs</h3>');
    body.push(runsTable(comparisonResultFromRuns(runs).variants));
  }
  return body;
}

/**
 * The HTML report of a comparison: one row per variant and the outcome-rate chart with intervals. Takes the
 * comparison of src/compare/ (healthy rate, plus the run records for a per-run table) or a plain
 * {@link ComparisonResult} (rate of `outcome`, default livelock).
 */
export function renderComparisonHtml(
  cmp: ComparisonResult | Comparison,
  opts: HtmlOptions & { runs?: readonly RunRecord[] } = {},
): string {
  if (isRealComparison(cmp)) {
    const title = opts.title || `comparison of ${cmp.variants.length} variant(s) vs ${cmp.reference}`;
    const body = [`<h1>${escHtml(clip(title, 200))}</h1>`, ...realComparisonBody(cmp, opts.runs)];
    body.push('<footer>Generated by vfs-analyze. Self-contained: no scripts, no network.</footer>');
    return page(title, body.join('\n'));
  }
  const focus = cmp.outcome ?? 'livelock';
  const focusLabel = focus === 'problem' ? 'hang (livelock/deadlock/stall)' : focus;
  const rows = cmp.variants.map((v) => summarizeVariant(v, focus));
  const title = opts.title || cmp.title || `comparison of ${rows.length} variant(s)`;
  const kinds = [...new Set(rows.flatMap((r) => Object.keys(r.outcomes)))].sort();
  const body: string[] = [];
  body.push(`<h1>${escHtml(clip(title, 200))}</h1>`);
  body.push(
    `<div class="sub">${escHtml(`${rows.length} variant(s), ${rows.reduce((a, r) => a + r.runs, 0)} run(s); charted outcome: ${focusLabel}`)}</div>`,
  );
  body.push(
    `<div class="wide">${outcomeRateChart(rows, focusLabel, { good: focus === 'healthy' || focus === 'busy' })}</div>`,
  );
  body.push('<h3>Variants</h3>');
  body.push(
    table(
      [
        { head: 'variant' },
        { head: 'runs', num: true },
        { head: `${focusLabel} rate`, num: true },
        { head: '95% interval', num: true },
        ...kinds.map((k) => ({ head: k, num: true })),
        { head: 'median requests', num: true },
        { head: 'median req/s', num: true },
        { head: 'median boot', num: true },
      ],
      rows.map((r) => [
        r.description ? `${r.name} — ${r.description}` : r.name,
        r.runs,
        `${pct(r.focus.rate)} (${r.focus.k}/${r.focus.n})`,
        `${pct(r.focus.low)}–${pct(r.focus.high)}`,
        ...kinds.map((k) => r.outcomes[k] ?? 0),
        r.medianRequests === null ? '—' : int(r.medianRequests),
        r.medianRatePerSec === null ? '—' : rate(r.medianRatePerSec),
        r.medianBootSec === null ? '—' : duration(r.medianBootSec),
      ]),
    ),
  );
  body.push('<h3>Runs</h3>');
  body.push(runsTable(cmp.variants));
  body.push(
    '<footer>Generated by vfs-analyze. Intervals are 95% Wilson score intervals. Self-contained: no scripts, no network.</footer>',
  );
  return page(title, body.join('\n'));
}
