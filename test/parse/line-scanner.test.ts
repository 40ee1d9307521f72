import { describe, expect, it } from 'vitest';
import { LineScanner } from '../../src/parse/line-scanner.js';

function scan(chunks: Buffer[], max?: number) {
  const lines: string[] = [];
  const nums: number[] = [];
  const s = new LineScanner((b, st, e, n) => {
    lines.push(b.toString('latin1', st, e));
    nums.push(n);
  }, max);
  for (const c of chunks) s.push(c);
  s.end();
  return { lines, nums, stats: s.stats };
}

describe('LineScanner', () => {
  it('splits lines, strips CR, keeps an unterminated last line', () => {
    const r = scan([Buffer.from('a\r\nbb\n\nccc')]);
    expect(r.lines).toEqual(['a', 'bb', '', 'ccc']);
    expect(r.nums).toEqual([1, 2, 3, 4]);
    expect(r.stats.unterminatedLastLine).toBe(true);
  });

  it('gives the same lines for any chunking (property)', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let trial = 0; trial < 200; trial++) {
      const parts: string[] = [];
      const n = Math.floor(rnd() * 30);
      for (let i = 0; i < n; i++) parts.push('x'.repeat(Math.floor(rnd() * 40)) + (rnd() < 0.2 ? '\r' : ''));
      const text = parts.join('\n') + (rnd() < 0.5 ? '\n' : '');
      const whole = scan([Buffer.from(text)]);
      const buf = Buffer.from(text);
      const chunks: Buffer[] = [];
      for (let i = 0; i < buf.length; ) {
        const k = 1 + Math.floor(rnd() * 10);
        chunks.push(buf.subarray(i, i + k));
        i += k;
      }
      const pieces = scan(chunks);
      expect(pieces.lines).toEqual(whole.lines);
    }
  });

  it('counts an overlong line and skips it without buffering, across chunks', () => {
    const big = 'y'.repeat(5000);
    const r = scan(
      [Buffer.from(`ok1\n${big.slice(0, 100)}`), Buffer.from(big), Buffer.from(`${big}\nok2\n`)],
      1024,
    );
    expect(r.lines).toEqual(['ok1', 'ok2']);
    expect(r.stats.overlong).toBe(1);
    expect(r.stats.overlongLines).toEqual([2]);
    expect(r.nums).toEqual([1, 3]);
  });

  it('handles an overlong line inside one chunk and at the very end', () => {
    const r = scan([Buffer.from(`a\n${'z'.repeat(3000)}\nb\n${'q'.repeat(3000)}`)], 1000);
    expect(r.lines).toEqual(['a', 'b']);
    expect(r.stats.overlong).toBe(2);
    expect(r.stats.lines).toBe(4);
  });
});

describe('NUL runs (a copytruncate gap)', () => {
  it('are skipped where a line starts, counted, and their byte ranges kept, across chunk boundaries', () => {
    const lines: string[] = [];
    const input = Buffer.concat([
      Buffer.alloc(10),
      Buffer.from('one\n'),
      Buffer.alloc(7),
      Buffer.from('two\nthree'),
      Buffer.from('\n'),
    ]);
    // every split point: the result must not depend on where chunks end
    for (let cut = 0; cut <= input.length; cut++) {
      lines.length = 0;
      const s = new LineScanner((b, st, e) => lines.push(b.toString('latin1', st, e)));
      s.push(input.subarray(0, cut));
      s.push(input.subarray(cut));
      s.end();
      expect(lines, `cut ${cut}`).toEqual(['one', 'two', 'three']);
      expect(s.stats.nulBytes).toBe(17);
      expect(s.stats.nulRuns).toEqual([
        [0, 10],
        [14, 21],
      ]);
    }
  });
});
