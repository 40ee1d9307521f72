import { describe, expect, it } from 'vitest';
import { PostMortemReducer } from '../../src/analyze/postmortem.js';
import {
  batchBuffers,
  type EventBatch,
  EventRecorder,
  newBatch,
  reduceBatch,
  replayBatch,
} from '../../src/parse/event-batch.js';
import { OP } from '../../src/parse/opcodes.js';
import { Daemon, type VirtiofsdSink } from '../../src/parse/virtiofsd.js';

type Call = [string, ...unknown[]];
function recorderSink(calls: Call[]): VirtiofsdSink {
  return {
    request: (...a) => calls.push(['request', ...a]),
    reply: (...a) => calls.push(['reply', ...a]),
    entry: (...a) => calls.push(['entry', ...a]),
    lifecycle: (...a) => calls.push(['lifecycle', ...a]),
    paired: (...a) => calls.push(['paired', ...a]),
  };
}

describe('event batches', () => {
  it('replay gives back every event in order, fields intact, lines shifted by the offset', () => {
    const batches: EventBatch[] = [];
    const rec = new EventRecorder((b) => batches.push(b), 4);
    const direct: Call[] = [];
    const d = recorderSink(direct);
    const feed = (s: VirtiofsdSink) => {
      s.request(1000, 1, 1, 1, 2, 42, Daemon.rust);
      s.reply(1000, 2, 2, -2, 16);
      s.request(Number.NaN, 3, 52, 1, -1, -1, Daemon.rust);
      s.entry(2000, 4, 1, 'usr/lib', 77);
      s.request(2000, 5, 15, 77, 2 ** 40, 4_000_000, Daemon.c);
      s.reply(2000, 6, 2 ** 40, 0, 4096);
      s.lifecycle?.(3000, 7, 'disconnect');
      s.lifecycle?.(3000, 8, 'exit');
      s.entry(3000, 9, 5, 'ä ö', 6);
    };
    feed(rec);
    rec.flush();
    feed(d);
    expect(batches.map((b) => b.n)).toEqual([4, 4, 1]);
    const replayed: Call[] = [];
    for (const b of batches) replayBatch(b, recorderSink(replayed), 100);
    expect(replayed).toEqual(direct.map((c) => [c[0], c[1], (c[2] as number) + 100, ...c.slice(3)]));
  });

  it('a batch is one buffer to transfer; what arrives on the other side holds the same events', () => {
    const batches: EventBatch[] = [];
    const rec = new EventRecorder((b) => batches.push(b), 4);
    rec.request(1000.5, 1, 15, 77, 2 ** 40, 4_000_000, Daemon.rust);
    rec.reply(1001, 2, 2 ** 40, -2, 16);
    rec.entry(1002, 3, 1, 'etc', 9);
    rec.flush();
    const [b] = batches;
    const bufs = batchBuffers(b);
    expect(bufs).toHaveLength(1);
    const want: Call[] = [];
    replayBatch(b, recorderSink(want), 0);
    const moved = structuredClone(b, { transfer: bufs });
    expect(b.ts.length).toBe(0); // detached here: moved, not copied
    const got: Call[] = [];
    replayBatch(moved, recorderSink(got), 0);
    expect(got).toEqual(want);
    expect(want).toHaveLength(3);
    // columns of another origin (several buffers) are each listed once
    const other = { ...newBatch(2), a: new Float64Array(2) };
    expect(batchBuffers(other)).toHaveLength(2);
  });

  it('recycled batches are reused, not reallocated: their columns, in a batch of the one shape', () => {
    const batches: EventBatch[] = [];
    const rec = new EventRecorder((b) => batches.push(b), 2);
    for (let i = 0; i < 4; i++) rec.reply(0, i, i, 0, 0);
    const first = batches[0];
    // what comes back from another thread is a structured clone: same columns, another object
    rec.recycle({ ...first, n: 7, names: ['x'] });
    for (let i = 0; i < 4; i++) rec.reply(0, i, i, 0, 0);
    const again = batches.filter((b) => b.kind === first.kind);
    expect(again).toHaveLength(2);
    expect(again[1]).not.toBe(first);
    expect(Object.keys(again[1])).toEqual(Object.keys(first));
    expect(again[1].n).toBe(2);
    expect(again[1].ts).toBe(first.ts);
    expect(again[1].e).toBe(first.e);
  });

  it('the post-mortem pairs once: reduceBatch writes the matched request on each reply row, replayBatch tells it', () => {
    const batches: EventBatch[] = [];
    const rec = new EventRecorder((b) => batches.push(b), 3);
    const feed = () => {
      rec.request(1000, 1, OP.LOOKUP, 1, 10, 634, Daemon.rust);
      rec.request(1000, 2, OP.READ, 5, 11, 635, Daemon.rust);
      rec.reply(1000, 3, 11, -5, 0); // the READ, an error
      rec.reply(1000, 4, 99, 0, 0); // orphan: no request with unique 99
      rec.request(1000, 5, OP.FORGET, 5, 12, 635, Daemon.rust); // never answered: not outstanding
      rec.reply(1000, 6, 10, 0, 0); // the LOOKUP
      rec.request(1000, 7, 4242, 5, 13, 7, Daemon.rust); // an opcode past the column's range
      rec.reply(1000, 8, 13, 0, 0);
      rec.flush();
    };
    feed();
    // batches coming back for reuse carry old values: none may pass for a pairing
    for (const b of batches.splice(0)) {
      b.e.fill(200);
      b.d.fill(-7);
      rec.recycle(b);
    }
    feed();
    const reducer = new PostMortemReducer();
    for (const b of batches) reduceBatch(b, reducer);
    const calls: Call[] = [];
    for (const b of batches) replayBatch(b, recorderSink(calls), 0);
    expect(calls.filter((c) => c[0] === 'paired')).toEqual([
      ['paired', 635, OP.READ, -5],
      ['paired', 634, OP.LOOKUP, 0],
      ['paired', 7, 254, 0],
    ]);
    // each paired call right after its reply
    const at = calls.findIndex((c) => c[0] === 'paired');
    expect(calls[at - 1]).toEqual(['reply', 1000, 3, 11, -5, 0]);
    expect(reducer.outstandingCount).toBe(0);
    expect(reducer.snapshot().totals.orphanReplies).toBe(1);
  });
});
