/**
 * Inline SVG charts for the HTML report, generated as strings (no charting library, no script). Every text that can
 * come from a log goes through {@link escHtml}. Charts use a fixed viewBox and scale to the page width.
 */
import type { TimelineBucket } from '../analyze/postmortem.js';
import type { Verdict } from '../verdict/types.js';
import { escHtml } from './escape.js';
import { clip, int, pct, rate } from './format.js';
import type { GuestMilestone, Proportion } from './model.js';

/** One bar of the outcome-rate chart. */
export interface RateRow {
  name: string;
  runs: number;
  /** Runs counted in the rate (errors and interruptions excluded). */
  valid: number;
  focus: Proportion;
}

export const OPCODE_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];
export const OTHER_COLOR = '#bab0ac';
export const PID_COLORS = ['#1b6ca8', '#d1495b', '#2a9d8f', '#e9a03b', '#6a4c93', '#8d6e63'];
export const VERDICT_COLORS: Record<string, string> = {
  livelock: '#c62828',
  deadlock: '#6a1b9a',
  stall: '#ef6c00',
  busy: '#1565c0',
  healthy: '#2e7d32',
  inconclusive: '#616161',
  error: '#37474f',
  interrupted: '#9e9e9e',
};
const MILESTONE_COLORS: Record<string, string> = {
  'unit-failed': '#c62828',
  'start-job-waiting': '#ef6c00',
  'stop-job-waiting': '#ef6c00',
  'login-prompt': '#2e7d32',
  'target-reached': '#2e7d32',
  poweroff: '#37474f',
};

/** The verdict title, prefixed with its kind unless the title already starts with it. */
export function verdictHeadline(v: Pick<Verdict, 'kind' | 'title'>): string {
  return v.title.toLowerCase().startsWith(v.kind) ? v.title : `${v.kind}: ${v.title}`;
}

/** Numbers in SVG attributes: short and locale-free. */
function n(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0';
}

const TIME_STEPS_MS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

export interface TimeScale {
  t0: number;
  t1: number;
  x0: number;
  x1: number;
  /** Label ticks relative to t0 (`+12 s`) instead of UTC wall-clock time. */
  relative: boolean;
}

export function xOf(s: TimeScale, t: number): number {
  const span = Math.max(1, s.t1 - s.t0);
  return s.x0 + ((t - s.t0) / span) * (s.x1 - s.x0);
}

function timeTicks(s: TimeScale, target = 8): { t: number; label: string }[] {
  const span = Math.max(1, s.t1 - s.t0);
  const step = TIME_STEPS_MS.find((st) => span / st <= target) ?? TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
  const out: { t: number; label: string }[] = [];
  const base = s.relative ? s.t0 : 0;
  const first = base + Math.ceil((s.t0 - base) / step) * step;
  for (let t = first; t <= s.t1 + 1e-6 && out.length < 50; t += step) {
    let label: string;
    if (s.relative) {
      const sec = (t - s.t0) / 1000;
      label = `+${sec >= 60 ? `${Math.floor(sec / 60)}m${String(Math.round(sec % 60)).padStart(2, '0')}` : rate(sec)}s`;
    } else {
      const iso = new Date(t).toISOString();
      label = step < 1000 ? iso.slice(11, 21) : iso.slice(11, 19);
    }
    out.push({ t, label });
  }
  return out;
}

function niceMax(v: number): { max: number; step: number } {
  if (v <= 0) return { max: 1, step: 1 };
  const raw = v / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  return { max: Math.ceil(v / step) * step, step };
}

function compactNum(v: number): string {
  if (v >= 1e6) return `${rate(v / 1e6)}M`;
  if (v >= 1e4) return `${rate(v / 1e3)}k`;
  return rate(v);
}

/** Downsampled columns: each covers [t, t + width) ms and holds request counts per series. */
interface Column {
  t: number;
  width: number;
  requests: number;
  bySeries: number[];
  topPid: number | null;
  topPidRequests: number;
  /** Share of the top PID in the bucket where it was counted. */
  topPidShare: number;
}

export interface TimelineFigureOptions {
  buckets: TimelineBucket[];
  bucketSec: number;
  /** Opcode names to draw as their own series (the rest is "other"), in stacking order. */
  series: string[];
  /** PIDs to give their own lane, in order. */
  lanePids: number[];
  pidLabel: (pid: number) => string;
  milestones: GuestMilestone[];
  verdict?: Verdict;
  relative: boolean;
  /** Columns to draw at most (buckets are merged beyond that). */
  maxColumns?: number;
  width?: number;
}

