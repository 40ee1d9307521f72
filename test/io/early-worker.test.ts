/** The analysis worker started before the program loads: when it is started, and what its module loads first. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasPrewarmedWorker, prewarmAnalysisWorker, takeWarm } from '../../src/io/early-worker.js';

afterEach(async () => {
  await takeWarm()?.terminate();
  delete process.env.VFS_ANALYZE_THREADS;
});

describe('early worker', () => {
  it('is not started for sub-commands, help, --follow or one thread', () => {
    for (const argv of [
      [],
      ['run', 'IMAGE'],
      ['compare', 'runs'],
      ['report', 'x.json'],
      ['gate', 'x.json'],
      ['--help'],
      ['-h'],
      ['--version'],
      ['--follow', 'x.log'],
      ['--follow=x.log'],
      ['x.log', '--threads', '1'],
      ['x.log', '--threads=1'],
    ]) {
      prewarmAnalysisWorker(argv);
      expect(hasPrewarmedWorker(), argv.join(' ')).toBe(false);
    }
    process.env.VFS_ANALYZE_THREADS = '1';
    prewarmAnalysisWorker(['x.log']);
    expect(hasPrewarmedWorker()).toBe(false);
  });

  it('is started for a log, once, and taken once', async () => {
    prewarmAnalysisWorker(['x.log', '--json']);
    expect(hasPrewarmedWorker()).toBe(true);
    const w = takeWarm();
    expect(w).not.toBeNull();
    expect(hasPrewarmedWorker()).toBe(false);
    expect(takeWarm()).toBeNull();
    await w?.terminate();
  });

  it('loads nothing but node:worker_threads before the worker starts', () => {
    // the point of the module: bin/vfs-analyze.js imports it first, so the worker starts before the program loads
    const src = readFileSync(new URL('../../src/io/early-worker.ts', import.meta.url), 'utf8');
    const imports = [...src.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['node:worker_threads']);
    const bin = readFileSync(new URL('../../bin/vfs-analyze.js', import.meta.url), 'utf8');
    expect([...bin.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual([
      '../dist/io/early-worker.js',
    ]);
  });
});
