/**
 * The verdict contract (README "Verdicts"), one rule per test, on synthetic streams shaped like the real ones:
 * a verdict says how the run ended; a livelock is a loop still running at the end; traffic stopped needs a
 * positive sign; healthy needs positive evidence; thin evidence is inconclusive.
 */
import { describe, expect, it } from 'vitest';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { createConsoleParser } from '../../src/parse/console.js';
import { OP } from '../../src/parse/opcodes.js';
import { Daemon } from '../../src/parse/virtiofsd.js';
import { VerdictEngine } from '../../src/verdict/engine.js';
import { DEFAULT_THRESHOLDS } from '../../src/verdict/thresholds.js';
import { rng } from '../support/rng.js';

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);

function stamp(ms: number): string {
  const d = new Date(ms).toISOString();
  return `[${d.slice(0, 10)} ${d.slice(11, 23)}000+0000]`;
}

function rustLine(ms: number, text: string): string {
  return `[${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z DEBUG virtiofsd::server] ${text}`;
}

/** A small driver: Rust-style whole-second stamps, every request answered unless told otherwise. */
function driver(thresholds = {}) {
  const engine = new VerdictEngine({ thresholds });
  const con = createConsoleParser();
  let unique = 2;
  let line = 0;
  let guestNo = 0;
  return {
    engine,
    req(t: number, op: number, node: number, pid: number, answer = true) {
      const u = unique;
      unique += 2;
      const ts = Math.floor(t / 1000) * 1000;
      engine.request(ts, ++line, op, node, u, pid, Daemon.rust);
      if (answer && op !== OP.FORGET) engine.reply(ts, ++line, u, 0, 16);
    },
    guest(t: number, text: string) {
      for (const g of con.push(`${stamp(t)} ${text}`, ++guestNo)) engine.guest(g);
    },
    disconnect(t: number) {
      engine.lifecycle(Math.floor(t / 1000) * 1000, ++line, 'disconnect');
    },
  };
}

/** Boot traffic from many PIDs over fresh and known inodes, with progress lines, for `secs` seconds. */
function boot(d: ReturnType<typeof driver>, from: number, secs: number, rand: () => number): number {
  d.req(from, OP.INIT, 0, 0);
  let k = 0;
  for (let t = from + 1; t < from + secs * 1000; t += 2 + rand() * 4) {
    const pid = 200 + Math.floor(rand() * 40);
    const node = rand() < 0.2 ? 1 : 2 + Math.floor(rand() * 3000);
    d.req(t, [OP.LOOKUP, OP.GETATTR, 14, OP.READ, OP.READDIRPLUS][Math.floor(rand() * 5)], node, pid);
    if (++k % 300 === 0) d.guest(t, `[  OK  ] Started unit-${k}.service - Unit ${k}.`);
  }
  return from + secs * 1000;
}

describe('a verdict says how the run ended', () => {
  it('a loop that ended and was followed by the goal is an episode of a healthy run, not a livelock', () => {
    const d = driver();
    const rand = rng(1);
    let t = boot(d, T0, 10, rand);
    // 30 s loop, longer than minLoopSec, then the boot goes on and reaches its goal.
    const end = t + 30_000;
    for (let k = 0; t < end; t += 0.5, k++) d.req(t, OP.LOOKUP, k % 2 ? 1 : 139, 500);
    t = boot(d, t, 5, rand);
    d.guest(t, '[  OK  ] Reached target multi-user.target - Multi-User System.');
    const v = d.engine.finish();
    expect(['healthy', 'busy']).toContain(v.kind);
    const ep = v.episodes?.[0];
    expect(ep?.pid).toBe(500);
    expect(ep?.durationSec).toBeGreaterThanOrEqual(29);
    expect(ep?.outcome).toBe('progress');
    expect(ep?.summary).toMatch(/^transient loop: pid 500 .* for (29|3\d) s, then progress/);
    expect(v.reason).toMatch(/loop episode/);
  });

  it('a log copied while the loop still runs (the bcvk #90 workflow) is a livelock with no flag', () => {
    const d = driver();
    const rand = rng(2);
    let t = boot(d, T0, 10, rand);
    d.guest(t, '[  OK  ] Started dbus-broker.service - D-Bus System Message Bus.');
    const end = t + 60_000;
    for (let k = 0; t < end; t += 0.25, k++) d.req(t, OP.LOOKUP, k % 2 ? 1 : 139, 1180);
    const v = d.engine.finish();
    expect(v.kind).toBe('livelock');
    expect(v.culprits[0].pid).toBe(1180);
    expect(v.reason).toMatch(/still looping at the end/);
    expect(d.engine.finish({ endOfLog: 'stopped' }).kind).toBe('stall');
  });

  it('a loop running at the end for less than minLoopSec is inconclusive, and says why', () => {
    const d = driver();
    let t = boot(d, T0, 10, rng(3));
    const end = t + 8000;
    for (let k = 0; t < end; t += 0.5, k++) d.req(t, OP.LOOKUP, k % 2 ? 1 : 139, 700);
    const v = d.engine.finish();
    expect(v.kind).toBe('inconclusive');
    expect(v.title).toMatch(/^inconclusive: pid 700 looping for [78] s at the end, under 20 s$/);
    expect(d.engine.finish().kind).toBe(d.engine.currentVerdict().kind);
  });
});

