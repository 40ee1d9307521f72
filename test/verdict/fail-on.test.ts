import { describe, expect, it } from 'vitest';
import { failOnMatch } from '../../src/verdict/fail-on.js';
import type { Verdict } from '../../src/verdict/types.js';
import { runFixture } from './support.js';

describe('--fail-on', () => {
  const v: Verdict = runFixture('rust-1.13.2-loop2-10s-cache-never', { guest: true });

  it('a verdict kind matches itself only', () => {
    expect(failOnMatch(v, new Set([v.kind]), 30)).toMatch(new RegExp(`^${v.kind}: `));
    expect(failOnMatch(v, new Set(['livelock', 'stall']), 30)).toBeUndefined();
  });

  it('long-episode matches a healthy run whose loop lasted longEpisodeSec or more', () => {
    expect(['healthy', 'busy']).toContain(v.kind);
    const ep = v.episodes?.[0];
    expect(ep?.durationSec).toBeGreaterThan(8);
    expect(failOnMatch(v, new Set(['long-episode']), 30)).toBeUndefined();
    expect(failOnMatch(v, new Set(['long-episode']), 8)).toBe(`long-episode (≥ 8 s): ${ep?.summary}`);
  });
});
