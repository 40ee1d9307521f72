/** A JSON file read with one-line errors that name it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readJson } from '../../src/io/read-json.js';

describe('readJson', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfs-json-'));

  it('parses a file, with or without a size bound', async () => {
    const f = join(dir, 'ok.json');
    writeFileSync(f, '{"thresholds": {"minLoopSec": 5}}');
    expect(await readJson(f)).toEqual({ thresholds: { minLoopSec: 5 } });
    expect(await readJson(f, 1024)).toEqual({ thresholds: { minLoopSec: 5 } });
  });

  it('names the file in one line: not JSON, too large, missing', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"a": ');
    await expect(readJson(bad)).rejects.toThrow(/bad\.json: not valid JSON/);
    const big = join(dir, 'big.json');
    writeFileSync(big, `[${'1,'.repeat(100)}1]`);
    await expect(readJson(big, 100)).rejects.toThrow(/big\.json: larger than 100 bytes/);
    expect(await readJson(big, 1000)).toHaveLength(101);
    const err = await readJson(join(dir, 'missing.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toMatch(/missing\.json/);
    expect(String((err as Error).message)).not.toContain('\n');
  });
});
