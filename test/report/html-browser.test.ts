/**
 * The HTML reports opened in headless Chromium (Debian's `chromium`, driven by playwright-core): no console errors,
 * charts drawn, verdict title visible, injected markup inert. Screenshots go to reports/test-artifacts/.
 * Skipped (with a message) when /usr/bin/chromium or playwright-core is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compareRuns } from '../../src/compare/comparison.js';
import { renderComparisonHtml, renderHtml } from '../../src/report/html.js';
import { labComparison, labRunRecords, livelockDocument } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../reports/test-artifacts/', import.meta.url).pathname;

function playwrightAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('playwright-core');
    return true;
  } catch {
    return false;
  }
}

const missing = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install -y chromium)`
  : !playwrightAvailable()
    ? 'playwright-core is not installed (npm install)'
    : '';
if (missing) console.warn(`html-browser tests skipped: ${missing}`);

/** Facts gathered inside the page (the page code is a string: this project type-checks without the DOM lib). */
interface ReportFacts {
  pwned: number;
  scripts: number;
  imgs: number;
  svgs: number;
  seriesPaths: number;
  seriesWithData: number;
  width: number;
  height: number;
  windowRects: number;
  milestones: number;
  pidLanes: number;
  text: string;
}
interface ComparisonFacts {
  pwned: number;
  scripts: number;
  bars: number;
  intervals: number;
  rows: number;
  text: string;
}

describe.skipIf(missing !== '')('HTML report in headless Chromium', () => {
  let ctx: BrowserContext | undefined;
  let profile = '';
  let work = '';

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'vfs-chromium-profile-'));
    work = mkdtempSync(join(tmpdir(), 'vfs-html-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(html: string, name: string) {
    const file = join(work, `${name}.html`);
    writeFileSync(file, html);
    const page: Page = await ctx!.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    return { page, problems, requests, url: pathToFileURL(file).href };
  }

  test('livelock capture: charts, verdict, milestones, no script execution', async () => {
    const doc = livelockDocument();
    const title = doc.inputs[0].verdict!.title;
    const { page, problems, requests, url } = await open(renderHtml(doc), 'livelock-report');
    expect(problems).toEqual([]);
    // Self-contained: the only request is the file itself.
    expect(requests).toEqual([url]);
    const facts = await page.evaluate<ReportFacts>(`(() => {
      const w = window;
      const svgs = [...document.querySelectorAll('svg.chart')];
      const first = svgs[0];
      const box = first?.getBoundingClientRect();
      return {
        pwned: w.__pwned ?? 0,
        scripts: document.querySelectorAll('script').length,
        imgs: document.querySelectorAll('img').length,
        svgs: svgs.length,
        seriesPaths: first ? first.querySelectorAll('path.series').length : 0,
        seriesWithData: first
          ? [...first.querySelectorAll('path.series')].filter((p) => (p.getAttribute('d') ?? '').length > 20).length
          : 0,
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        windowRects: document.querySelectorAll('.verdict-window rect').length,
        milestones: first ? first.querySelectorAll('.milestone path').length : 0,
        pidLanes: first ? first.querySelectorAll('path.pid-lane').length : 0,
        text: document.body.innerText,
      };
    })()`);
    expect(facts.pwned).toBe(0);
    expect(facts.scripts).toBe(0);
    expect(facts.imgs).toBe(0);
    expect(facts.svgs).toBeGreaterThanOrEqual(1);
    expect(facts.seriesPaths).toBeGreaterThanOrEqual(3);
    expect(facts.seriesWithData).toBeGreaterThanOrEqual(3);
    expect(facts.width).toBeGreaterThan(400);
    expect(facts.height).toBeGreaterThan(200);
    expect(facts.windowRects).toBe(1);
    expect(facts.milestones).toBeGreaterThanOrEqual(5);
    expect(facts.pidLanes).toBeGreaterThanOrEqual(1);
    // The injected markup is shown as text.
    expect(facts.text).toContain('<script>window.__pwned=1</script>');
    const vt = page.locator('.verdict-title').first();
    expect(await vt.isVisible()).toBe(true);
    expect(await vt.textContent()).toBe(title);
  });

  test('comparison: one row per variant, outcome-rate chart with intervals', async () => {
    const cmp = labComparison();
    const { page, problems } = await open(renderComparisonHtml(cmp), 'comparison-report');
    expect(problems).toEqual([]);
    const facts = await page.evaluate<ComparisonFacts>(`(() => ({
      pwned: window.__pwned ?? 0,
      scripts: document.querySelectorAll('script').length,
      bars: document.querySelectorAll('svg.chart rect.bar').length,
      intervals: document.querySelectorAll('svg.chart path.interval').length,
      rows: document.querySelectorAll('table')[0]?.querySelectorAll('tbody tr').length ?? 0,
      text: document.body.innerText,
    }))()`);
    expect(facts.pwned).toBe(0);
    expect(facts.scripts).toBe(0);
    expect(facts.bars).toBe(cmp.variants.length);
    expect(facts.intervals).toBe(cmp.variants.length);
    expect(facts.rows).toBe(cmp.variants.length);
    expect(facts.text).toContain('qemu exited 1 before boot: <script>');
  });

  test('comparison of run records (src/compare/): healthy-rate chart, no script execution', async () => {
    const runs = labRunRecords();
    const { page, problems } = await open(
      renderComparisonHtml(compareRuns(runs), { runs }),
      'run-comparison-report',
    );
    expect(problems).toEqual([]);
    const facts = await page.evaluate<ComparisonFacts>(`(() => ({
      pwned: window.__pwned ?? 0,
      scripts: document.querySelectorAll('script').length,
      bars: document.querySelectorAll('svg.chart rect.bar').length,
      intervals: document.querySelectorAll('svg.chart path.interval').length,
      rows: document.querySelectorAll('table')[0]?.querySelectorAll('tbody tr').length ?? 0,
      text: document.body.innerText,
    }))()`);
    expect(facts).toMatchObject({ pwned: 0, scripts: 0, bars: 2, intervals: 2, rows: 2 });
    expect(facts.text).toContain('qemu failed: <script>');
  });
});
