/**
 * A few hundred synthetic events that take every branch of the hot event paths once: the post-mortem's
 * `requestAt`/`replyAt` and the pending table, `reduceBatch`/`replayBatch`, the verdict engine and its loop
 * trackers. Fed to throwaway sinks before a large log, so that V8 has type feedback for the rare branches (a new
 * second, a new inode page, a unique-less request, a colliding unique, a loop episode, a disconnect) before it
 * optimizes the hot code. Without it, the first time the real log takes such a branch the optimized code is thrown
 * away and compiled again (~20–50 ms of compile each on a busy 2-core machine, the interpreter running meanwhile).
 *
 * Nothing here reaches a result: the sinks fed are discarded. The events are those a real Rust virtiofsd log
 * gives (see docs), plus a C lookup result (`entry`) for the batch loops' branch.
 */
import { type EventBatch, EventRecorder, type RowReducer, reduceBatch } from './event-batch.js';
import { OP } from './opcodes.js';
import { Daemon, type VirtiofsdSink } from './virtiofsd.js';

const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;

/**
 * Caps for the throwaway sinks, small enough that the warm-up events reach them (the tables evict, the arrival
 * ring is compacted): those branches get feedback too. Only the sizes differ from a real run's sinks.
 */
export const WARM_UP_CAPS = { maxPids: 16, maxBigInodes: 4, maxPending: 256, maxBuckets: 4 } as const;
export const WARM_UP_THRESHOLDS = { maxPids: 16, maxTrackedInodes: 64, maxEpisodes: 2 } as const;

/** Feeds the warm-up events to `sink`, in file order (line numbers from 1). */
export function warmUpEvents(sink: VirtiofsdSink): number {
  let line = 0;
  let unique = 2;
  const req = (t: number, op: number, node: number, pid: number, u = (unique += 2)) => {
    sink.request(T0 + t * SEC, ++line, op, node, u, pid, Daemon.rust);
    return u;
  };
  const ok = (t: number, u: number) => sink.reply(T0 + t * SEC, ++line, u, 0, 16);
  const fail = (t: number, u: number) => sink.reply(T0 + t * SEC, ++line, u, -2, 16);

  ok(0, req(0, OP.INIT, 0, 0));
  // seconds 0–2 and (after a gap longer than loopGapSec) 6–7: PID 50 loops on two requests (an episode starts,
  // runs, is broken off by noise, resumes, closes at the gap and starts again); other PIDs come and go
  for (const t of [0, 1, 2, 6, 7]) {
    for (let k = 0; k < 150; k++) ok(t, req(t, k % 2 === 0 ? OP.LOOKUP : OP.GETATTR, 1, 50));
    if (t === 1) {
      // 24 requests outside the loop: more than the noise tolerated, so the episode breaks off
      for (let k = 0; k < 24; k++) ok(t, req(t, 3 + (k % 12), 100 + k, 50));
    }
    // other PIDs; once (after the gap), more than the throwaway sinks keep: their tables collide, grow and evict
    for (let pid = 51; pid < (t === 6 ? 91 : 55); pid++) fail(t, req(t, OP.GETATTR, 3 + t, pid));
    // one PID with more distinct requests than its loop tracker's table holds (the table is rebuilt)
    if (t === 2)
      for (let k = 0; k < 192; k++) ok(t, req(t, 1 + (k % 63), k < 63 ? 0 : k < 126 ? 1 : 1000 + k, 63));
    // a nodeid in a new page of counters, and one beyond the directly indexed ones
    ok(t, req(t, OP.GETATTR, 70_000 + t, 60));
    ok(t, req(t, OP.GETATTR, 2 ** 23 + t, 60));
    // requests that get no reply
    req(t, OP.FORGET, 5, 0);
    req(t, OP.BATCH_FORGET, 0, 0);
    req(t, OP.INTERRUPT, 0, 61);
    // an opcode no table row is kept for
    ok(t, req(t, 4096, 1, 61));
    // a request whose unique is still outstanding (superseded), and two uniques sharing a table slot
    const again = req(t, OP.READ, 9, 62);
    ok(t, req(t, OP.READ, 9, 62, again));
    const low = req(t, OP.READ, 9, 62, 100_001 + t * 2);
    const high = req(t, OP.READ, 9, 62, low + 65_536);
    fail(t, high);
    ok(t, low);
    // a reply to no request; a reply in a later second than its request
    ok(t, 999_999);
    if (t === 2) ok(3, req(t, OP.GETATTR, 1, 64));
    // a request without a unique (an unknown opcode) and its ENOSYS reply, which carries one
    req(t, 52, 1, -1, -1);
    sink.reply(T0 + t * SEC, ++line, (unique += 2), -38, 16);
    sink.entry(T0 + t * SEC, ++line, 1, 'etc', 70);
  }
  req(7, OP.DESTROY, 0, 0);
  sink.lifecycle?.(T0 + 7 * SEC, ++line, 'disconnect');
  return line;
}

/**
 * The warm-up events as a worker sends a log's: recorded in batches, each reduced by `reducer` (which pairs the
 * replies and marks them on the batch), then given to `onBatch` (a consumer replays it as it would a log's).
 */
export function warmUpBatches(reducer: RowReducer, onBatch?: (b: EventBatch) => void): void {
  const recorder = new EventRecorder((b) => {
    reduceBatch(b, reducer);
    onBatch?.(b);
    recorder.recycle(b);
  });
  warmUpEvents(recorder);
  recorder.flush();
}
