import { describe, expect, test } from 'vitest';
import { analysisDocument } from '../../src/report/json.js';
import { DEFAULT_MARKDOWN_MAX_BYTES, renderMarkdown } from '../../src/report/markdown.js';
import type { ReportInput } from '../../src/report/model.js';
import { analyzed, healthyInput, LAB, livelockInput, XSS } from './fixtures.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('renderMarkdown', () => {
  test('verdict title first, then the key tables', () => {
    const input = livelockInput();
    const md = renderMarkdown(analysisDocument('0.1.0', [input], []));
    const lines = md.split('\n');
    expect(lines[0]).toBe(
      `# vfs-analyze: 🔴 **LIVELOCK**: livelock: pid 1 (sh) Lookup(1)→Getattr→Forget ×7.6k since 03:02:10`,
    );
    const order = [
      '### Requests by opcode',
      '### Requests by guest PID',
      '### Requests by inode',
      '### Recent activity',
    ];
    const at = order.map((h) => md.indexOf(h));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(md).toContain('| Getattr | 38,000 | 38,000 | 0 | 0 | 0 |');
    expect(md).toContain('| requests | 83,602 |');
    expect(md).toContain('15 of 22,802 inodes shown.');
  });

  test('log text cannot inject HTML or break tables', () => {
    const input = livelockInput();
    input.byOpcode[0].name = 'Get|attr <b>x</b>';
    const md = renderMarkdown(analysisDocument('0.1.0', [input], []));
    // Outside code spans (which GitHub renders literally) no markup survives.
    const outside = md.replace(/`[^`\n]*`/g, '');
    expect(outside).not.toContain('<script>');
    expect(outside).not.toContain('<img');
    expect(outside).not.toContain('<b>');
    // Backticks in log text cannot close a code span early.
    expect(md).toContain('`garbage <script>');
    expect(md).toContain('&lt;script&gt;');
    expect(md).toContain('| Get\\|attr &lt;b&gt;x&lt;/b&gt; |');
    // Every table row has the same number of unescaped pipes as its header.
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    for (const t of tables) {
      const rows = t.split('\n').filter((l) => l.startsWith('|'));
      const cells = rows.map((r) => r.replace(/\\\|/g, '').split('|').length);
      expect(new Set(cells).size).toBe(1);
    }
    expect(XSS).toContain('<script>');
  });

  test('the largest fixture stays under 1 MiB', () => {
    const a = analyzed(`${LAB}c-7.2-unpack-cache-none/`);
    const md = renderMarkdown(analysisDocument('0.1.0', [a], []));
    expect(bytes(md)).toBeLessThan(1024 * 1024);
    expect(bytes(md)).toBeLessThanOrEqual(DEFAULT_MARKDOWN_MAX_BYTES);
    expect(md.startsWith('# vfs-analyze: ⚪ no verdict')).toBe(true);
  });

  test('many inputs are trimmed with a note to fit maxBytes', () => {
    const base = healthyInput('rust-1.13.2-walk-cache-metadata');
    const inputs: ReportInput[] = Array.from({ length: 60 }, (_, i) => ({
      ...base,
      file: `run-${i}/virtiofsd.log`,
      warnings: [`${'w'.repeat(500)} ${i}`],
    }));
    const doc = analysisDocument('0.1.0', inputs, []);
    const full = renderMarkdown(doc, { maxBytes: 50 * 1024 * 1024 });
    const small = renderMarkdown(doc, { maxBytes: 40_000 });
    expect(bytes(full)).toBeGreaterThan(40_000);
    expect(bytes(small)).toBeLessThanOrEqual(40_000);
    expect(small).toMatch(/trimmed|omitted|cut here/);
    expect(small.split('\n')[0]).toBe('# vfs-analyze: 60 inputs analysed');
    const tiny = renderMarkdown(doc, { maxBytes: 3000 });
    expect(bytes(tiny)).toBeLessThanOrEqual(3000);
    expect(tiny).toContain('summary cut here');
    expect(tiny.startsWith('# vfs-analyze')).toBe(true);
  });
});
