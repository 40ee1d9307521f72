import { describe, expect, test } from 'vitest';
import type { TimelineBucket } from '../../src/analyze/postmortem.js';
import { escHtml } from '../../src/report/escape.js';
import { renderComparisonHtml, renderHtml } from '../../src/report/html.js';
import { analysisDocument } from '../../src/report/json.js';
import { wilson } from '../../src/report/model.js';
import { analyzeBuffer } from '../support/analyze.js';
import { labComparison, livelockDocument, livelockInput, XSS } from './fixtures.js';

/** Every `<tag` in the document: the report must only contain these. */
const ALLOWED_TAGS = new Set(
  'html head meta title style body h1 h2 h3 div span section p b i ul li table thead tbody tr th td footer svg g rect path line text'.split(
    ' ',
  ),
);

function tags(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1].toLowerCase()));
}

describe('renderHtml', () => {
  const html = renderHtml(livelockDocument());

  test('is one self-contained document without scripts or external references', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    for (const t of tags(html)) expect(ALLOWED_TAGS.has(t), `unexpected <${t}>`).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i);
    // The only URL is the SVG namespace.
    const urls = [...html.matchAll(/\b(?:https?|ftp|file|data):[^\s"'<)]*/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).toContain("default-src 'none'");
  });

  test('log strings are escaped everywhere (pid names, milestones, unrecognized lines)', () => {
    const escaped = escHtml(XSS);
    expect(escaped).toBe(
      '&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;',
    );
    expect(html).toContain(`sh ${escaped}`);
    expect(html).toContain(`echo ${escaped}`);
    expect(html).toContain(`garbage ${escaped} &amp; &quot;quotes&quot; &#39;single&#39;`);
  });

  test('draws the opcode series, milestones, PID lanes and the verdict window with its title', () => {
    const input = livelockInput();
    expect(html).toContain('class="verdict-window"');
    expect(html).toContain(`<span class="verdict-title">${escHtml(input.verdict!.title)}</span>`);
    for (const op of ['Getattr', 'Lookup', 'Forget'])
      expect(html).toMatch(
        new RegExp(`<path class="series" d="M[^"]+" fill="#[0-9a-f]+"><title>${op}</title>`),
      );
    expect(html.match(/<g class="milestone">/g)).toHaveLength(input.milestones!.length);
    expect(html).toContain('class="pid-lane"');
    expect(html).toContain('<h3>Requests by opcode</h3>');
    expect(html).toContain('<td class="n">38,000</td>');
  });

  test('without verdict, milestones or timestamps it still renders', () => {
    const a = analyzeBuffer(
      'unique: 1, opcode: LOOKUP (1), nodeid: 1, insize: 45, pid: 7\n   unique: 1, success, outsize: 144\n',
      {},
      1 << 20,
      'no-stamps.log',
    );
    const out = renderHtml(analysisDocument('0', [a], [{ file: 'x', message: `x: ${XSS}`, exitCode: 2 }]));
    expect(out).toContain('no verdict');
    expect(out).not.toContain('class="verdict-window"');
    expect(out).toContain(`x: ${escHtml(XSS)}`);
  });

  test('long timelines are merged into a bounded number of columns; monotonic clocks get relative ticks', () => {
    const input = livelockInput();
    const buckets: TimelineBucket[] = Array.from({ length: 20_000 }, (_, i) => ({
      t: i * 1000,
      requests: 10 + (i % 7),
      errors: 0,
      topOpcode: 'Getattr',
      topOpcodeRequests: 10,
      topPid: i % 3,
      topPidRequests: 8,
      opcodes: { Getattr: 10, Lookup: i % 7 },
    }));
    input.timeline = { bucketSec: 1, buckets };
    input.milestones = [];
    input.verdict = { ...input.verdict!, window: { start: 5_000_000, end: 9_000_000 } };
    input.clock = { ...input.clock, kind: 'monotonic' };
    const out = renderHtml(analysisDocument('0', [input], []));
    expect(out.length).toBeLessThan(400_000);
    expect(out).toMatch(/>\+\d+m\d\ds</);
  });
});

describe('renderComparisonHtml', () => {
  test('one row per variant, bars and whiskers from Wilson intervals, escaped names', () => {
    const cmp = labComparison();
    const out = renderComparisonHtml(cmp);
    expect(out).not.toMatch(/<script/i);
    expect(out.match(/<rect class="bar"/g)).toHaveLength(3);
    expect(out.match(/<path class="interval"/g)).toHaveLength(3);
    expect(out).toContain(`variant ${escHtml(XSS)}`);
    expect(out).toContain('66.7% (2/3)');
    const w = wilson(2, 3);
    expect(out).toContain(`${(w.low * 100).toFixed(1)}%–${(w.high * 100).toFixed(1)}%`);
  });

  test('wilson interval', () => {
    expect(wilson(0, 0)).toMatchObject({ low: 0, high: 1 });
    const w = wilson(5, 10);
    expect(w.rate).toBe(0.5);
    expect(w.low).toBeCloseTo(0.2366, 3);
    expect(w.high).toBeCloseTo(0.7634, 3);
  });
});
