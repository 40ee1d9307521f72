/**
 * Markdown for GitHub's job summary ($GITHUB_STEP_SUMMARY): the verdict title first, then the key tables. GitHub
 * rejects summaries over 1 MiB, so tables are trimmed (with a note) until the text fits `maxBytes`.
 */
import type { Verdict } from '../verdict/types.js';
import { mdCell, mdCode, mdText } from './escape.js';
import { clip, duration, int, pct, rate, shortenSignatures, shortSignature, utc } from './format.js';
import {
  bootSeconds,
  culpritLabel,
  episodeFollowed,
  inferredUnitText,
  isProblem,
  OUTCOME_ICON,
  pidLabel,
  type ReportDocument,
  type ReportInput,
  waitingText,
} from './model.js';

/** GitHub's step-summary limit is 1024 KiB; stay a little below it by default. */
export const DEFAULT_MARKDOWN_MAX_BYTES = 1_000_000;

export interface MarkdownOptions {
  /** Upper bound on the UTF-8 size of the result (default {@link DEFAULT_MARKDOWN_MAX_BYTES}). */
  maxBytes?: number;
  /** Rows in top-N tables before any trimming (default 15). */
  top?: number;
  /** Recent requests listed (default 10). */
  recent?: number;
}

/** Kind and title; a long loop signature in the title is shortened (the full title follows in the section). */
function verdictLine(v: Verdict | undefined): string {
  if (!v) return '⚪ no verdict (statistics only)';
  return `${OUTCOME_ICON[v.kind] ?? '⚪'} **${mdText(v.kind.toUpperCase())}**: ${mdText(shortenSignatures(v.title))}`;
}

/** Episode rows in the summary before any trimming. */
const EPISODE_ROWS = 10;
/** Tokens of an episode's signature in the summary table (the JSON has them all). */
const EPISODE_TOKENS = 8;

function table(
  head: string[],
  rows: (string | number)[][],
  total: number,
  limit: number,
  what: string,
): string {
  if (rows.length === 0 || limit <= 0) {
    return total > 0
      ? `_${int(total)} ${what} not listed (trimmed to keep the summary small)._\n`
      : '_none_\n';
  }
  const shown = rows.slice(0, limit);
  const align = head.map((h) => (h.startsWith('>') ? '---:' : '---'));
  const lines = [
    `| ${head.map((h) => mdCell(h.replace(/^>/, ''))).join(' | ')} |`,
    `|${align.join('|')}|`,
    ...shown.map((r) => `| ${r.map((c) => (typeof c === 'number' ? int(c) : c)).join(' | ')} |`),
  ];
  let note = '';
  if (total > shown.length) {
    note =
      shown.length < rows.length
        ? `\n_${int(shown.length)} of ${int(total)} ${what} shown (trimmed to keep the summary under the size limit)._`
        : `\n_${int(shown.length)} of ${int(total)} ${what} shown._`;
  }
  return `${lines.join('\n')}${note}\n`;
}

interface Limits {
  top: number;
  recent: number;
  text: number;
}

