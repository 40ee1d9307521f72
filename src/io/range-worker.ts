/**
 * Worker thread: analyse one byte range of a plain log file, a whole file, or (`stream`) the bytes the main thread
 * posts (read or inflated there). A byte range sends its mergeable parts back; a whole input sends its finished
 * analysis (`{ finished }`: the result and the outstanding requests). With `record`, the parsed events go back as
 * batches too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PostMortemReducer } from '../analyze/postmortem.js';
import { type AnalysisOptions, VirtiofsdAnalysis } from '../analyze/virtiofsd-analysis.js';
import { batchBuffers, type EventBatch, EventRecorder, reduceBatch } from '../parse/event-batch.js';
import { WARM_UP_CAPS, warmUpBatches } from '../parse/warm-up.js';
import { readRange } from './read-range.js';

export interface RangeJob {
  path: string;
  start: number;
  end: number;
  seedTs: number;
  opts: AnalysisOptions;
  /** Also send the parsed events as batches, at most MAX_INFLIGHT ahead of the main thread's replay: a streamed
   * input (analyzeStreamInWorker) or a whole plain file (analyzeFileInWorker). The ranges of a split file never
   * record (nothing could replay them in order). */
  record: boolean;
  /** Read `{ chunk }` messages (acknowledged one by one with `{ ack }`) until `{ end }`, not the file. */
  stream?: boolean;
}

/** Batches sent but not yet replayed by the main thread; the reader waits beyond this (bounds memory). */
const MAX_INFLIGHT = 8;
/** ... until the main thread's first credit: a worker started early (analysis-worker.ts) runs ahead while the
 * main thread is still loading (~50–80 ms of parsing: ~40 batches, 15 MB, given back to GC once replayed). */
const EARLY_INFLIGHT = 48;

/** Messages that came before run() listens (a job posted to an early-started worker, and what follows it). */
const early: unknown[] = [];
let deliver: ((m: unknown) => void) | null = null;
let jobArrived: ((job: RangeJob) => void) | null = null;
parentPort?.on('message', (m: { job?: RangeJob }) => {
  if (m.job && jobArrived) jobArrived(m.job);
  else if (deliver) deliver(m);
  else early.push(m);
});

/**
 * Type feedback for the rare branches of the post-mortem before the log (see parse/warm-up.ts): the warm-up events
 * through a throwaway recorder and reducer, as the log's will go.
 */
function warmUp(opts: AnalysisOptions): void {
  warmUpBatches(new PostMortemReducer({ ...opts, ...WARM_UP_CAPS }));
}

async function run(job: RangeJob): Promise<void> {
  warmUp(job.opts);
  const ready: EventBatch[] = [];
  // Recording, the parser fills the batches only, and each full batch is replayed into the post-mortem here before
  // it is sent: one call per event instead of two (the fast lane fills a batch a column at a time).
  const recorder = job.record
    ? new EventRecorder((b) => {
        reduceBatch(b, analysis.reducer);
        ready.push(b);
      })
    : undefined;
  const analysis = new VirtiofsdAnalysis(job.path, {
    ...job.opts,
    extraSink: recorder,
    postMortem: recorder === undefined,
  });
  analysis.parser.ts = job.seedTs;
  let inflight = 0;
  let maxInflight = EARLY_INFLIGHT;
  let wake: (() => void) | null = null;
  // stream mode: chunks posted by the main thread, in order; null marks the end
  const posted: ({ buf: ArrayBuffer; length: number } | null)[] = [];
  let arrived: (() => void) | null = null;
  type Message = { credit?: number; batch?: EventBatch; chunk?: ArrayBuffer; length?: number; end?: boolean };
  deliver = (raw: unknown) => {
    const m = raw as Message;
    if (m.credit) {
      maxInflight = MAX_INFLIGHT;
      if (m.batch) recorder?.recycle(m.batch);
      inflight -= m.credit;
      wake?.();
      wake = null;
    } else if (m.chunk || m.end) {
      posted.push(m.chunk ? { buf: m.chunk, length: m.length ?? m.chunk.byteLength } : null);
      arrived?.();
      arrived = null;
    }
  };
  for (const m of early.splice(0)) deliver(m);
  const send = async () => {
    for (const batch of ready.splice(0)) {
      parentPort?.postMessage({ batch }, batchBuffers(batch));
      inflight++;
    }
    while (inflight >= maxInflight) await new Promise<void>((r) => (wake = r));
  };
  if (job.stream) {
    for (;;) {
      while (posted.length === 0) await new Promise<void>((r) => (arrived = r));
      const chunk = posted.shift();
      if (!chunk) break;
      // the scanner copies what it keeps of a chunk (a partial line), so the buffer can go back for reuse
      // a binary input is not parsed on (the one-pass reader stops there too)
      if (!analysis.isBinary) analysis.push(Buffer.from(chunk.buf, 0, chunk.length));
      parentPort?.postMessage({ ack: chunk.buf }, [chunk.buf]);
      if (ready.length > 0) await send();
    }
    return finish(analysis, recorder, ready, true);
  }
  let n = 0;
  await readRange(job.path, job.start, job.end, analysis, async (done) => {
    if (++n % 16 === 0) parentPort?.postMessage({ progress: done });
    if (ready.length > 0) await send();
  });
  // a whole file read here (the default command) ends as a stream does; a byte range is merged with the others
  finish(analysis, recorder, ready, job.record);
}

function finish(
  analysis: VirtiofsdAnalysis,
  recorder: EventRecorder | undefined,
  ready: EventBatch[],
  whole: boolean,
): void {
  analysis.end();
  recorder?.flush();
  for (const batch of ready.splice(0)) parentPort?.postMessage({ batch }, batchBuffers(batch));
  if (whole) {
    // The whole input: the result is computed here, while the main thread replays the last batches, and sent as
    // data with the requests still waiting (the counters and tables stay here).
    parentPort?.postMessage({ finished: analysis.finishedParts() });
  } else {
    const parts = analysis.exportParts();
    // Move the typed arrays (counters, bitmaps, tables: megabytes) instead of copying them into the main thread.
    parentPort?.postMessage({ parts }, transferables(parts));
  }
  parentPort?.unref();
}

/** The job: given at start, or (a worker started early, see analysis-worker.ts) the first message. */
function theJob(): Promise<RangeJob> {
  if (workerData) return Promise.resolve(workerData as RangeJob);
  return new Promise((resolve) => {
    jobArrived = (job) => {
      jobArrived = null;
      resolve(job);
    };
  });
}

theJob()
  .then(run)
  .catch((err: unknown) => {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  });

/** Every ArrayBuffer reachable from `root` through plain objects, arrays, Maps and typed arrays. */
function transferables(root: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const b = v.buffer;
      // Only whole, unpooled buffers: a small typed array may share Node's pool with unrelated data.
      if (b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength) out.add(b);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return [...out];
}
