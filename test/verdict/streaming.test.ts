/** Streaming use: interim verdicts on half a log, live stall detection, bounded memory, thresholds table. */
import { describe, expect, it } from 'vitest';
import { OP } from '../../src/parse/opcodes.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
import { type EngineSizes, VerdictEngine } from '../../src/verdict/engine.js';
import { compactCount, hhmmss } from '../../src/verdict/format.js';
import {
  DEFAULT_THRESHOLDS,
  describeThresholds,
  resolveThresholds,
  thresholdsMarkdown,
} from '../../src/verdict/thresholds.js';
import { engineFor, fixtureDirs, guestLines, truthOf } from './support.js';

function feedFraction(name: string, fraction: number, guest: boolean) {
  const { engine, feed, log } = engineFor(name);
  const cut = Math.floor(log.length * fraction);
  for (let i = 0; i < cut; i += 65536) feed.push(log.subarray(i, Math.min(cut, i + 65536)));
  if (guest) {
    const upTo = engine.lastDaemonTs + 999; // Rust stamps are whole seconds
    for (const g of guestLines(name)) if (g.hostTime !== undefined && g.hostTime <= upTo) engine.guest(g);
  }
  return engine;
}

describe('interim verdicts while streaming', () => {
  it('the systemd loop capture fed in slices: not a livelock before minLoopSec of looping, then one with the right onset', () => {
    const name = fixtureDirs().find((n) => truthOf(n)?.image === 'loop') as string;
    const loopStart = Date.parse(truthOf(name)?.loopStartHost ?? '');
    let sawLivelock = false;
    for (let f = 0.1; f <= 1.0001; f += 0.1) {
      const engine = feedFraction(name, f, true);
      const v = engine.currentVerdict();
      if (engine.lastDaemonTs < loopStart + DEFAULT_THRESHOLDS.minLoopSec * 1000) {
        expect(v.kind, `${f}: ${v.title}`).not.toBe('livelock');
      } else if (v.kind === 'livelock') {
        sawLivelock = true;
        expect(Math.abs((v.onset ?? 0) - loopStart)).toBeLessThanOrEqual(2000);
        expect(v.culprits[0].name).toBe('sh');
      }
    }
    expect(sawLivelock).toBe(true);
  });

  it('healthy systemd boots polled at 20 points: never a livelock, never a stall', () => {
    for (const name of fixtureDirs().filter((n) => truthOf(n)?.image === 'healthy')) {
      for (let f = 0.05; f <= 1.0001; f += 0.05) {
        for (const guest of [true, false]) {
          const v = feedFraction(name, f, guest).currentVerdict();
          expect(['livelock', 'stall', 'deadlock'], `${name} ${f} ${guest} ${v.title}`).not.toContain(v.kind);
        }
      }
    }
  }, 300_000);

  it('a tenth of the loop log (before the loop): not a livelock yet', () => {
    const engine = feedFraction('c-7.2-loop2-4s-cache-none', 0.02, true);
    expect(engine.requests).toBeGreaterThan(0);
    expect(engine.currentVerdict().kind).not.toBe('livelock');
  });

  for (const name of ['rust-1.13.2-unpack-cache-never', 'c-7.2-unpack-cache-none']) {
    it(`${name}: polled at 10 points, never a livelock`, () => {
      for (let f = 0.1; f <= 1.0001; f += 0.1) {
        for (const guest of [true, false]) {
          const v = feedFraction(name, f, guest).currentVerdict();
          expect(v.kind, `${f} ${guest} ${v.title}`).not.toBe('livelock');
          expect(['busy', 'healthy', 'inconclusive']).toContain(v.kind);
        }
      }
    });
  }

  it('systemd boot polled at 20 points: never a livelock', () => {
    for (let f = 0.05; f <= 1.0001; f += 0.05) {
      for (const guest of [true, false]) {
        const v = feedFraction('rust-1.13.2-systemd-boot-k6.12-cache-metadata', f, guest).currentVerdict();
        expect(v.kind, `${f} ${guest} ${v.title}`).not.toBe('livelock');
      }
    }
  });

  it('live stall: not a stall while the loop may still run, stall once the daemon has been silent for quietSec', () => {
    const engine = feedFraction('rust-1.13.2-stall-sigstop', 1, true);
    const last = engine.lastDaemonTs;
    expect(engine.currentVerdict(last + 2000).kind).toBe('inconclusive');
    const v = engine.currentVerdict(last + (DEFAULT_THRESHOLDS.quietSec + 1) * 1000);
    expect(v.kind).toBe('stall');
    expect(v.durationSec).toBeGreaterThanOrEqual(DEFAULT_THRESHOLDS.quietSec);
    expect(v.reason).toMatch(/was looping/);
  });
});

