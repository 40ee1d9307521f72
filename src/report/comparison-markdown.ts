/**
 * Markdown of a comparison of run records (src/compare/comparison.ts), for GitHub's job summary: the headline, the
 * per-variant table, the notes, then one row per run; the run list is trimmed (with a note) to stay under `maxBytes`.
 */

import { COMPARISON_COLUMNS, type Comparison, comparisonCells } from '../compare/comparison.js';
import type { RunRecord } from '../launch/run-record.js';
import { isHang } from '../verdict/types.js';
import { mdCell, mdText } from './escape.js';
import { int, rate } from './format.js';
import { DEFAULT_MARKDOWN_MAX_BYTES } from './markdown.js';
import { OUTCOME_ICON } from './model.js';

export interface ComparisonMarkdownOptions {
  title?: string;
  maxBytes?: number;
}

function row(cells: string[]): string {
  return `| ${cells.map((c) => mdCell(c)).join(' | ')} |`;
}

function build(c: Comparison, runs: readonly RunRecord[], title: string, maxRuns: number): string {
  const out: string[] = [`## ${mdText(title)}`, ''];
  const total = runs.length;
  const hung = runs.filter((r) => isHang(r.outcome.kind)).length;
  out.push(
    `${hung > 0 ? '🔴' : '🟢'} ${int(total)} run(s) in ${c.variants.length} variant(s); ${int(hung)} hung. Reference: **${mdText(c.reference)}**.`,
    '',
  );
  if (c.variants.length > 0) {
    out.push(row([...COMPARISON_COLUMNS]), `|${COMPARISON_COLUMNS.map(() => '---').join('|')}|`);
    for (const cells of comparisonCells(c)) out.push(row(cells));
    out.push('');
  }
  if (c.notes.length > 0) {
    out.push(...c.notes.map((n) => `- ${mdText(n)}`), '');
  }
  if (total > 0 && maxRuns > 0) {
    out.push('### Runs', '');
    out.push(
      row(['run', 'variant', 'outcome', 'title', 'requests', 'req/s', 'time to outcome s']),
      '|---|---|---|---|---:|---:|---:|',
    );
    for (const r of runs.slice(0, maxRuns)) {
      out.push(
        `| ${mdCell(r.id)} | ${mdCell(r.variant.name || 'bcvk defaults')} | ${OUTCOME_ICON[r.outcome.kind] ?? ''} ${mdCell(r.outcome.kind)} | ${mdCell(r.outcome.title ?? '')} | ${int(r.totals.requests)} | ${rate(r.totals.ratePerSec)} | ${r.timeToOutcomeSec === null ? '—' : r.timeToOutcomeSec.toFixed(1)} |`,
      );
    }
    if (total > maxRuns)
      out.push('', `_${int(maxRuns)} of ${int(total)} runs shown (trimmed to keep the summary small)._`);
    out.push('');
  } else if (total > 0) {
    out.push(`_${int(total)} runs not listed (trimmed to keep the summary small)._`, '');
  }
  out.push('<sub>vfs-analyze comparison · times UTC</sub>', '');
  return out.join('\n');
}

export function renderComparisonMarkdown(
  c: Comparison,
  runs: readonly RunRecord[],
  opts: ComparisonMarkdownOptions = {},
): string {
  const maxBytes = opts.maxBytes ?? DEFAULT_MARKDOWN_MAX_BYTES;
  const title = opts.title ?? `Comparison of ${c.variants.length} variant(s) vs ${c.reference}`;
  let limit = runs.length;
  for (;;) {
    const md = build(c, runs, title, limit);
    if (Buffer.byteLength(md, 'utf8') <= maxBytes || limit === 0) return md;
    limit = limit > 8 ? Math.floor(limit / 2) : 0;
  }
}