function inputMarkdown(
  input: ReportInput,
  l: Limits,
  o: Required<Omit<MarkdownOptions, 'maxBytes'>>,
): string {
  const names = input.pidNames;
  const day = input.time.first;
  const pid = (p: number | null) => mdCell(pidLabel(p, names));
  const v = input.verdict;
  const out: string[] = [];
  out.push(`## ${verdictLine(v)}`, '');
  out.push(`Input: ${mdCode(input.file)}`, '');
  if (v) {
    if (shortenSignatures(v.title) !== v.title)
      out.push(`Full title: ${mdCode(clip(v.title, 4 * l.text))}`, '');
    out.push(`> ${mdText(clip(v.reason, l.text))}`, '');
    const facts = [`confidence ${pct(v.confidence, 0)}`];
    if (v.onset !== null) facts.push(`since ${utc(v.onset, null, true)} UTC`);
    if (v.durationSec !== null) facts.push(`lasted ${duration(v.durationSec)}`);
    if (v.hostOnly) facts.push('host log only');
    out.push(facts.join(' · '), '');
    if (v.culprits.length > 0) {
      out.push(
        `Culprits: ${v.culprits
          .slice(0, 5)
          .map((c) => {
            const inferred = inferredUnitText(c);
            return `${mdText(culpritLabel(c, names))} ${int(c.requests)} requests (${pct(c.share)})${inferred ? ` _(${mdText(inferred)})_` : ''}`;
          })
          .join('; ')}`,
        '',
      );
    }
    if (v.loop) {
      out.push(
        `Loop: ${mdCode(clip(v.loop.tokens.join(' → '), l.text))} ×${int(v.loop.repetitions)} at ${rate(v.loop.ratePerSec)}/s`,
        '',
      );
    }
    for (const w of (v.waitingOn ?? []).slice(0, 3)) {
      out.push(`⏳ Guest waiting on: ${mdText(clip(waitingText(w, day), l.text))}`, '');
    }
    const eps = v.episodes ?? [];
    if (eps.length > 0) {
      out.push(`### Loop episodes (${int(eps.length)})`, '');
      out.push(
        table(
          ['pid', 'signature', '>repetitions', 'start', '>duration', '>req/s', 'then'],
          eps
            .slice(0, EPISODE_ROWS)
            .map((e) => [
              mdCell(culpritLabel(e, names)),
              mdCode(clip(shortSignature(e.tokens, EPISODE_TOKENS), l.text)),
              e.repetitions,
              utc(e.start, day, true),
              duration(e.durationSec),
              rate(e.ratePerSec),
              mdCell(clip(episodeFollowed(e, day), l.text)),
            ]),
          eps.length,
          Math.min(l.top, EPISODE_ROWS),
          'episodes',
        ),
      );
    }
  }
  const t = input.totals;
  const boot = bootSeconds(input);
  out.push(
    table(
      ['figure', '>value'],
      [
        ['requests', int(t.requests)],
        [
          'time span',
          `${utc(input.time.first)} → ${utc(input.time.last, day)} (${duration(input.time.durationSec)})`,
        ],
        ['requests/s (mean / peak)', `${rate(input.rate.meanPerSec)} / ${rate(input.rate.peakPerSec)}`],
        ['replies OK / error', `${int(t.repliesOk)} / ${int(t.repliesError)}`],
        ['unanswered at end', int(t.unanswered)],
        ['guest PIDs / inodes', `${int(t.distinctPids)} / ${int(t.distinctInodes)}`],
        ['share on inode 1', pct(input.byInode.rootShare)],
        ...(boot === null ? [] : [['time to boot', duration(boot)]]),
        ['format', mdCell(`${input.format.detected}, ${int(input.lines.total)} lines`)],
      ],
      0,
      99,
      'figures',
    ),
  );
  if (input.warnings.length > 0) {
    out.push(
      input.warnings
        .slice(0, Math.max(1, l.top))
        .map((w) => `- ⚠️ ${mdText(clip(w, l.text))}`)
        .join('\n'),
      '',
    );
  }
  out.push('### Requests by opcode', '');
  out.push(
    table(
      ['opcode', '>requests', '>OK', '>errors', '>no reply', '>unanswered'],
      input.byOpcode.map((r) => [mdCell(r.name), r.requests, r.ok, r.errors, r.noReply, r.unanswered]),
      input.byOpcode.length,
      Math.min(l.top, o.top),
      'opcodes',
    ),
  );
  out.push('### Requests by guest PID', '');
  out.push(
    table(
      ['pid', '>requests', '>share', 'top opcodes'],
      input.byPid.map((p) => [
        pid(p.pid),
        p.requests,
        pct(p.share),
        mdCell(p.topOpcodes.map((x) => `${x.name} ${int(x.requests)}`).join(', ')),
      ]),
      input.byPid.length,
      Math.min(l.top, o.top),
      'PIDs',
    ),
  );
  out.push('### Requests by inode', '');
  out.push(
    table(
      ['>nodeid', '>requests', '>share', 'paths'],
      input.byInode.top.map((r) => [
        r.nodeid,
        r.requests,
        pct(r.share),
        mdCell(clip((r.paths ?? []).map((p) => p.path).join(', '), l.text)),
      ]),
      input.byInode.distinct,
      Math.min(l.top, o.top),
      'inodes',
    ),
  );
  if (input.errors.total > 0) {
    out.push('### Errors', '');
    out.push(
      table(
        ['opcode', 'errno', '>count'],
        input.errors.byOpcode.map((e) => [mdCell(e.name), mdCell(e.errnoName), e.count]),
        input.errors.byOpcode.length,
        Math.min(l.top, o.top),
        'rows',
      ),
    );
  }
  if (t.unanswered > 0) {
    out.push('### Unanswered at end', '');
    out.push(
      table(
        ['>line', 'time', 'opcode', '>nodeid', 'pid', '>age'],
        input.unanswered.map((u) => [
          u.line,
          utc(u.ts, day, true),
          mdCell(u.name),
          u.nodeid,
          pid(u.pid),
          u.ageSec === null ? '—' : duration(u.ageSec),
        ]),
        t.unanswered,
        Math.min(l.top, o.top),
        'requests',
      ),
    );
  }
  const ms = input.milestones ?? [];
  if (ms.length > 0) {
    out.push('### Last guest milestones', '');
    const sorted = [...ms].sort((a, b) => a.time - b.time);
    const limit = Math.min(l.top, 10);
    out.push(
      table(
        ['time', 'kind', 'text'],
        sorted
          .slice(-Math.max(1, limit))
          .map((m) => [utc(m.time, day, true), mdCell(m.kind), mdCode(clip(m.text, l.text))]),
        ms.length,
        limit,
        'milestones',
      ),
    );
  }
  if (input.recent.length > 0 && o.recent > 0) {
    out.push('### Recent activity', '');
    const limit = Math.min(l.recent, o.recent);
    out.push(
      table(
        ['>line', 'time', 'opcode', '>nodeid', 'pid', 'result'],
        input.recent
          .slice(-Math.max(1, limit))
          .map((r) => [r.line, utc(r.ts, day, true), mdCell(r.name), r.nodeid, pid(r.pid), mdCell(r.result)]),
        input.recent.length,
        limit,
        'requests',
      ),
    );
  }
  if (input.lines.unrecognizedSamples.length > 0) {
    out.push(`### Unrecognized lines (${int(input.lines.byKind.unrecognized)})`, '');
    out.push(
      table(
        ['>line', 'text'],
        input.lines.unrecognizedSamples.map((s) => [s.line, mdCode(clip(s.text, l.text))]),
        input.lines.byKind.unrecognized,
        Math.min(l.top, 5),
        'lines',
      ),
    );
  }
  return out.join('\n');
}