describe('memory stays bounded by the windows, not the log length', () => {
  it('2M synthetic requests: internal sizes stop growing', () => {
    const th = {
      maxPids: 64,
      maxTrackedInodes: 5000,
      maxPending: 1000,
      maxEpisodes: 8,
      maxProgressPoints: 100,
    };
    const engine = new VerdictEngine({ thresholds: th });
    const t0 = Date.UTC(2026, 0, 1);
    let unique = 2;
    let inode = 10;
    const sizes: EngineSizes[] = [];
    const N = 2_000_000;
    for (let i = 0; i < N; i++) {
      const ts = t0 + Math.floor(i / 5); // 5k req/s
      const pid = 100 + (Math.floor(i / 500) % 997) * 3; // short-lived PIDs, far more than maxPids
      const node = i % 7 === 0 ? 1 : inode++; // fresh inodes forever (Rust-like)
      const u = unique;
      unique += 2;
      engine.request(ts, i + 1, i % 3 === 0 ? OP.LOOKUP : OP.GETATTR, node, u, pid, Daemon.rust);
      if (i % 50 !== 0) engine.reply(ts, i + 1, u, 0, 16); // 2% never answered
      if (i % 11 === 0) engine.request(ts, i + 1, OP.FORGET, node, u + 1, 0, Daemon.rust);
      if (i % 1000 === 0) {
        engine.guest({
          source: 'console',
          line: i,
          text: 'x',
          hostTime: ts,
          progress: { kind: 'unit-started', subject: 'x', isProgress: true },
        });
      }
      if (i === N / 2 - 1 || i === N - 1) sizes.push(engine.sizes);
    }
    const [half, full] = sizes;
    // 1.7 M distinct inodes went by, 5,000 tracked at a time: their pages are dropped as they empty
    expect(full.inodePages).toBeLessThanOrEqual(2);
    expect({ ...full, inodePages: 0 }).toEqual({ ...half, inodePages: 0 });
    expect(full.pids).toBeLessThanOrEqual(th.maxPids);
    expect(full.ringTokens).toBeLessThanOrEqual(th.maxPids * (2 * DEFAULT_THRESHOLDS.maxPeriod + 1));
    expect(full.inodeAges).toBeLessThanOrEqual(th.maxTrackedInodes);
    expect(full.pending).toBeLessThanOrEqual(th.maxPending);
    expect(full.progressMarks).toBeLessThanOrEqual(th.maxProgressPoints);
    expect(full.episodes).toBeLessThanOrEqual(th.maxEpisodes);
    // And it still answers.
    expect(engine.currentVerdict().kind).toBeDefined();
  }, 60_000);

  it('a million one-shot PIDs beside a loop: the least recently active trackers go, the looping PID stays', () => {
    const th = { maxPids: 64, minLoopSec: 5 };
    const engine = new VerdictEngine({ thresholds: th });
    const t0 = Date.UTC(2026, 0, 1);
    let u = 2;
    for (let i = 0; i < 1_000_000; i++) {
      const ts = t0 + Math.floor(i / 20); // 20k req/s: 50 s
      if (i % 3 !== 2) {
        // the looping PID: Lookup(1) → Getattr(139), two thirds of all requests
        engine.request(
          ts,
          i + 1,
          i % 3 === 0 ? OP.LOOKUP : OP.GETATTR,
          i % 3 === 0 ? 1 : 139,
          u,
          1180,
          Daemon.rust,
        );
      } else {
        engine.request(ts, i + 1, OP.GETATTR, 1 + (i % 97), u, 10_000 + i, Daemon.rust); // a new PID every time
      }
      engine.reply(ts, i + 1, u, 0, 120);
      u += 2;
    }
    expect(engine.sizes.pids).toBeLessThanOrEqual(th.maxPids);
    const v = engine.currentVerdict();
    expect(v.kind, v.title).toBe('livelock');
    expect(v.culprits[0].pid).toBe(1180);
  }, 60_000);

  it('a long loop keeps O(1) state for the looping PID', () => {
    const engine = new VerdictEngine();
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 500_000; i++) {
      engine.request(
        t0 + Math.floor(i / 2),
        i + 1,
        OP.LOOKUP,
        i % 2 === 0 ? 1 : 139,
        2 * i + 2,
        1180,
        Daemon.rust,
      );
      engine.reply(t0 + Math.floor(i / 2), i + 1, 2 * i + 2, 0, 144);
    }
    const s = engine.sizes;
    expect(s.pids).toBe(1);
    expect(s.pending).toBe(0);
    expect(s.inodeAges).toBe(1);
    // 139 is `new` for its first freshSpan requests, then stable: the counted episode starts there.
    expect(engine.currentVerdict().loop?.repetitions).toBeGreaterThan(249_800);
  });
});