function columns(o: TimelineFigureOptions, maxCols: number): Column[] {
  const b = o.buckets;
  const per = Math.max(1, Math.ceil(b.length / maxCols));
  const w = o.bucketSec * 1000;
  const idx = new Map(o.series.map((s, i) => [s, i]));
  const out: Column[] = [];
  for (let i = 0; i < b.length; i += per) {
    const col: Column = {
      t: b[i].t,
      width: w * Math.min(per, b.length - i),
      requests: 0,
      bySeries: new Array(o.series.length + 1).fill(0),
      topPid: null,
      topPidRequests: 0,
      topPidShare: 0,
    };
    for (let j = i; j < Math.min(b.length, i + per); j++) {
      const bk = b[j];
      col.requests += bk.requests;
      for (const [name, cnt] of Object.entries(bk.opcodes))
        col.bySeries[idx.get(name) ?? o.series.length] += cnt;
      if (bk.topPid !== null && bk.topPidRequests > col.topPidRequests) {
        col.topPid = bk.topPid;
        col.topPidRequests = bk.topPidRequests;
        col.topPidShare = bk.requests > 0 ? Math.min(1, bk.topPidRequests / bk.requests) : 0;
      }
    }
    out.push(col);
  }
  return out;
}

/** Which milestones get a numbered label on the chart (the rest are unlabelled ticks with a tooltip). */
export function labelledMilestones(ms: GuestMilestone[], max = 14): Set<number> {
  const important = new Set([
    'target-reached',
    'login-prompt',
    'poweroff',
    'unit-failed',
    'start-job-waiting',
  ]);
  const picked = new Set<number>();
  ms.forEach((m, i) => {
    if (important.has(m.kind) && picked.size < max) picked.add(i);
  });
  if (ms.length > 0) picked.add(0);
  if (ms.length > 1) picked.add(ms.length - 1);
  // Fill with evenly spread others.
  const rest = max - picked.size;
  if (rest > 0 && ms.length > picked.size) {
    const stride = Math.max(1, Math.floor(ms.length / rest));
    for (let i = 0; i < ms.length && picked.size < max; i += stride) picked.add(i);
  }
  return picked;
}

/**
 * One SVG with three panes on one time axis: requests/s stacked by opcode, guest milestones, and the top PID of each
 * interval (one lane per PID, bar height = that PID's share of the interval's requests). The verdict window is shaded
 * across all panes with its title.
 */
