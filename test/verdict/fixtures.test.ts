/**
 * Every real lab capture with its expected verdict, with guest input (host-stamped console + debug port) and
 * host-only. Onset within 2 s of truth.json's loopStartHost (livelock) / stallSigstopHost (stall).
 */
import { describe, expect, it } from 'vitest';
import type { VerdictKind } from '../../src/verdict/types.js';
import { fixtureDirs, runFixture, truthOf } from './support.js';

/** Expected kinds; folders without truth.json (the older captures) are listed by hand from fixtures/README.md. */
const EXPECTED: Record<string, VerdictKind[]> = {
  'c-7.2-loop2-3s-cache-none': ['livelock'],
  'c-7.2-loop2-4s-cache-none': ['livelock'],
  'c-7.2-loop3-4s-cache-none': ['livelock'],
  'c-7.2-stall-sigstop': ['stall'],
  'c-7.2-unpack-cache-none': ['busy', 'healthy'],
  'c-7.2-walk-cache-none': ['healthy'],
  'rust-1.13.2-enoent-4s-cache-never': ['livelock'],
  'rust-1.13.2-hang-timeout-8s': ['livelock'],
  'rust-1.13.2-loop2-10s-cache-metadata': ['healthy'],
  'rust-1.13.2-loop2-10s-cache-never': ['livelock'],
  'rust-1.13.2-loop2-4s-cache-metadata': ['healthy'],
  'rust-1.13.2-loop2-4s-cache-never': ['livelock'],
  'rust-1.13.2-loop3-4s-cache-never': ['livelock'],
  'rust-1.13.2-stall-sigstop': ['stall'],
  'rust-1.13.2-systemd-boot-k6.12-cache-metadata': ['healthy'],
  'rust-1.13.2-unpack-cache-never': ['busy', 'healthy'],
  'rust-1.13.2-walk-cache-metadata': ['healthy'],
  'rust-1.13.2-walk-cache-never': ['healthy'],
};

const TITLE_RE =
  /^(livelock: pid \d+( \([^)]+\))? \S+ ×\d+(\.\d)?[kM]? since \d\d:\d\d:\d\d|stall: .+|deadlock: .+|busy: .+|healthy: .+|inconclusive: .+)$/;

describe('verdicts on the real lab captures', () => {
  it('covers every fixture folder', () => {
    expect(fixtureDirs().sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of fixtureDirs()) {
    const truth = truthOf(name);
    for (const guest of [true, false]) {
      it(`${name} (${guest ? 'with guest input' : 'host-only'})`, () => {
        const v = runFixture(name, { guest });
        const want = EXPECTED[name];
        if (truth) expect(want).toContain(truth.expected);
        expect(want, v.title).toContain(v.kind);
        expect(v.kind).not.toBe('inconclusive');
        expect(v.hostOnly).toBe(!guest);
        expect(v.title).toMatch(TITLE_RE);
        expect(v.confidence).toBeGreaterThan(0);
        expect(v.confidence).toBeLessThanOrEqual(1);
        if (!guest) {
          const withGuest = runFixture(name, { guest: true });
          expect(v.confidence).toBeLessThan(withGuest.confidence);
        }
        if (v.kind === 'livelock') {
          expect(v.loop).toBeDefined();
          expect(v.culprits[0]?.pid).toBe(1);
          expect(v.loop?.repetitions).toBeGreaterThanOrEqual(50);
          expect(v.title).toContain(v.loop?.tokens.join('→'));
          expect(v.evidence.some((e) => e.input === 'virtiofsd' && e.line > 0)).toBe(true);
          expect(v.criticalTransition?.firstLoopRequest?.pointer?.line).toBeGreaterThan(0);
          if (truth?.loopStartHost) {
            const err = Math.abs((v.onset ?? 0) - Date.parse(truth.loopStartHost)) / 1000;
            expect(err, `onset ${v.onset} vs truth ${truth.loopStartHost}`).toBeLessThanOrEqual(2);
          }
        }
        if (v.kind === 'stall' && truth?.stallSigstopHost) {
          const err = Math.abs((v.onset ?? 0) - Date.parse(truth.stallSigstopHost)) / 1000;
          expect(err).toBeLessThanOrEqual(2);
          expect(v.culprits).toEqual([]);
        }
      });
    }
  }

  it('loop signatures: Rust and C give the same abstract 2-path cycle', () => {
    const r = runFixture('rust-1.13.2-loop2-4s-cache-never', { guest: true });
    const c = runFixture('c-7.2-loop2-4s-cache-none', { guest: true });
    const sig =
      'Getattr(1)→Lookup(1)→Getattr(new)→Getattr(1)→Lookup(1)→Getattr(new)→Lookup(new)→Getattr(new)';
    expect(r.loop?.tokens.join('→')).toBe(sig);
    expect(c.loop?.tokens.join('→')).toBe(sig);
    // 2,200 iterations in the lab notes.
    expect(r.loop?.repetitions).toBeGreaterThan(2100);
    expect(r.loop?.repetitions).toBeLessThanOrEqual(2200);
    expect(c.loop?.repetitions).toBeGreaterThan(2100);
    expect(r.loop?.share).toBeGreaterThan(0.6);
  });

  it('3-path loop: period 17 (7 Lookup + 10 Getattr per iteration, Forgets come from pid 0)', () => {
    for (const name of ['rust-1.13.2-loop3-4s-cache-never', 'c-7.2-loop3-4s-cache-none']) {
      const v = runFixture(name, { guest: true });
      expect(v.loop?.period).toBe(17);
      expect(v.loop?.tokens.filter((t) => t.startsWith('Lookup')).length).toBe(7);
    }
  });

  it('ENOENT storm is a livelock with the error replies counted as answers', () => {
    const v = runFixture('rust-1.13.2-enoent-4s-cache-never', { guest: true });
    expect(v.loop?.tokens).toEqual(['Getattr(1)', 'Lookup(1)']);
    expect(v.reason).toMatch(/errors/);
  });

  it('a recovered loop says so; the one killed by timeout is ongoing to the end', () => {
    const rec = runFixture('rust-1.13.2-loop2-4s-cache-never', { guest: true });
    expect(rec.reason).toMatch(/loop ended at .*poweroff/);
    const hang = runFixture('rust-1.13.2-hang-timeout-8s', { guest: true });
    expect(hang.reason).not.toMatch(/loop ended/);
    expect(hang.durationSec).toBeGreaterThanOrEqual(4);
  });

  it('unpack: the productive repeating pattern is named but not called a livelock', () => {
    const v = runFixture('rust-1.13.2-unpack-cache-never', { guest: false });
    expect(v.kind).toBe('busy');
    expect(v.reason).toMatch(/tree grows/);
  });

  it('a log cut while the loop still ran reads as livelock with endOfLog=cut', () => {
    const v = runFixture('rust-1.13.2-stall-sigstop', { guest: true, finish: { endOfLog: 'cut' } });
    expect(v.kind).toBe('livelock');
  });
});
