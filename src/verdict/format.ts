/** Small formatting helpers for verdict titles (stable: CI de-duplicates on them). */

/** 950 → "950", 2200 → "2.2k", 88_123 → "88k", 1_250_000 → "1.3M". */
export function compactCount(n: number): string {
  const v = Math.round(n);
  if (v < 1000) return String(v);
  if (v < 10_000) return `${trim1(v / 1000)}k`;
  if (v < 999_500) return `${Math.round(v / 1000)}k`;
  if (v < 10_000_000) return `${trim1(v / 1e6)}M`;
  return `${Math.round(v / 1e6)}M`;
}

function trim1(x: number): string {
  const s = x.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** UTC HH:MM:SS of an epoch-ms time. */
export function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** `pid 1180 (systemd-journald)` or `pid 1180`. */
export function pidLabel(pid: number, name?: string): string {
  return name ? `pid ${pid} (${name})` : `pid ${pid}`;
}

/** Tokens kept when a loop signature is shortened for a headline. */
export const SIGNATURE_TOKENS = 6;

/** A loop signature (`A→B→C…`) cut to its first `max` tokens: `A→B→…(+18)`; short ones unchanged. */
export function shortSignature(tokens: readonly string[], max = SIGNATURE_TOKENS): string {
  return tokens.length <= max
    ? tokens.join('→')
    : `${tokens.slice(0, max).join('→')}→…(+${tokens.length - max})`;
}
