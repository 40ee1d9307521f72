import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRange } from '../../src/io/read-range.js';

describe('readRange', () => {
  it('pushes exactly bytes [start, end) in chunks of at most 1 MiB, each but the last ending a line', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-range-')), 'x.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff; // a newline every 256 bytes
    writeFileSync(f, data);
    const got: Buffer[] = [];
    const done: number[] = [];
    const start = 1000;
    const end = data.length - 77;
    // the buffer is reused between chunks, so copy what is kept (as the line scanner does)
    await readRange(f, start, end, { push: (c) => got.push(Buffer.from(c)) }, (d) => void done.push(d));
    expect(Buffer.concat(got).equals(data.subarray(start, end))).toBe(true);
    expect(got.length).toBe(3);
    for (const c of got) expect(c.length).toBeLessThanOrEqual(1 << 20);
    for (const c of got.slice(0, -1)) {
      expect(c[c.length - 1]).toBe(10);
      expect(c.length).toBeGreaterThan((1 << 20) - 256);
    }
    expect(done).toEqual(got.map((_, i) => got.slice(0, i + 1).reduce((n, c) => n + c.length, 0)));
  });

  it('a line longer than a chunk goes in whole chunks, the bytes unchanged', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-range-')), 'long.log');
    const data = Buffer.concat([
      Buffer.from('first\n'),
      Buffer.alloc(1536 * 1024, 0x61),
      Buffer.from('\nlast line\n'),
    ]);
    writeFileSync(f, data);
    const got: Buffer[] = [];
    await readRange(f, 0, data.length, { push: (c) => got.push(Buffer.from(c)) });
    expect(Buffer.concat(got).equals(data)).toBe(true);
    // the first chunk ends after "first\n"; the long line then fills a whole chunk, with no newline in it
    expect(got[0].toString()).toBe('first\n');
    expect(got[1].length).toBe(1 << 20);
    expect(got[1].includes(10)).toBe(false);
  });

  it('an empty range reads nothing', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-range-')), 'y.bin');
    writeFileSync(f, 'abc');
    const got: Buffer[] = [];
    await readRange(f, 2, 2, { push: (c) => got.push(c) });
    expect(got).toEqual([]);
  });
});
