import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRange } from '../../src/io/read-range.js';

describe('readRange', () => {
  it('pushes exactly bytes [start, end) in 1 MiB chunks and reports the bytes done', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-range-')), 'x.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeFileSync(f, data);
    const got: Buffer[] = [];
    const done: number[] = [];
    const start = 1000;
    const end = data.length - 77;
    // the buffer is reused between chunks, so copy what is kept (as the line scanner does)
    await readRange(f, start, end, { push: (c) => got.push(Buffer.from(c)) }, (d) => void done.push(d));
    expect(Buffer.concat(got).equals(data.subarray(start, end))).toBe(true);
    expect(got.map((c) => c.length)).toEqual([1 << 20, 1 << 20, end - start - 2 * (1 << 20)]);
    expect(done[done.length - 1]).toBe(end - start);
  });

  it('an empty range reads nothing', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-range-')), 'y.bin');
    writeFileSync(f, 'abc');
    const got: Buffer[] = [];
    await readRange(f, 2, 2, { push: (c) => got.push(c) });
    expect(got).toEqual([]);
  });
});
