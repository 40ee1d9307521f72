/** The analysis worker started early (before the program has read its options) does the same work. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasPrewarmedWorker, prewarmAnalysisWorker } from '../../src/io/analysis-worker.js';
import { analyzeInput } from '../../src/io/analyze-input.js';
import { AnalysisSession } from '../../src/session/analysis-session.js';
import { readLog } from '../support/analyze.js';

async function analyse(file: string, threads: number) {
  const session = new AnalysisSession({ evidenceFiles: {} });
  const events = { sink: session.events, restart: () => session.restartEvents() };
  const o = await analyzeInput(file, { threads, parallelMinBytes: 0, events });
  const verdict =
    o.analysis && session.postMortem(o.analysis, { withVerdict: true, hasGuest: false }).verdict;
  return { readBy: o.readBy, json: JSON.stringify({ analysis: o.analysis, verdict }) };
}

describe('analysis worker started early', () => {
  it('is not started for sub-commands, help, --follow or one thread', () => {
    for (const argv of [
      [],
      ['run', 'IMAGE'],
      ['compare', 'runs'],
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
  });

  it('takes its job as its first message and gives the analysis and verdict one thread gives', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-warm-')), 'boot.log');
    writeFileSync(f, readLog('fixtures/lab/rust-1.13.2-systemd-k7.3-never-loop/virtiofsd.log.gz'));
    const one = await analyse(f, 1);
    prewarmAnalysisWorker([f]);
    expect(hasPrewarmedWorker()).toBe(true);
    // let it load before the job comes (as the CLI's own start-up would)
    await new Promise((r) => setTimeout(r, 300));
    const warm = await analyse(f, 2);
    expect(hasPrewarmedWorker()).toBe(false);
    expect(warm.readBy).toBe('worker');
    expect(warm.json).toBe(one.json);
    // and the next analysis starts a worker of its own
    expect(await analyse(f, 2)).toEqual(warm);
  });
});
