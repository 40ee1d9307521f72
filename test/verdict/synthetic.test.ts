/**
 * Synthetic streams: the bcvk #90 livelock (PID 1180 alternating Lookup(1)/Lookup(139) at ~900 req/s among other
 * traffic for 291 s, right after "Started dbus-broker.service") and a deadlock (requests never answered).
 */
import { describe, expect, it } from 'vitest';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { createConsoleParser } from '../../src/parse/console.js';
import { OP } from '../../src/parse/opcodes.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
import { VerdictEngine } from '../../src/verdict/engine.js';
import { DEFAULT_THRESHOLDS } from '../../src/verdict/thresholds.js';
import { rng } from '../support/rng.js';

const T0 = Date.UTC(2026, 10, 27, 16, 18, 50); // boot traffic starts
const ONSET = T0 + 30_500; // 16:19:20.5
const LOOP_SEC = 291;

function stamp(ms: number): string {
  const d = new Date(ms).toISOString();
  return `[${d.slice(0, 10)} ${d.slice(11, 23)}000+0000]`;
}

interface Bcvk90 {
  engine: VerdictEngine;
  /** Feed virtiofsd events and guest lines up to `until` (ms). */
  feedUntil(until: number): void;
  end: number;
}

/** Rust-style stream (whole-second stamps), guest console lines host-stamped. */
function bcvk90(opts: { guest: boolean; seed?: number }): Bcvk90 {
  const engine = new VerdictEngine();
  const rand = rng(opts.seed ?? 90);
  const consoleP = createConsoleParser();
  let unique = 2;
  let line = 0;
  let nextInode = 200;
  const sec = (ms: number) => Math.floor(ms / 1000) * 1000; // Rust stamps are whole seconds
  const events: { t: number; fn: () => void }[] = [];
  const req = (t: number, op: number, node: number, pid: number, err = 0) => {
    events.push({
      t,
      fn: () => {
        const u = unique;
        unique += 2;
        engine.request(sec(t), ++line, op, node, u, pid, Daemon.rust);
        if (op !== OP.FORGET) engine.reply(sec(t), ++line, u, err, 16);
      },
    });
  };
  const guestLine = (t: number, text: string) => {
    if (!opts.guest) return;
    events.push({
      t,
      fn: () => {
        for (const g of consoleP.push(`${stamp(t)} ${text}`, ++guestNo)) engine.guest(g);
      },
    });
  };
  let guestNo = 0;
  req(T0, OP.INIT, 0, 0);
  // Boot: 30 s of varied traffic from many PIDs, progress every ~0.4 s; inode 139 already known.
  for (let t = T0 + 1; t < ONSET; t += 2 + rand() * 6) {
    const pid = 200 + Math.floor(rand() * 40);
    const node = rand() < 0.3 ? 1 : rand() < 0.1 ? 139 : 2 + Math.floor(rand() * 150);
    const op = [OP.LOOKUP, OP.GETATTR, 14 /* Open */, OP.READ, OP.READDIRPLUS][Math.floor(rand() * 5)];
    req(t, op, node, pid);
  }
  let n = 0;
  for (let t = T0 + 500; t < ONSET - 200; t += 400) {
    guestLine(t, `[  OK  ] Started unit-${n++}.service - Unit ${n}.`);
  }
  guestLine(T0 + 2000, '[    3.100000] systemd-journald[1180]: Journal started');
  guestLine(ONSET - 150, '[  OK  ] Started dbus-broker.service - D-Bus System Message Bus.');
  // The loop: pid 1180 Lookup(1)/Lookup(139) at ~900 req/s, plus ~120 req/s of other traffic and forgets.
  const end = ONSET + LOOP_SEC * 1000;
  for (let t = ONSET, k = 0; t < end; t += 1000 / 900, k++) {
    req(t, OP.LOOKUP, k % 2 === 0 ? 1 : 139, 1180, k % 2 === 0 ? 0 : -2);
  }
  for (let t = ONSET; t < end; t += 1000 / 120) {
    const pid = 300 + Math.floor(rand() * 20);
    const r = rand();
    if (r < 0.5) {
      const node = nextInode++;
      req(t, OP.GETATTR, node, pid);
      req(t + 0.1, OP.FORGET, node, 0);
    } else {
      req(t, [OP.GETATTR, OP.READ, OP.LOOKUP][Math.floor(rand() * 3)], 2 + Math.floor(rand() * 150), pid);
    }
  }
  // Spinner while it hangs.
  for (let t = ONSET + 30_000; t < end; t += 30_000) {
    const s = Math.round((t - ONSET) / 1000);
    guestLine(
      t,
      `[ ***  ] A start job is running for Wait for Network (${Math.floor(s / 60)}min ${s % 60}s / no limit)`,
    );
  }
  events.sort((a, b) => a.t - b.t);
  let i = 0;
  return {
    engine,
    end,
    feedUntil(until: number) {
      while (i < events.length && events[i].t <= until) events[i++].fn();
    },
  };
}