export function timelineFigure(o: TimelineFigureOptions): string {
  const W = o.width ?? 880;
  const left = 150;
  const right = 16;
  const rateTop = 34;
  const rateH = 220;
  const msTop = rateTop + rateH + 30;
  const msH = o.milestones.length > 0 ? 34 : 0;
  const laneTop = msTop + msH + (msH > 0 ? 14 : 0);
  const laneH = 22;
  const lanes = [...o.lanePids, -1];
  const H = laneTop + lanes.length * laneH + 8;
  const b = o.buckets;
  const out: string[] = [];
  out.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="requests per second by opcode, guest milestones and top PIDs over time">`,
  );
  if (b.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no timestamped requests</text></svg>`,
    );
    return out.join('');
  }
  const bucketMs = o.bucketSec * 1000;
  let t0 = b[0].t;
  let t1 = b[b.length - 1].t + bucketMs;
  for (const m of o.milestones) {
    t0 = Math.min(t0, m.time);
    t1 = Math.max(t1, m.time);
  }
  if (o.verdict?.window) {
    t0 = Math.min(t0, o.verdict.window.start);
    t1 = Math.max(t1, o.verdict.window.end);
  }
  const s: TimeScale = { t0, t1, x0: left, x1: W - right, relative: o.relative };
  const cols = columns(o, o.maxColumns ?? 480);
  const perSec = (c: Column, v: number) => v / (c.width / 1000);
  const peak = Math.max(...cols.map((c) => perSec(c, c.requests)));
  const { max: yMax, step: yStep } = niceMax(peak);
  const yOf = (v: number) => rateTop + rateH - (v / yMax) * rateH;
  const bottom = H - 8;

  // Verdict window (behind everything).
  if (o.verdict?.window) {
    const { start, end } = o.verdict.window;
    const x = xOf(s, start);
    const w = Math.max(2, xOf(s, end) - x);
    const color = VERDICT_COLORS[o.verdict.kind] ?? '#616161';
    out.push(
      `<g class="verdict-window"><rect x="${n(x)}" y="${rateTop - 22}" width="${n(w)}" height="${n(bottom - rateTop + 22)}" fill="${color}" fill-opacity="0.09" stroke="${color}" stroke-opacity="0.5" stroke-dasharray="4 3"><title>${escHtml(o.verdict.title)}</title></rect>`,
      `<text x="${n(Math.min(x + 4, W - right - 4))}" y="${rateTop - 9}" class="vtitle" fill="${color}">${escHtml(clip(verdictHeadline(o.verdict), Math.max(12, Math.floor(w / 7))))}</text></g>`,
    );
  }

  // Rate pane: grid, y labels, stacked columns (one path per series).
  out.push('<g class="grid">');
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    const y = yOf(v);
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${n(y)}" y2="${n(y)}"/><text x="${left - 6}" y="${n(y + 4)}" text-anchor="end">${compactNum(v)}</text>`,
    );
  }
  out.push('</g>');
  out.push(
    `<text x="12" y="${rateTop + rateH / 2}" class="axis-title" transform="rotate(-90 12 ${rateTop + rateH / 2})" text-anchor="middle">requests/s</text>`,
  );
  const colors = [...o.series.map((_, i) => OPCODE_COLORS[i % OPCODE_COLORS.length]), OTHER_COLOR];
  const names = [...o.series, 'other'];
  const stackBase = cols.map(() => 0);
  for (let si = 0; si < names.length; si++) {
    const d: string[] = [];
    cols.forEach((c, ci) => {
      const v = perSec(c, c.bySeries[si]);
      if (v <= 0) return;
      const x = xOf(s, c.t);
      const w = Math.max(0.6, xOf(s, c.t + c.width) - x - (cols.length < 120 ? 1 : 0));
      const y1 = yOf(stackBase[ci]);
      const y2 = yOf(stackBase[ci] + v);
      stackBase[ci] += v;
      d.push(`M${n(x)} ${n(y1)}V${n(y2)}H${n(x + w)}V${n(y1)}Z`);
    });
    if (d.length > 0) {
      out.push(
        `<path class="series" d="${d.join('')}" fill="${colors[si]}"><title>${escHtml(names[si])}</title></path>`,
      );
    }
  }
  // Hover targets with exact numbers per column (only when few enough to keep the file small).
  if (cols.length <= 600) {
    out.push('<g class="hover">');
    for (const c of cols) {
      const x = xOf(s, c.t);
      const w = Math.max(0.6, xOf(s, c.t + c.width) - x);
      const parts = names.map((nm, i) => [nm, c.bySeries[i]] as const).filter(([, v]) => v > 0);
      const tip = `${new Date(c.t).toISOString().slice(11, 19)} — ${int(c.requests)} requests (${rate(perSec(c, c.requests))}/s): ${parts.map(([nm, v]) => `${nm} ${int(v)}`).join(', ')}`;
      out.push(
        `<rect x="${n(x)}" y="${rateTop}" width="${n(w)}" height="${rateH}" fill="transparent"><title>${escHtml(tip)}</title></rect>`,
      );
    }
    out.push('</g>');
  }
  out.push(
    `<line class="axis" x1="${left}" x2="${W - right}" y1="${rateTop + rateH}" y2="${rateTop + rateH}"/>`,
  );
  // Time ticks (labels under the rate pane, tick lines through every pane).
  out.push('<g class="ticks">');
  for (const tk of timeTicks(s)) {
    const x = xOf(s, tk.t);
    const anchor = x > W - right - 30 ? 'end' : x < left + 30 ? 'start' : 'middle';
    out.push(
      `<line x1="${n(x)}" x2="${n(x)}" y1="${rateTop + rateH}" y2="${rateTop + rateH + 5}"/><text x="${n(x)}" y="${rateTop + rateH + 18}" text-anchor="${anchor}">${escHtml(tk.label)}</text>`,
    );
  }
  out.push('</g>');

  // Milestones: a lane of markers, dashed guide lines through the rate pane, numbered labels.
  if (o.milestones.length > 0) {
    out.push(
      `<text x="${left - 8}" y="${msTop + 20}" text-anchor="end" class="lane-label">guest milestones</text>`,
    );
    out.push(
      `<line class="lane-base" x1="${left}" x2="${W - right}" y1="${msTop + msH / 2}" y2="${msTop + msH / 2}"/>`,
    );
    const picked = labelledMilestones(o.milestones);
    const labelled = new Set<number>();
    let lastX = Number.NEGATIVE_INFINITY;
    o.milestones.forEach((m, i) => {
      const x = xOf(s, m.time);
      if (picked.has(i) && x - lastX >= 18) {
        labelled.add(i);
        lastX = x;
      }
    });
    o.milestones.forEach((m, i) => {
      const x = xOf(s, m.time);
      const color = MILESTONE_COLORS[m.kind] ?? '#455a64';
      const tip = `#${i + 1} ${new Date(m.time).toISOString().slice(11, 23)} [${m.kind}] ${m.text}`;
      const isLabelled = labelled.has(i);
      out.push(
        `<g class="milestone">${isLabelled ? `<line x1="${n(x)}" x2="${n(x)}" y1="${rateTop}" y2="${msTop + msH / 2}" stroke="${color}" stroke-opacity="0.45" stroke-dasharray="2 3"/>` : ''}<path d="M${n(x)} ${msTop + msH / 2 - 7}l5 7l-5 7l-5 -7Z" fill="${color}"><title>${escHtml(tip)}</title></path>${isLabelled ? `<text x="${n(x)}" y="${msTop + msH / 2 - 10}" text-anchor="middle" class="ms-num">${i + 1}</text>` : ''}</g>`,
      );
    });
  }

  // Top-PID lanes.
  const laneIdx = new Map(o.lanePids.map((p, i) => [p, i]));
  out.push(
    `<text x="4" y="${laneTop - 4}" class="lane-title">top PID per interval (bar height = its share)</text>`,
  );
  lanes.forEach((pid, li) => {
    const y = laneTop + li * laneH;
    const label = pid === -1 ? 'other PIDs' : o.pidLabel(pid);
    out.push(
      `<text x="${left - 8}" y="${y + laneH / 2 + 4}" text-anchor="end" class="lane-label">${escHtml(clip(label, 20))}<title>${escHtml(label)}</title></text>`,
      `<line class="lane-base" x1="${left}" x2="${W - right}" y1="${y + laneH - 2}" y2="${y + laneH - 2}"/>`,
    );
  });
  const laneD: string[][] = lanes.map(() => []);
  for (const c of cols) {
    if (c.topPid === null || c.requests === 0) continue;
    const li = laneIdx.get(c.topPid) ?? lanes.length - 1;
    const share = c.topPidShare;
    const x = xOf(s, c.t);
    const w = Math.max(0.6, xOf(s, c.t + c.width) - x);
    const h = Math.max(1.5, share * (laneH - 5));
    const yb = laneTop + li * laneH + laneH - 2;
    laneD[li].push(`M${n(x)} ${n(yb)}V${n(yb - h)}H${n(x + w)}V${n(yb)}Z`);
  }
  laneD.forEach((d, li) => {
    if (d.length === 0) return;
    const color = li === lanes.length - 1 ? OTHER_COLOR : PID_COLORS[li % PID_COLORS.length];
    out.push(`<path class="pid-lane" d="${d.join('')}" fill="${color}"/>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** Horizontal bars: rate of the focus outcome per variant with its 95 % interval. */
export function outcomeRateChart(
  rows: RateRow[],
  focusLabel: string,
  opts: { good?: boolean; width?: number } = {},
): string {
  const width = opts.width ?? 900;
  const left = 220;
  const right = 90;
  const top = 30;
  const rowH = 34;
  const H = top + rows.length * rowH + 34;
  const x = (v: number) => left + v * (width - left - right);
  const out: string[] = [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${H}" role="img" aria-label="${escHtml(focusLabel)} rate per variant with 95% intervals">`,
    `<text x="${left}" y="16" class="axis-title">${escHtml(focusLabel)} rate per variant (bar), 95% Wilson interval (whiskers)</text>`,
    '<g class="grid">',
  ];
  for (let v = 0; v <= 1.0001; v += 0.25) {
    out.push(
      `<line x1="${n(x(v))}" x2="${n(x(v))}" y1="${top - 4}" y2="${H - 28}"/><text x="${n(x(v))}" y="${H - 12}" text-anchor="middle">${pct(v, 0)}</text>`,
    );
  }
  out.push('</g>');
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const cy = y + rowH / 2;
    const color = opts.good ? VERDICT_COLORS.healthy : VERDICT_COLORS.livelock;
    out.push(
      `<g class="variant"><text x="${left - 10}" y="${n(cy + 4)}" text-anchor="end" class="lane-label">${escHtml(clip(r.name, 26))}<title>${escHtml(r.name)}</title></text>`,
      `<rect class="bar" x="${left}" y="${n(y + 7)}" width="${n(Math.max(1, x(r.focus.rate) - left))}" height="${rowH - 14}" fill="${color}" fill-opacity="0.75"><title>${escHtml(`${r.name}: ${r.focus.k}/${r.focus.n} = ${pct(r.focus.rate)} (95% ${pct(r.focus.low)}–${pct(r.focus.high)})`)}</title></rect>`,
      `<path class="interval" d="M${n(x(r.focus.low))} ${n(cy)}H${n(x(r.focus.high))}M${n(x(r.focus.low))} ${n(cy - 7)}V${n(cy + 7)}M${n(x(r.focus.high))} ${n(cy - 7)}V${n(cy + 7)}" stroke="#212121" stroke-width="1.6" fill="none"/>`,
      `<text x="${width - right + 8}" y="${n(cy + 4)}" class="lane-label">${r.focus.k}/${r.focus.n}${r.runs > r.valid ? ` (+${r.runs - r.valid} err)` : ''}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
