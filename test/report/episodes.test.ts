/** Loop episodes, what the guest waits on, and inferred units reach every renderer (terminal, HTML, Markdown, JUnit, JSON). */
import { Chalk } from 'chalk';
import { describe, expect, test } from 'vitest';
import type { Correlation } from '../../src/analyze/correlate.js';
import type { GuestResult } from '../../src/analyze/guest-session.js';
import { escHtml } from '../../src/report/escape.js';
import { shortenSignatures, shortSignature, utc } from '../../src/report/format.js';
import { renderHtml } from '../../src/report/html.js';
import { analysisDocument, renderJson } from '../../src/report/json.js';
import { renderJUnit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { ReportInput } from '../../src/report/model.js';
import { renderTerminal } from '../../src/report/terminal.js';
import type { LoopEpisodeReport, Verdict } from '../../src/verdict/types.js';
import { episodeInput, LONG_SIGNATURE } from './fixtures.js';
import { parseXml, type XmlElement } from './xml.js';

const FULL_SIG = LONG_SIGNATURE.join('→');
const SHORT_SIG = 'Lookup(0)→Getattr(1)→Lookup(2)→Getattr(3)→Lookup(4)→Getattr(5)→…(+14)';
const TRANSIENT =
  'transient loop: pid 417 Getattr(1)→Lookup(1) ×2.6k for 3 s, then progress (Started udev Coldplug all Devices.)';

/** `n` copies of the transient episode, for the caps. */
function manyEpisodes(input: ReportInput, n: number): LoopEpisodeReport[] {
  const e = input.verdict!.episodes![1];
  return Array.from({ length: n }, (_, i) => ({ ...e, pid: 1000 + i, summary: `${e.summary} #${i}` }));
}

describe('format: signature shortening', () => {
  test('keeps the first 6 tokens of long signatures, leaves short ones and other text alone', () => {
    expect(shortSignature(LONG_SIGNATURE)).toBe(SHORT_SIG);
    expect(shortSignature(['A(1)', 'B(new)'])).toBe('A(1)→B(new)');
    expect(shortenSignatures(`livelock: pid 1 (systemd) ${FULL_SIG} ×12k since 03:02:10`)).toBe(
      `livelock: pid 1 (systemd) ${SHORT_SIG} ×12k since 03:02:10`,
    );
    const short = 'livelock: pid 1 (sh) Lookup(1)→Getattr→Forget ×7.6k since 03:02:10';
    expect(shortenSignatures(short)).toBe(short);
  });
});

describe('terminal', () => {
  const chalk = new Chalk({ level: 0 });
  const render = (input: ReportInput, extra: Partial<Parameters<typeof renderTerminal>[1]> = {}) =>
    renderTerminal(input, { chalk, top: 5, recent: 0, width: 200, verdict: input.verdict, ...extra });
  /** Wrapped lines joined back into one line per field. */
  const flat = (s: string) => s.replace(/\n {9,}/g, ' ');

  test('shows the episodes (summary and times), the waiting job and the inferred unit after the verdict', () => {
    const input = episodeInput();
    const out = render(input);
    const day = input.time.first;
    const ep = input.verdict!.episodes![1];
    expect(out).toContain('Episodes 2 loop episodes in the run, longest first:');
    expect(flat(out)).toContain(`- ${utc(ep.start, day)}–${utc(ep.end, day)} ${TRANSIENT}`);
    // The running loop's 20-token signature is shortened here (--json has all of it).
    expect(flat(out).replace(/→ /g, '→')).toContain(
      'loop still running at the end: pid 1 (systemd) Lookup(0)→Getattr(1)→Lookup(2)→Getattr(3)→Lookup(4)→Getattr(5)→Lookup(6)→Getattr(7)→…(+12) ×12k for 40 s',
    );
    expect(out).not.toContain('more (see --json)');
    expect(flat(out)).toMatch(
      /Waiting {2}start job for vfs-lab-loop\.service: waited 1 min 54 s, no limit, last seen \d\d:\d\d:\d\d/,
    );
    expect(out).toContain('Culprit  pid 1 (systemd) (inferred: unit vfs-lab-loop.service): 12,000 requests');
    // All of it belongs to the verdict block, before the statistics.
    expect(out.indexOf('Episodes')).toBeLessThan(out.indexOf('Lines    '));
  });

  test('lists the longest 3 and counts the rest', () => {
    const input = episodeInput('healthy');
    input.verdict!.episodes = manyEpisodes(input, 7);
    const out = render(input);
    expect(out).toContain('Episodes 7 loop episodes');
    expect(out).toContain('#2');
    expect(out).not.toContain('#3');
    expect(out).toContain('… 4 more (see --json)');
  });

  test("the guest's waiting line is not repeated when the verdict has its own", () => {
    const input = episodeInput();
    const guest = {
      inputs: [],
      clock: null,
      progress: { waitingNow: [{ subject: 'vfs-lab-loop.service', kind: 'start-job-waiting', count: 3 }] },
      pidNames: {},
      probe: null,
    } as unknown as GuestResult;
    const correlation = {
      summary: 'guest made progress',
      afterLastProgress: null,
      timeline: { rowSec: 1, rows: [] },
    } as unknown as Correlation;
    const withVerdict = render(input, { guest, correlation });
    expect(withVerdict.match(/^Waiting /gm)).toHaveLength(1);
    expect(withVerdict).toContain('Waiting  start job for vfs-lab-loop.service: waited');
    const { waitingOn: _, ...rest } = input.verdict!;
    const withoutVerdict = render({ ...input, verdict: rest }, { guest, correlation, verdict: rest });
    expect(withoutVerdict.match(/^Waiting /gm)).toHaveLength(1);
    expect(withoutVerdict).toContain('Waiting  vfs-lab-loop.service');
  });
});

describe('HTML', () => {
  const input = episodeInput();
  const html = renderHtml(analysisDocument('0', [input], []));

  test('the page title and heading shorten a 20-token signature; the full text stays in a tooltip and the body', () => {
    const title = /<title>([^<]*)<\/title>/.exec(html)![1];
    expect(title).toBe(escHtml(`livelock: pid 1 (systemd) ${SHORT_SIG} ×12k since 03:02:10`));
    expect(title).not.toContain('Lookup(18)');
    expect(title.length).toBeLessThan(input.verdict!.title.length / 2);
    const h1 = /<h1([^>]*)>([^<]*)<\/h1>/.exec(html)!;
    expect(h1[2]).toBe(title);
    expect(h1[1]).toBe(` title="${escHtml(input.verdict!.title)}"`);
    expect(html).toContain(`<span class="verdict-title">${escHtml(input.verdict!.title)}</span>`);
  });

  test('a loop-episodes table: signature shortened with the full one as tooltip, start, duration, rate, what followed', () => {
    const day = input.time.first;
    expect(html).toContain('<h3>Loop episodes (2)</h3>');
    const table = html.slice(
      html.indexOf('<h3>Loop episodes'),
      html.indexOf('</table>', html.indexOf('<h3>Loop episodes')),
    );
    const rows = table.split('<tr>').slice(2);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('<td>1 (systemd)</td>');
    expect(rows[0]).toContain(
      `<td class="log"><span title="${escHtml(FULL_SIG)}">${escHtml(SHORT_SIG)}</span></td>`,
    );
    expect(rows[0]).toContain('<td class="n">40 s</td>');
    expect(rows[0]).toContain('<td class="n">6,000</td>');
    expect(rows[0]).toContain('still running at the end</span>');
    expect(rows[1]).toContain('<td>417</td>');
    expect(rows[1]).toContain('<td class="log">Getattr(1)→Lookup(1)</td>');
    expect(rows[1]).toContain(`<td>${utc(input.verdict!.episodes![1].start, day, true)}</td>`);
    expect(rows[1]).toContain('<td class="n">3.0 s</td>');
    expect(rows[1]).toContain(
      `<span title="${escHtml(TRANSIENT)}">progress at ${utc(input.verdict!.episodes![1].after!.time, day)}: Started udev Coldplug all Devices.</span>`,
    );
  });

  test('shows what the guest waits on and the inferred unit, and stays script-free', () => {
    expect(html).toMatch(
      /<p><b>Guest waiting on:<\/b> start job for vfs-lab-loop\.service: waited 1 min 54 s, no limit, last seen /,
    );
    expect(html).toContain('1 (systemd) (inferred: unit vfs-lab-loop.service): 12,000 requests');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i);
    expect(html).toContain("default-src 'none'");
  });

  test('a short title is unchanged and gets no tooltip', () => {
    const plain = episodeInput('healthy');
    plain.verdict!.title = 'healthy: boot reached multi-user.target';
    const out = renderHtml(analysisDocument('0', [plain], []));
    expect(out).toContain('<title>healthy: boot reached multi-user.target</title>');
    expect(out).toContain('<h1>healthy: boot reached multi-user.target</h1>');
  });
});