function build(doc: ReportDocument, l: Limits, o: Required<Omit<MarkdownOptions, 'maxBytes'>>): string {
  const out: string[] = [];
  const first = doc.inputs[0];
  if (doc.inputs.length === 1 && first) {
    out.push(`# vfs-analyze: ${verdictLine(first.verdict)}`, '');
  } else {
    const hung = doc.inputs.filter((i) => isProblem(i.verdict?.kind)).length;
    out.push(
      `# vfs-analyze: ${hung > 0 ? `🔴 ${hung} of ${doc.inputs.length} inputs hung` : `${doc.inputs.length} inputs analysed`}`,
      '',
    );
    out.push(
      table(
        ['input', 'verdict', '>requests', '>duration', '>req/s', '>unanswered'],
        doc.inputs.map((i) => [
          mdCode(clip(i.file, 120)),
          i.verdict ? `${OUTCOME_ICON[i.verdict.kind] ?? ''} ${mdCell(clip(i.verdict.title, l.text))}` : '—',
          i.totals.requests,
          duration(i.time.durationSec),
          rate(i.rate.meanPerSec),
          i.totals.unanswered,
        ]),
        doc.inputs.length,
        Math.max(l.top, 1) * 20,
        'inputs',
      ),
    );
  }
  if (doc.errors.length > 0) {
    out.push('### Inputs that could not be analysed', '');
    out.push(
      doc.errors.map((e) => `- ${mdText(clip(e.message, l.text))} (exit ${e.exitCode})`).join('\n'),
      '',
    );
  }
  const perInput = l.top > 0 ? doc.inputs : doc.inputs.slice(0, 1);
  for (const input of perInput) out.push(inputMarkdown(input, l, o));
  if (perInput.length < doc.inputs.length) {
    out.push(
      `_${doc.inputs.length - perInput.length} more input section(s) omitted to stay under the size limit._`,
    );
  }
  out.push('', `<sub>${mdText(`${doc.tool.name} ${doc.tool.version}`)} · times UTC</sub>`, '');
  return out.join('\n');
}

/** Cut `s` to at most `maxBytes` UTF-8 bytes on a character boundary. */
function cutBytes(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** The job-summary Markdown of an analysis document, at most `maxBytes` bytes of UTF-8. */
export function renderMarkdown(doc: ReportDocument, opts: MarkdownOptions = {}): string {
  const maxBytes = opts.maxBytes ?? DEFAULT_MARKDOWN_MAX_BYTES;
  const o = { top: opts.top ?? 15, recent: opts.recent ?? 10 };
  const steps: Limits[] = [
    { top: o.top, recent: o.recent, text: 300 },
    { top: 8, recent: 5, text: 200 },
    { top: 4, recent: 3, text: 120 },
    { top: 2, recent: 1, text: 80 },
    { top: 0, recent: 0, text: 60 },
  ];
  let md = '';
  for (const l of steps) {
    md = build(doc, l, o);
    if (Buffer.byteLength(md, 'utf8') <= maxBytes) return md;
  }
  const note = '\n\n_… summary cut here: it exceeded the size limit. See the full report (HTML or JSON)._\n';
  return cutBytes(md, Math.max(0, maxBytes - Buffer.byteLength(note, 'utf8'))) + note;
}
