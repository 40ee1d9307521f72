/**
 * Every real lab capture with the verdict the tool must give by default, with guest input (host-stamped console,
 * debug port, journal.json) and host-only. A verdict says how the run ended (README "Verdicts"):
 * - busybox loops that ended and powered off are healthy/busy runs with a loop episode (dated within 2 s of the
 *   guest's own `<loop>: start` line);
 * - the systemd guest whose unit loops forever is a livelock, the one whose unit blocks forever a stall;
 * - a log that ends mid-loop with nothing after it (SIGSTOPped daemon, an 8 s hang) is inconclusive: nothing in
 *   the evidence says traffic stopped, and the loop ran for less than minLoopSec. With the user's word
 *   (`--stopped-at-end`) or a lower minLoopSec they become the stall and the livelock they were.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/verdict/thresholds.js';
import type { VerdictKind } from '../../src/verdict/types.js';
import { fixtureDirs, runFixture, truthOf } from './support.js';

type Kinds = VerdictKind[];
const HEALTHY: Kinds = ['healthy', 'busy'];

/** Default verdict with guest input, and from the virtiofsd log alone. */
const EXPECTED: Record<string, { guest: Kinds; host: Kinds }> = {
  'c-7.2-loop2-3s-cache-none': { guest: HEALTHY, host: HEALTHY },
  'c-7.2-loop2-4s-cache-none': { guest: HEALTHY, host: HEALTHY },
  'c-7.2-loop3-4s-cache-none': { guest: HEALTHY, host: HEALTHY },
  'c-7.2-stall-sigstop': { guest: ['inconclusive'], host: ['inconclusive'] },
  'c-7.2-unpack-cache-none': { guest: HEALTHY, host: HEALTHY },
  'c-7.2-walk-cache-none': { guest: ['healthy'], host: ['healthy'] },
  'rust-1.13.2-enoent-4s-cache-never': { guest: HEALTHY, host: HEALTHY },
  'rust-1.13.2-hang-timeout-8s': { guest: ['inconclusive'], host: ['inconclusive'] },
  'rust-1.13.2-loop2-10s-cache-metadata': { guest: ['healthy'], host: ['healthy'] },
  'rust-1.13.2-loop2-10s-cache-never': { guest: HEALTHY, host: HEALTHY },
  'rust-1.13.2-loop2-4s-cache-metadata': { guest: ['healthy'], host: ['healthy'] },
  'rust-1.13.2-loop2-4s-cache-never': { guest: HEALTHY, host: HEALTHY },
  'rust-1.13.2-loop3-4s-cache-never': { guest: HEALTHY, host: HEALTHY },
  'rust-1.13.2-stall-sigstop': { guest: ['inconclusive'], host: ['inconclusive'] },
  'rust-1.13.2-unpack-cache-never': { guest: HEALTHY, host: HEALTHY },
  'rust-1.13.2-walk-cache-metadata': { guest: ['healthy'], host: ['healthy'] },
  'rust-1.13.2-walk-cache-never': { guest: ['healthy'], host: ['healthy'] },
};

/** systemd captures: a powered-off boot has no DESTROY (the root is never unmounted), so the log alone cannot
 * tell a clean power-off from a kill: inconclusive, never a hang. */
function expectedFor(name: string): { guest: Kinds; host: Kinds } {
  const e = EXPECTED[name];
  if (e) return e;
  const t = truthOf(name);
  if (t?.image === 'loop') return { guest: ['livelock'], host: ['livelock'] };
  if (t?.image === 'block') return { guest: ['stall'], host: ['stall'] };
  if (t?.image === 'healthy' || name.includes('systemd-boot'))
    return { guest: HEALTHY, host: ['inconclusive'] };
  throw new Error(`no expected verdict for fixture ${name}`);
}

const TITLE_RE =
  /^(livelock: pid \d+( \([^)]+\))? \S+ ×\d+(\.\d)?[kM]? since \d\d:\d\d:\d\d|stall: .+|deadlock: .+|busy: .+|healthy: .+|inconclusive: .+)$/;

