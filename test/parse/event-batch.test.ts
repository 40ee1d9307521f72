import { describe, expect, it } from 'vitest';
import { type EventBatch, EventRecorder, replayBatch } from '../../src/parse/event-batch.js';
import { Daemon, type VirtiofsdSink } from '../../src/parse/virtiofsd.js';

type Call = [string, ...unknown[]];
function recorderSink(calls: Call[]): VirtiofsdSink {
  return {
    request: (...a) => calls.push(['request', ...a]),
    reply: (...a) => calls.push(['reply', ...a]),
    entry: (...a) => calls.push(['entry', ...a]),
    lifecycle: (...a) => calls.push(['lifecycle', ...a]),
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

  it('recycled batches are reused, not reallocated', () => {
    const batches: EventBatch[] = [];
    const rec = new EventRecorder((b) => batches.push(b), 2);
    for (let i = 0; i < 4; i++) rec.reply(0, i, i, 0, 0);
    const first = batches[0];
    rec.recycle(first);
    for (let i = 0; i < 4; i++) rec.reply(0, i, i, 0, 0);
    expect(batches.includes(first)).toBe(true);
    expect(batches.filter((b) => b === first)).toHaveLength(2);
  });
});
