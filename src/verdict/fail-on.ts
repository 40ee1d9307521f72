/**
 * `--fail-on`: which verdicts fail a run. A verdict kind matches itself; `long-episode` matches a run that spent
 * `longEpisodeSec` or more in one loop episode, whatever the verdict (a boot that looped 90 s before recovering
 * is healthy, and worth failing CI on when asked).
 */
import type { Verdict } from './types.js';

export const LONG_EPISODE = 'long-episode';

/** Why `v` matches one of `keys`, or undefined. */
export function failOnMatch(
  v: Verdict,
  keys: ReadonlySet<string>,
  longEpisodeSec: number,
): string | undefined {
  if (keys.has(v.kind)) return `${v.kind}: ${v.title}`;
  if (keys.has(LONG_EPISODE)) {
    const e = (v.episodes ?? []).find((x) => x.durationSec >= longEpisodeSec);
    if (e) return `${LONG_EPISODE} (≥ ${longEpisodeSec} s): ${e.summary}`;
  }
  return undefined;
}
