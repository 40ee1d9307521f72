import { describe, expect, it } from 'vitest';
import { type PollFacts, StopPolicy } from '../../src/launch/stop-policy.js';
import type { Verdict, VerdictKind } from '../../src/verdict/types.js';

function verdict(kind: VerdictKind, onset: number | null = null): Verdict {
  return {
    kind,
    confidence: 0.8,
    title: `${kind}: x`,
    reason: '',
    onset,
    durationSec: null,
    culprits: [],
    evidence: [],
    hostOnly: false,
  };
}
const T0 = 1_000_000;
function facts(sec: number, kind: VerdictKind, extra: Partial<PollFacts> = {}): PollFacts {
  return {
    now: T0 + sec * 1000,
    verdict: verdict(kind, T0),
    goal: null,
    lastGuestLineAt: T0 + sec * 1000,
    ...extra,
  };
}

describe('StopPolicy', () => {
  it('stops on a livelock held for two consecutive polls, known at the first', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000 });
    expect(p.poll(facts(1, 'inconclusive'))).toBeNull();
    expect(p.poll(facts(2, 'livelock'))).toBeNull();
    const d = p.poll(facts(3, 'livelock'))!;
    expect(d).toMatchObject({
      reason: 'livelock',
      outcome: 'livelock',
      polls: 2,
      knownAt: T0 + 2000,
      decidedAt: T0 + 3000,
    });
  });

  it('a streak broken by another verdict starts again', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000 });
    expect(p.poll(facts(1, 'livelock'))).toBeNull();
    expect(p.poll(facts(2, 'busy'))).toBeNull();
    expect(p.poll(facts(3, 'deadlock'))).toBeNull();
    expect(p.poll(facts(4, 'livelock'))).toBeNull();
    expect(p.poll(facts(5, 'livelock'))?.reason).toBe('livelock');
  });

  it('the goal wins at once → healthy', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000 });
    const d = p.poll(facts(4, 'busy', { goal: { goal: 'multi-user.target', hostTime: T0 + 3500 } }))!;
    expect(d).toMatchObject({ reason: 'goal', outcome: 'healthy', knownAt: T0 + 3500 });
  });

  it('a stall does not stop a run while the guest keeps printing (running from its cache)', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000, quietSec: 10 });
    for (let s = 12; s < 20; s++) expect(p.poll(facts(s, 'stall'))).toBeNull();
    // the guest fell silent 10 s ago as well
    expect(p.poll(facts(30, 'stall', { lastGuestLineAt: T0 + 19_000 }))).toBeNull();
    expect(p.poll(facts(31, 'stall', { lastGuestLineAt: T0 + 19_000 }))?.reason).toBe('stall');
  });

  it('timeout: the verdict at that moment; healthy without a goal is inconclusive', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 5000 });
    expect(p.poll(facts(4, 'busy'))).toBeNull();
    expect(p.poll(facts(5, 'busy'))).toMatchObject({ reason: 'timeout', outcome: 'busy' });
    const q = new StopPolicy({ startedAt: T0, timeoutMs: 5000 });
    expect(q.poll(facts(6, 'healthy'))).toMatchObject({ reason: 'timeout', outcome: 'inconclusive' });
  });

  it('bcvk exiting by itself: goal → healthy, exit 0 after an unmount → healthy, otherwise error', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000 });
    const goal = { goal: 'poweroff', hostTime: T0 + 2000 };
    expect(p.exited(facts(3, 'inconclusive', { goal }), { exitCode: 1, signal: null }).outcome).toBe(
      'healthy',
    );
    expect(p.exited(facts(3, 'healthy', { unmounted: true }), { exitCode: 0, signal: null }).outcome).toBe(
      'healthy',
    );
    const e = p.exited(facts(3, 'livelock'), { exitCode: 1, signal: null });
    expect(e).toMatchObject({ reason: 'error', outcome: 'error' });
    expect(e.note).toMatch(/exit code 1/);
    expect(p.interrupted(facts(3, 'busy'), 'SIGINT')).toMatchObject({
      reason: 'interrupted',
      outcome: 'interrupted',
    });
  });

  it('a crashed VM (QEMU killed mid-boot) is an error naming the crash, never healthy: "guest progressing" becomes inconclusive', () => {
    const p = new StopPolicy({ startedAt: T0, timeoutMs: 60_000 });
    const progressing = facts(3, 'healthy');
    progressing.verdict.title = 'healthy: guest progressing';
    const d = p.exited(
      progressing,
      { exitCode: 1, signal: null },
      'QEMU exited with non-zero status: exit status: 137',
    );
    expect(d).toMatchObject({ reason: 'error', outcome: 'error' });
    expect(d.verdict.kind).toBe('inconclusive');
    expect(d.verdict.title).toMatch(
      /^inconclusive: the VM crashed before reaching its goal \(bcvk exit code 1: QEMU exited with non-zero status: exit status: 137\)/,
    );
    expect(d.title).toMatch(/^error: the VM crashed before reaching its goal/);
    expect(d.title).not.toMatch(/healthy/);
    expect(d.note).toMatch(/live verdict then: healthy: guest progressing/);
    // killed by a signal
    expect(p.exited(facts(3, 'busy'), { exitCode: null, signal: 'SIGKILL' }).verdict.title).toMatch(
      /crashed .*signal SIGKILL/,
    );
    // QEMU SIGTERMed exits 0 (and bcvk with it): no goal, no unmount → still an error, not healthy
    const q = p.exited(facts(3, 'healthy'), { exitCode: 0, signal: null });
    expect(q).toMatchObject({ reason: 'error', outcome: 'error' });
    expect(q.verdict.kind).toBe('inconclusive');
    expect(q.title).toMatch(/ended before reaching its goal/);
    // a hang verdict keeps its kind; the outcome still says error
    const l = p.exited(facts(3, 'livelock'), { exitCode: 1, signal: null });
    expect(l.verdict.kind).toBe('livelock');
    expect(l.verdict.reason).toMatch(/Then the VM crashed/);
    // an undecided verdict is titled with the crash
    expect(p.exited(facts(3, 'inconclusive'), { exitCode: 1, signal: null }).verdict.title).toMatch(
      /^inconclusive: the VM crashed/,
    );
    expect(l.title).toMatch(/^error: the VM crashed/);
  });
});