describe('a loop is a small, stable working set; detection tolerates noise', () => {
  it('a jittery loop (repeated and skipped steps, 10% other requests, other PIDs) is dated from where it began', () => {
    const d = driver();
    const rand = rng(4);
    let t = boot(d, T0, 20, rand);
    const onset = t;
    const steps: [number, number][] = [
      [OP.GETATTR, 1],
      [OP.LOOKUP, 1],
      [OP.GETATTR, 0],
      [OP.LOOKUP, 139],
      [OP.GETATTR, 0],
    ];
    let node = 100_000;
    const end = onset + 150_000;
    while (t < end) {
      for (let s = 0; s < steps.length; s++) {
        const r = rand();
        if (r < 0.04) continue; // skipped step
        const [op, n] = steps[s];
        const inode = n === 0 ? node++ : n;
        d.req(t, op, inode, 1180);
        if (r > 0.96) d.req(t, op, inode, 1180); // repeated step
        if (rand() < 0.1) d.req(t, OP.READ, 2 + Math.floor(rand() * 3000), 1180); // other request, same PID
        if (rand() < 0.3) d.req(t, OP.GETATTR, 2 + Math.floor(rand() * 3000), 300 + Math.floor(rand() * 5));
        if (n === 0) d.req(t, OP.FORGET, inode, 0);
        t += 0.4;
      }
    }
    const v = d.engine.finish();
    expect(v.kind).toBe('livelock');
    expect(v.culprits[0].pid).toBe(1180);
    expect(Math.abs((v.onset ?? 0) - onset)).toBeLessThanOrEqual(2000);
    expect(v.durationSec).toBeGreaterThan(145);
  });

  it('the same opcode on inode after inode (a scan) is not a loop', () => {
    const d = driver();
    let t = boot(d, T0, 5, rng(5));
    let node = 50_000;
    // 60 s of Ioctl on a different inode each time, still going at the end.
    for (const end = t + 60_000; t < end; t += 1) d.req(t, 39 /* Ioctl */, node++, 1);
    const v = d.engine.finish();
    expect(v.kind).not.toBe('livelock');
    expect(v.episodes ?? []).toEqual([]);
  });

  it('low-rate polling is a heartbeat, not a loop', () => {
    const d = driver();
    let t = boot(d, T0, 5, rng(6));
    for (const end = t + 120_000; t < end; t += 250) d.req(t, OP.GETATTR, 1, 1);
    const v = d.engine.finish();
    expect(v.kind).not.toBe('livelock');
    expect(v.episodes ?? []).toEqual([]);
  });
});

describe('traffic stopped needs a positive sign; healthy needs proof', () => {
  it('a hung guest: 5 requests, 28 s of silence with the console stuck, then the VM killed → stall', () => {
    const d = driver();
    d.req(T0, OP.INIT, 0, 0);
    d.guest(T0 + 100, '[    1.500000] Run /init as init process');
    for (let i = 1; i <= 4; i++) d.req(T0 + i * 100, OP.LOOKUP, 1, 100);
    d.guest(T0 + 600, 'mounting the root file system');
    d.disconnect(T0 + 28_600);
    const v = d.engine.finish();
    expect(v.kind).toBe('stall');
    expect(v.reason).toMatch(/no progress and sent no traffic for 28 s, then the VM was stopped/);
  });

  it('the same log with no guest output: still a stall, on the virtiofsd log alone, with less confidence', () => {
    const d = driver();
    d.req(T0, OP.INIT, 0, 0);
    for (let i = 1; i <= 4; i++) d.req(T0 + i * 100, OP.LOOKUP, 1, 100);
    d.disconnect(T0 + 28_600);
    const v = d.engine.finish();
    expect(v.kind).toBe('stall');
    expect(v.hostOnly).toBe(true);
    expect(v.confidence).toBeLessThan(0.7);
  });

  it('a mount-only log (one INIT) is inconclusive, never a stall', () => {
    const d = driver();
    d.req(T0, OP.INIT, 0, 0);
    expect(d.engine.finish().kind).toBe('inconclusive');
    expect(d.engine.finish().title).toBe('inconclusive: only 1 request');
    d.disconnect(T0 + 60_000);
    expect(d.engine.finish().kind).toBe('inconclusive');
    expect(d.engine.finish({ endOfLog: 'stopped' }).kind).toBe('inconclusive');
  });

  it('heartbeat polling after the boot stopped does not hide the stall', () => {
    const d = driver();
    let t = boot(d, T0, 10, rng(7));
    d.guest(t, '[  OK  ] Started vfs-lab-net.service - Something.');
    const stopAt = t;
    // 60 s of 2 req/s from pid 1 while the guest waits on a job (spinner lines are not progress).
    for (const end = t + 60_000; t < end; t += 500) {
      d.req(t, OP.GETATTR, 1, 1);
      if (Math.round(t) % 10_000 < 500) {
        const s = Math.round((t - stopAt) / 1000);
        d.guest(t, `[ ***  ] Job vfs-lab-block.service/start running (${s}s / no limit)`);
      }
    }
    const v = d.engine.finish();
    expect(v.kind, v.reason).toBe('stall');
    expect(v.title).toMatch(/guest waiting on vfs-lab-block\.service \(job running \d+s \/ no limit\)/);
    expect(v.waitingOn?.[0].unit).toBe('vfs-lab-block.service');
    expect(Math.abs((v.onset ?? 0) - stopAt)).toBeLessThanOrEqual(2000);
  });

  it('a clean daemon exit alone is not healthy; a DESTROY is', () => {
    const lines = [
      rustLine(T0, 'Received request: opcode=Init (26), inode=0, unique=2, pid=0'),
      ...Array.from({ length: 20 }, (_, i) =>
        rustLine(T0 + 1000, `Received request: opcode=Getattr (3), inode=1, unique=${4 + 2 * i}, pid=9`),
      ),
    ];
    const run = (extra: string[]) => {
      const engine = new VerdictEngine();
      const feed = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: engine });
      feed.push(Buffer.from(`${[...lines, ...extra].join('\n')}\n`));
      feed.end();
      return engine.finish();
    };
    const killed = run(['[2026-12-03T10:00:01Z INFO  virtiofsd] Client disconnected, shutting down']);
    expect(killed.kind).toBe('inconclusive');
    expect(killed.reason).toMatch(/Client disconnected/);
    const unmounted = run([
      rustLine(T0 + 2000, 'Received request: opcode=Destroy (38), inode=0, unique=100, pid=0'),
      '[2026-12-03T10:00:02Z INFO  virtiofsd] Client disconnected, shutting down',
    ]);
    expect(unmounted.kind).toBe('healthy');
    expect(unmounted.title).toBe('healthy: unmounted (DESTROY)');
  });
});