describe('Markdown', () => {
  const input = episodeInput();
  const md = renderMarkdown(analysisDocument('0', [input], []));

  test('heading shortened, the full title below, an episodes table and the waiting line', () => {
    const lines = md.split('\n');
    expect(lines[0]).toContain(SHORT_SIG.replace(/[()]/g, (c) => c));
    expect(lines[0]).not.toContain('Lookup(18)');
    expect(md).toContain(`Full title: \`${input.verdict!.title}\``);
    expect(md).toContain('### Loop episodes (2)');
    expect(md).toContain('| pid | signature | repetitions | start | duration | req/s | then |');
    expect(md).toMatch(
      /\| 417 \| `Getattr\(1\)→Lookup\(1\)` \| 2,600 \| [\d:.]+ \| 3\.0 s \| 1,733 \| progress at /,
    );
    expect(md).toMatch(
      /\| 1 \(systemd\) \| `Lookup\(0\)→[^`]*→Getattr\(7\)→…\(\+12\)` \| 12,000 \|.*still running at the end \|/,
    );
    expect(md).toMatch(/Guest waiting on: start job for vfs-lab-loop\.service: waited 1 min 54 s, no limit/);
    expect(md).toContain('_(inferred: unit vfs-lab-loop.service)_');
  });

  test('the episodes table is capped at 10 rows', () => {
    const many = episodeInput('healthy');
    many.verdict!.episodes = manyEpisodes(many, 15);
    const out = renderMarkdown(analysisDocument('0', [many], []));
    expect(out).toContain('### Loop episodes (15)');
    expect(out).toContain('| 1009 |');
    expect(out).not.toContain('| 1010 |');
    expect(out).toContain('10 of 15 episodes shown.');
  });
});

describe('JUnit', () => {
  function find(el: XmlElement, name: string): XmlElement[] {
    return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => find(c, name))];
  }

  test('a healthy run with episodes passes and lists them in system-out and properties', () => {
    const input = episodeInput('healthy');
    const root = parseXml(renderJUnit(analysisDocument('0', [input], [])));
    const tc = find(root, 'testcase')[0];
    expect(tc.children.map((c) => c.name)).toEqual(['system-out']);
    const out = tc.children[0].text;
    expect(out.split('\n')[0]).toBe(input.verdict!.title);
    expect(out).toContain('loop episodes (2, longest first):');
    expect(out).toContain(TRANSIENT);
    expect(out).toContain(input.verdict!.episodes![0].summary);
    expect(out).toContain('guest waiting on: start job for vfs-lab-loop.service');
    expect(out).toContain('culprit pid 1 (systemd): inferred: unit vfs-lab-loop.service');
    const props = Object.fromEntries(find(root, 'property').map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({
      loopEpisodes: '2',
      waitingOn: 'vfs-lab-loop.service',
      topCulpritInferredUnit: 'vfs-lab-loop.service',
    });
    expect(root.attrs).toMatchObject({ failures: '0', errors: '0' });
  });

  test('a livelock failure carries the waiting job and the inferred unit in its evidence', () => {
    const root = parseXml(renderJUnit(analysisDocument('0', [episodeInput('livelock')], [])));
    const f = find(root, 'failure')[0];
    expect(f.text).toContain('guest waiting on: start job for vfs-lab-loop.service');
    expect(f.text).toContain('(inferred: unit vfs-lab-loop.service)');
  });
});

describe('JSON', () => {
  test('episodes, waitingOn and inferredUnit reach the document', () => {
    const input = episodeInput();
    const { verdict, ...analysis } = input;
    const doc = JSON.parse(
      renderJson(analysisDocument('0', [analysis], [], null, [], [verdict as Verdict])),
    ) as { inputs: { verdict: Verdict }[] };
    const v = doc.inputs[0].verdict;
    expect(v.episodes).toHaveLength(2);
    expect(v.episodes!.map((e) => e.outcome)).toEqual(['running', 'progress']);
    expect(v.episodes![0].tokens).toEqual(LONG_SIGNATURE);
    expect(v.episodes![1].after?.text).toBe('Started udev Coldplug all Devices.');
    expect(v.waitingOn).toEqual(verdict!.waitingOn);
    expect(v.culprits[0].inferredUnit).toBe('vfs-lab-loop.service');
  });
});