describe('thresholds and formatting', () => {
  it('describeThresholds covers every threshold with its default', () => {
    const rows = describeThresholds();
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(DEFAULT_THRESHOLDS).sort());
    for (const r of rows) {
      expect(r.default).toBe(DEFAULT_THRESHOLDS[r.name]);
      expect(r.meaning.length).toBeGreaterThan(10);
    }
    expect(thresholdsMarkdown()).toContain('| `minRepetitions` | 50 |');
  });

  it('resolveThresholds validates and fills defaults', () => {
    expect(resolveThresholds({ quietSec: 3 }).quietSec).toBe(3);
    expect(resolveThresholds({}).minRepetitions).toBe(DEFAULT_THRESHOLDS.minRepetitions);
    expect(() => resolveThresholds({ quietSec: -1 })).toThrow(RangeError);
    expect(() => resolveThresholds({ minLoopRate: Number.NaN })).toThrow(RangeError);
    // Out of range is an error, never silently another verdict or a pathological run time.
    for (const bad of [0, 2.5, 1e9]) {
      expect(() => resolveThresholds({ maxPeriod: bad })).toThrow(
        `threshold maxPeriod must be an integer from 1 to 256, got ${bad}`,
      );
    }
    expect(() => resolveThresholds({ maxPids: 0 })).toThrow(RangeError);
    expect(() => resolveThresholds({ minLoopShare: 1.5 })).toThrow('a number from 0 to 1');
    expect(resolveThresholds({ minLoopShare: 1 }).minLoopShare).toBe(1);
  });

  it('counts and times', () => {
    expect([950, 2200, 9960, 88_123, 999_499, 1_250_000, 12_600_000].map(compactCount)).toEqual([
      '950',
      '2.2k',
      '10k',
      '88k',
      '999k',
      '1.3M',
      '13M',
    ]);
    expect(hhmmss(Date.UTC(2026, 10, 27, 16, 19, 20, 900))).toBe('16:19:20');
  });

  it('minEpisodeSec: demanding 10 s of looping drops the 4 s loop from the episodes', () => {
    const { engine, feed, log } = engineFor('rust-1.13.2-loop2-4s-cache-never', {
      thresholds: { minEpisodeSec: 10 },
    });
    feed.push(log);
    feed.end();
    for (const g of guestLines('rust-1.13.2-loop2-4s-cache-never')) engine.guest(g);
    const v = engine.finish();
    expect(v.kind).toBe('healthy');
    expect(v.episodes).toEqual([]);
  });
});