describe('live and post-mortem apply the same rules', () => {
  it('a loop is a livelock once it has run minLoopSec with no progress, live and post-mortem alike', () => {
    const d = driver();
    let t = boot(d, T0, 10, rng(8));
    const onset = t;
    let first = Number.NaN;
    for (let now = t + 1000; now <= onset + 40_000; now += 1000) {
      for (let k = 0; t < now; t += 0.5, k++) d.req(t, OP.LOOKUP, k % 2 ? 1 : 139, 1180);
      const live = d.engine.currentVerdict(now);
      const post = d.engine.finish();
      // Whole-second stamps: the log's last stamp trails the wall clock by up to 1 s.
      const edge = Math.abs(now - onset - DEFAULT_THRESHOLDS.minLoopSec * 1000) <= 1000;
      if (!edge) expect(live.kind, `${now - onset}`).toBe(post.kind);
      if (live.kind === 'livelock' && Number.isNaN(first)) first = now;
    }
    expect(first - onset).toBeGreaterThanOrEqual(DEFAULT_THRESHOLDS.minLoopSec * 1000);
    expect(first - onset).toBeLessThanOrEqual((DEFAULT_THRESHOLDS.minLoopSec + 2) * 1000);
  });
});

describe('what the guest is waiting on', () => {
  it('a looping PID no guest line names is tied to the job the guest waits on, marked as inferred', () => {
    const d = driver();
    let t = boot(d, T0, 10, rng(9));
    d.guest(t, '         Starting vfs-lab-loop.service - Loop...');
    const onset = t;
    for (let k = 0; t < onset + 40_000; t += 0.5, k++) {
      d.req(t, OP.LOOKUP, k % 2 ? 1 : 139, 4242);
      if (k % 10_000 === 0 && k > 0) {
        const s = Math.round((t - T0) / 1000);
        d.guest(t, `[ ***  ] Job vfs-lab-loop.service/start running (${s}s / no limit)`);
      }
    }
    const v = d.engine.finish();
    expect(v.kind).toBe('livelock');
    expect(v.culprits[0].name).toBeUndefined();
    expect(v.culprits[0].inferredUnit).toBe('vfs-lab-loop.service');
    expect(v.reason).toMatch(/inferred from the console: it belongs to vfs-lab-loop\.service/);
  });
});

describe('a log without time stamps', () => {
  it('cannot time a loop: no episode, no livelock, and the verdict says why', () => {
    const engine = new VerdictEngine();
    for (let i = 0; i < 20_000; i++) {
      engine.request(Number.NaN, i + 1, OP.LOOKUP, i % 2 ? 1 : 139, 2 * i + 2, 700, Daemon.rust);
      engine.reply(Number.NaN, i + 1, 2 * i + 2, 0, 16);
    }
    const v = engine.finish();
    expect(v.kind).toBe('inconclusive');
    expect(v.episodes).toEqual([]);
    expect(v.reason).toMatch(/no time stamps, so loops, rates and stops cannot be timed/);
  });
});