describe('bcvk #90 synthetic livelock', () => {
  for (const guest of [true, false]) {
    it(`post-mortem (${guest ? 'with guest console' : 'host-only'})`, () => {
      const s = bcvk90({ guest });
      s.feedUntil(Number.POSITIVE_INFINITY);
      s.engine.lifecycle(s.end, 1e9, 'disconnect'); // the VM was killed
      const v = s.engine.finish();
      expect(v.kind).toBe('livelock');
      expect(v.culprits[0].pid).toBe(1180);
      expect(v.loop?.tokens).toEqual(['Lookup(1)', 'Lookup(139)']);
      expect(v.loop?.period).toBe(2);
      expect(Math.abs((v.onset ?? 0) - ONSET)).toBeLessThanOrEqual(2000);
      expect(v.loop?.repetitions).toBeGreaterThan(120_000);
      expect(v.loop?.ratePerSec).toBeGreaterThan(400);
      expect(v.loop?.share).toBeGreaterThan(0.8);
      expect(v.durationSec).toBeGreaterThan(285);
      expect(v.hostOnly).toBe(!guest);
      if (guest) {
        expect(v.title).toBe(
          'livelock: pid 1180 (systemd-journald) Lookup(1)→Lookup(139) ×131k since 16:19:20',
        );
        expect(v.criticalTransition?.lastProgress?.text).toContain('Started dbus-broker.service');
        expect(v.evidence.some((e) => e.what.startsWith('guest waiting'))).toBe(true);
      } else {
        expect(v.title).toBe('livelock: pid 1180 Lookup(1)→Lookup(139) ×131k since 16:19:20');
      }
    });
  }

  it('live: polled every second, it turns livelock minLoopSec after onset and stays so', () => {
    const s = bcvk90({ guest: true });
    let firstLivelock = Number.NaN;
    for (let now = T0 + 1000; now <= ONSET + 60_000; now += 1000) {
      s.feedUntil(now);
      const v = s.engine.currentVerdict(now);
      if (now < ONSET) expect(v.kind).not.toBe('livelock');
      if (v.kind === 'livelock' && Number.isNaN(firstLivelock)) firstLivelock = now;
      if (!Number.isNaN(firstLivelock)) {
        expect(v.kind).toBe('livelock');
        expect(Math.abs((v.onset ?? 0) - ONSET)).toBeLessThanOrEqual(2000);
      }
    }
    expect(firstLivelock - ONSET).toBeGreaterThanOrEqual(DEFAULT_THRESHOLDS.minLoopSec * 1000 - 1000);
    expect(firstLivelock - ONSET).toBeLessThanOrEqual((DEFAULT_THRESHOLDS.minLoopSec + 3) * 1000);
  });
});

describe('deadlock', () => {
  const lines = [
    '[2026-11-27T10:00:00Z DEBUG virtiofsd::server] Received request: opcode=Init (26), inode=0, unique=2, pid=0',
    '[2026-11-27T10:00:00Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 80, error: 0, unique: 2 }',
    '[2026-11-27T10:00:01Z DEBUG virtiofsd::server] Received request: opcode=Lookup (1), inode=1, unique=4, pid=300',
    '[2026-11-27T10:00:01Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 144, error: 0, unique: 4 }',
    '[2026-11-27T10:00:02Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=7, unique=6, pid=300',
    '[2026-11-27T10:00:03Z DEBUG virtiofsd::server] Received request: opcode=Setattr (4), inode=7, unique=8, pid=301',
    '[2026-11-27T10:00:03Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=10, pid=302',
    '[2026-11-27T10:00:03Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 120, error: 0, unique: 10 }',
  ];

  it('post-mortem: unanswered requests, then nothing until the daemon disconnects 20 s later', () => {
    const engine = new VerdictEngine();
    const feed = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: engine });
    feed.push(
      Buffer.from(
        `${[...lines, '[2026-11-27T10:00:23Z INFO  virtiofsd] Client disconnected, shutting down'].join('\n')}\n`,
      ),
    );
    feed.end();
    const v = engine.finish();
    expect(v.kind).toBe('deadlock');
    expect(v.title).toBe('deadlock: 2 requests unanswered, oldest Getattr(7) pid 300 since 10:00:02');
    expect(v.culprits.map((c) => c.pid).sort()).toEqual([300, 301]);
    expect(v.evidence.filter((e) => e.what.startsWith('unanswered')).map((e) => e.line)).toEqual([5, 6]);
    expect(v.onset).toBe(Date.UTC(2026, 10, 27, 10, 0, 2));
    expect(v.hostOnly).toBe(true);
  });

  it('post-mortem: a log that just stops after the unanswered requests is not evidence that traffic stopped', () => {
    const engine = new VerdictEngine();
    const feed = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: engine });
    feed.push(Buffer.from(`${lines.join('\n')}\n`));
    feed.end();
    expect(engine.finish().kind).toBe('inconclusive');
    // The user knows the daemon hung where the log ends.
    expect(engine.finish({ endOfLog: 'stopped' }).kind).toBe('deadlock');
  });

  it('live: not a deadlock until traffic has been quiet for quietSec', () => {
    const engine = new VerdictEngine({ thresholds: { quietSec: 5 } });
    const feed = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: engine });
    feed.push(Buffer.from(`${lines.join('\n')}\n`));
    const t = Date.UTC(2026, 10, 27, 10, 0, 3);
    expect(engine.currentVerdict(t + 1000).kind).not.toBe('deadlock');
    expect(engine.currentVerdict(t + 6000).kind).toBe('deadlock');
  });
});
