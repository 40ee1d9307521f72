/** Worker thread: analyse one byte range of a plain log file and send the mergeable parts back. */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { type AnalysisOptions, VirtiofsdAnalysis } from '../analyze/virtiofsd-analysis.js';

export interface RangeJob {
  path: string;
  start: number;
  end: number;
  seedTs: number;
  opts: AnalysisOptions;
}

const CHUNK = 1 << 20;

async function run(job: RangeJob): Promise<void> {
  const analysis = new VirtiofsdAnalysis(job.path, job.opts);
  analysis.parser.ts = job.seedTs;
  const fh = await open(job.path, 'r');
  try {
    let pos = job.start;
    let n = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    while (pos < job.end) {
      const want = Math.min(CHUNK, job.end - pos);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) break;
      analysis.push(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      pos += bytesRead;
      if (++n % 16 === 0) parentPort?.postMessage({ progress: pos - job.start });
    }
  } finally {
    await fh.close();
  }
  analysis.end();
  parentPort?.postMessage({ parts: analysis.exportParts() });
}

run(workerData as RangeJob).catch((err: unknown) => {
  parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
});
