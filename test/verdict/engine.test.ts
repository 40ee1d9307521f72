/**
 * One pairing step: the verdict engine takes which request each reply answered, and the requests still
 * outstanding, from the post-mortem reducer that reads the same events — directly on one thread
 * (VirtiofsdAnalysis), through the worker's event batches (reduceBatch / replayBatch), or, on its own, from a
 * reducer of its own. All three give the same verdict on every real capture, guest lines included; where the
 * verdict rests on what was answered (loop episodes' replies and errors, deadlock evidence) it still does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PostMortemReducer } from '../../src/analyze/postmortem.js';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { type EventBatch, EventRecorder, reduceBatch, replayBatch } from '../../src/parse/event-batch.js';
import type { GuestLine } from '../../src/parse/guest-events.js';
import { OP } from '../../src/parse/opcodes.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
import { VerdictEngine } from '../../src/verdict/engine.js';
import { readLog } from '../support/analyze.js';
import { fixtureDirs, guestLines, LAB } from './support.js';

function push(a: VirtiofsdAnalysis, log: Buffer): void {
  for (let i = 0; i < log.length; i += 1 << 16) a.push(log.subarray(i, Math.min(log.length, i + (1 << 16))));
  a.end();
}

function verdicts(
  log: Buffer,
  guest: GuestLine[],
): { own: string; direct: string; batches: string; outstanding: number } {
  const finish = (e: VerdictEngine) => {
    for (const g of guest) e.guest(g);
    return JSON.stringify(e.finish());
  };
  // the engine alone, pairing on its own, fed the parser's events
  const own = new VerdictEngine();
  push(new VirtiofsdAnalysis('virtiofsd.log', { extraSink: own, postMortem: false, assumeYear: 2026 }), log);
  // one thread: the analysis's reducer pairs, the engine is told
  const direct = new VerdictEngine({ pairing: 'shared' });
  push(new VirtiofsdAnalysis('virtiofsd.log', { extraSink: direct, assumeYear: 2026 }), log);
  // a worker's way: batches reduced (and annotated) by one reducer, replayed into the engine
  const viaBatches = new VerdictEngine({ pairing: 'shared' });
  const parsed = new VirtiofsdAnalysis('virtiofsd.log', { assumeYear: 2026 });
  const reducer = parsed.reducer;
  const batches: EventBatch[] = [];
  const rec = new EventRecorder((b) => batches.push(b), 1024);
  push(new VirtiofsdAnalysis('virtiofsd.log', { extraSink: rec, postMortem: false, assumeYear: 2026 }), log);
  rec.flush();
  for (const b of batches) {
    reduceBatch(b, reducer);
    replayBatch(b, viaBatches, 0);
  }
  viaBatches.usePairing(reducer);
  return {
    own: finish(own),
    direct: finish(direct),
    batches: finish(viaBatches),
    outstanding: reducer.outstandingCount,
  };
}

describe('the verdict engine pairs through the post-mortem', () => {
  it('the same verdict on every real capture, whoever pairs', () => {
    const names = fixtureDirs();
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const v = verdicts(readLog(join(LAB, name, 'virtiofsd.log.gz')), guestLines(name));
      expect(v.direct, name).toBe(v.own);
      expect(v.batches, name).toBe(v.own);
    }
  }, 120_000);

  it('the same verdict on the benchmark generator’s log (a looping tail, requests left unanswered)', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'vfs-pairing-')), 'gen.log');
    execFileSync(process.execPath, ['bench/gen-rust-log.mjs', '--requests', '20000', '--out', f], {
      stdio: 'ignore',
    });
    const v = verdicts(readFileSync(f), []);
    expect(v.outstanding).toBe(3);
    expect(v.own).toContain('has requests outstanding');
    expect(v.direct).toBe(v.own);
    expect(v.batches).toBe(v.own);
  });

  it('a deadlock lists what the pairing left outstanding', () => {
    const t0 = Date.UTC(2026, 10, 27, 12, 0, 0);
    const feed = (
      e: VerdictEngine,
      sink: { request: VerdictEngine['request']; reply: VerdictEngine['reply'] },
    ) => {
      let u = 1;
      for (let s = 0; s < 40; s++) {
        for (let k = 0; k < 50; k++) {
          const unique = u++;
          const op = k % 10 === 0 ? OP.READDIR : OP.GETATTR; // READDIR answered: its outstanding one counts
          sink.request(t0 + s * 1000 + k, unique * 2, op, 1, unique, 500 + (k % 3), Daemon.rust);
          sink.reply(t0 + s * 1000 + k, unique * 2 + 1, unique, 0, 16);
        }
      }
      // four requests never answered, then silence and a later daemon line
      for (let k = 0; k < 3; k++) sink.request(t0 + 40_000, 9000 + k, OP.LOOKUP, 1, u++, 777, Daemon.rust);
      sink.request(t0 + 40_000, 9010, OP.READDIR, 1, u++, 778, Daemon.rust);
      e.lifecycle(t0 + 80_000, 9100, 'exit');
    };
    const own = new VerdictEngine();
    feed(own, own);
    // shared: a post-mortem reducer pairs, as VirtiofsdAnalysis wires them
    const shared = new VerdictEngine({ pairing: 'shared' });
    const reducer = new PostMortemReducer();
    shared.usePairing(reducer);
    const sink = {
      request: (...x: Parameters<VerdictEngine['request']>) => {
        reducer.request(...x);
        shared.request(...x);
      },
      reply: (...x: Parameters<VerdictEngine['reply']>) => {
        reducer.reply(...x);
        shared.reply(...x);
        if (reducer.pairedOpcode >= 0) shared.paired(reducer.pairedPid, reducer.pairedOpcode, x[3]);
      },
    };
    feed(shared, sink);
    const v = own.finish();
    expect(v.kind).toBe('deadlock');
    expect(JSON.stringify(shared.finish())).toBe(JSON.stringify(v));
    expect(v.culprits.map((c) => c.pid)).toEqual([777, 778]);
  });
});
