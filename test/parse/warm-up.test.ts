/** The warm-up events must take the rare branches they are there for, through the sinks a real run uses. */
import { describe, expect, it, vi } from 'vitest';
import { PostMortemReducer } from '../../src/analyze/postmortem.js';
import { replayBatch } from '../../src/parse/event-batch.js';
import { WARM_UP_CAPS, WARM_UP_THRESHOLDS, warmUpBatches, warmUpEvents } from '../../src/parse/warm-up.js';
import { VerdictEngine } from '../../src/verdict/engine.js';
import { PidLoop } from '../../src/verdict/loop.js';

describe('warm-up events', () => {
  it('are well-formed: every request either answered, superseded or without a reply, nothing left outstanding', () => {
    const reducer = new PostMortemReducer({ ...WARM_UP_CAPS });
    warmUpBatches(reducer);
    const pm = reducer.snapshot();
    const t = pm.totals;
    expect(t.requests).toBeGreaterThan(1000);
    expect(t.unanswered).toBe(0);
    expect(t.supersededRequests).toBe(5);
    // one reply to no request per second, besides those whose request an Init (asked by the busy PID) cleared
    expect(t.orphanReplies).toBeGreaterThanOrEqual(5);
    // the unknown opcode's ENOSYS reply paired first in, first out with the request that had no unique
    const enosys = pm.errors.byOpcode.find((e) => e.errno === 38);
    expect(enosys?.opcode).toBe(52);
    expect(enosys?.count).toBe(5);
    // past the PID cap: the table evicted
    expect(pm.bounds.pidEvictions).toBeGreaterThan(0);
    expect(pm.time.durationSec).toBe(7);
  });

  it('take the verdict engine through a loop episode that breaks off, resumes and closes, and past its caps', () => {
    const resumed = vi.spyOn(PidLoop.prototype as unknown as { signature: () => number[] }, 'signature');
    const close = vi.spyOn(PidLoop.prototype, 'close');
    const pairing = new PostMortemReducer({ recent: 1, ...WARM_UP_CAPS });
    const engine = new VerdictEngine({ pairing: 'shared', thresholds: WARM_UP_THRESHOLDS });
    warmUpBatches(pairing, (b) => replayBatch(b, engine, 0));
    engine.usePairing(pairing);
    const sizes = engine.sizes;
    expect(sizes.pids).toBe(WARM_UP_THRESHOLDS.maxPids);
    expect(sizes.inodeAges).toBeLessThanOrEqual(WARM_UP_THRESHOLDS.maxTrackedInodes);
    expect(sizes.episodes).toBeGreaterThanOrEqual(1);
    // a signature is taken when an episode starts and when a broken-off one is checked for resumption
    expect(resumed.mock.calls.length).toBeGreaterThan(sizes.episodes);
    expect(close).toHaveBeenCalled();
    expect(engine.sessionEnded).toBe(true);
    resumed.mockRestore();
    close.mockRestore();
  });

  it('number their lines from 1 without a gap', () => {
    const lines: number[] = [];
    const note = (_ts: number, line: number) => {
      lines.push(line);
    };
    const last = warmUpEvents({ request: note, reply: note, entry: note, lifecycle: note });
    expect(lines).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });
});