describe('verdicts on the real lab captures', () => {
  for (const name of fixtureDirs()) {
    const truth = truthOf(name);
    for (const guest of [true, false]) {
      it(`${name} (${guest ? 'with guest input' : 'host-only'})`, () => {
        const v = runFixture(name, { guest });
        const want = expectedFor(name)[guest ? 'guest' : 'host'];
        expect(want, v.title).toContain(v.kind);
        expect(v.hostOnly).toBe(!guest);
        expect(v.title).toMatch(TITLE_RE);
        expect(v.confidence).toBeGreaterThan(0);
        expect(v.confidence).toBeLessThanOrEqual(1);
        expect(v.episodes).toBeDefined();
        if (!guest && v.kind !== 'inconclusive') {
          const withGuest = runFixture(name, { guest: true });
          if (withGuest.kind === v.kind) expect(v.confidence).toBeLessThan(withGuest.confidence);
        }
        // Healthy runs: the goal with guest input; a DESTROY without.
        if (v.kind === 'healthy' || v.kind === 'busy') {
          expect(v.evidence.some((e) => /goal reached|DESTROY/.test(e.what))).toBe(true);
          expect(v.episodes?.some((e) => e.outcome === 'running')).toBe(false);
        }
        // A loop that ended: an episode dated from the guest's own start line.
        if (truth?.loopEpisode) {
          const ep = v.episodes?.find((e) => e.pid === 1);
          expect(ep, JSON.stringify(v.episodes?.map((e) => e.summary))).toBeDefined();
          expect(['goal', 'progress', 'ended']).toContain(ep?.outcome);
          expect(ep?.repetitions).toBeGreaterThanOrEqual(DEFAULT_THRESHOLDS.minRepetitions);
          if (truth.loopStartHost) {
            const err = Math.abs((ep?.start ?? 0) - Date.parse(truth.loopStartHost)) / 1000;
            expect(err, `episode start vs truth ${truth.loopStartHost}`).toBeLessThanOrEqual(2);
          }
          if (guest) expect(ep?.summary).toMatch(/^transient loop: pid 1 .* then (the goal|progress)/);
        }
        if (v.kind === 'livelock') {
          expect(v.loop).toBeDefined();
          expect(v.loop?.repetitions).toBeGreaterThanOrEqual(50);
          expect(v.evidence.some((e) => e.input === 'virtiofsd' && e.line > 0)).toBe(true);
          expect(v.criticalTransition?.firstLoopRequest?.pointer?.line).toBeGreaterThan(0);
          expect(v.durationSec).toBeGreaterThanOrEqual(DEFAULT_THRESHOLDS.minLoopSec);
          expect(v.episodes?.[0]?.outcome).toBe('running');
          if (truth?.loopStartHost) {
            const err = Math.abs((v.onset ?? 0) - Date.parse(truth.loopStartHost)) / 1000;
            expect(err, `onset ${v.onset} vs truth ${truth.loopStartHost}`).toBeLessThanOrEqual(2);
          }
        }
        if (v.kind === 'stall') {
          expect(v.culprits).toEqual([]);
          if (truth?.blockStartHost) {
            // Traffic stops once the units started beside the blocked one are done: after the block, within 40 s.
            const after = ((v.onset ?? 0) - Date.parse(truth.blockStartHost)) / 1000;
            expect(after).toBeGreaterThanOrEqual(-1);
            expect(after).toBeLessThanOrEqual(40);
          }
        }
      });
    }
  }

  it('every fixture folder has an expected verdict', () => {
    for (const name of fixtureDirs()) expect(() => expectedFor(name)).not.toThrow();
  });

  it('episode signatures: Rust and C give the same abstract 2-path cycle', () => {
    const sig =
      'Getattr(1)→Lookup(1)→Getattr(new)→Getattr(1)→Lookup(1)→Getattr(new)→Lookup(new)→Getattr(new)';
    for (const name of ['rust-1.13.2-loop2-4s-cache-never', 'c-7.2-loop2-4s-cache-none']) {
      const ep = runFixture(name, { guest: true }).episodes?.[0];
      expect(ep?.tokens.join('→')).toBe(sig);
      // 2,200 iterations in the lab notes.
      expect(ep?.repetitions).toBeGreaterThan(2100);
      expect(ep?.repetitions).toBeLessThanOrEqual(2200);
    }
  });

  it('3-path loop: period 17 (7 Lookup + 10 Getattr per iteration, Forgets come from pid 0)', () => {
    for (const name of ['rust-1.13.2-loop3-4s-cache-never', 'c-7.2-loop3-4s-cache-none']) {
      const ep = runFixture(name, { guest: true }).episodes?.[0];
      expect(ep?.period).toBe(17);
      expect(ep?.tokens.filter((t) => t.startsWith('Lookup')).length).toBe(7);
    }
  });

  it('ENOENT storm: an episode whose requests all failed is still a loop', () => {
    const ep = runFixture('rust-1.13.2-enoent-4s-cache-never', { guest: true }).episodes?.[0];
    expect(ep?.tokens).toEqual(['Getattr(1)', 'Lookup(1)']);
  });

  it('unpack: the productive repeating pattern is not a loop episode', () => {
    for (const guest of [true, false]) {
      const v = runFixture('rust-1.13.2-unpack-cache-never', { guest });
      expect(v.kind).toBe('busy');
      expect(v.episodes).toEqual([]);
    }
  });

  it('logs that end mid-loop with nothing after: the user can say the daemon stopped there, or lower minLoopSec', () => {
    for (const name of ['rust-1.13.2-stall-sigstop', 'c-7.2-stall-sigstop']) {
      const v = runFixture(name, { guest: true });
      expect(v.reason).toMatch(/at the end of the evidence/);
      const stopped = runFixture(name, { guest: true, finish: { endOfLog: 'stopped' } });
      expect(stopped.kind).toBe('stall');
      const truth = truthOf(name);
      const err = Math.abs((stopped.onset ?? 0) - Date.parse(truth?.stallSigstopHost ?? '')) / 1000;
      expect(err).toBeLessThanOrEqual(2);
      expect(stopped.reason).toMatch(/was looping/);
    }
    const hang = runFixture('rust-1.13.2-hang-timeout-8s', { guest: true, thresholds: { minLoopSec: 3 } });
    expect(hang.kind).toBe('livelock');
    const truth = truthOf('rust-1.13.2-hang-timeout-8s');
    expect(Math.abs((hang.onset ?? 0) - Date.parse(truth?.loopStartHost ?? '')) / 1000).toBeLessThanOrEqual(
      2,
    );
  });

  it("systemd loop: the looping unit's process is named from the journal, the job it blocks is named", () => {
    const name = fixtureDirs().find((n) => truthOf(n)?.image === 'loop');
    expect(name).toBeDefined();
    const v = runFixture(name as string, { guest: true });
    expect(v.culprits[0].name).toBe('sh');
    expect(v.waitingOn?.[0]?.unit).toBe('vfs-lab-loop.service');
    expect(v.reason).toMatch(/waiting on vfs-lab-loop\.service \(job running/);
    expect(runFixture(name as string, { guest: false }).culprits[0].pid).toBe(v.culprits[0].pid);
  });

  it('systemd block: the stall names the job the guest waits on', () => {
    const name = fixtureDirs().find((n) => truthOf(n)?.image === 'block');
    expect(name).toBeDefined();
    const v = runFixture(name as string, { guest: true });
    expect(v.title).toMatch(
      /^stall: traffic stopped at \d\d:\d\d:\d\d, guest waiting on vfs-lab-block\.service \(job running /,
    );
    expect(v.criticalTransition?.lastProgress?.text).toBeTruthy();
  });

  it('healthy systemd boots: no episode came within minLoopSec of no progress', () => {
    for (const name of fixtureDirs().filter((n) => truthOf(n)?.image === 'healthy')) {
      const v = runFixture(name, { guest: true });
      for (const e of v.episodes ?? []) {
        expect(e.longestNoProgressSec ?? 0, `${name}: ${e.summary}`).toBeLessThan(
          DEFAULT_THRESHOLDS.minLoopSec / 2,
        );
      }
    }
  });
});
