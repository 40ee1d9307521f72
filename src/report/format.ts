import { groupDigits } from '../analyze/group-digits.js';
import { SIGNATURE_TOKENS, shortSignature } from '../verdict/format.js';

/** Small pure formatting helpers shared by the renderers. */

export function int(n: number): string {
  return groupDigits(Math.round(n));
}

export function pct(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

export function rate(n: number): string {
  return n >= 100 ? int(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** `2026-11-27 02:35:30` (UTC), with the date dropped when `sameDayAs` is the same UTC day. */
export function utc(ms: number | null, sameDayAs?: number | null, fraction = false): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const iso = new Date(ms).toISOString();
  const time = fraction ? iso.slice(11, 23) : iso.slice(11, 19);
  if (
    sameDayAs !== undefined &&
    sameDayAs !== null &&
    iso.slice(0, 10) === new Date(sameDayAs).toISOString().slice(0, 10)
  ) {
    return time;
  }
  return `${iso.slice(0, 10)} ${time}`;
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '—';
  if (sec < 1) return `${(sec * 1000).toFixed(0)} ms`;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const m = Math.floor(sec / 60);
  const s = Math.round(sec - m * 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** A one-line sparkline of `values`, downsampled (max per cell) to at most `width` cells. */
export function sparkline(values: number[], width: number): string {
  if (values.length === 0) return '';
  const cells = Math.min(width, values.length);
  const per = values.length / cells;
  const out: number[] = [];
  for (let i = 0; i < cells; i++) {
    let m = 0;
    const lo = Math.floor(i * per);
    const hi = Math.max(lo + 1, Math.floor((i + 1) * per));
    for (let j = lo; j < hi; j++) if (values[j] > m) m = values[j];
    out.push(m);
  }
  const max = Math.max(...out);
  return out.map((v) => (v === 0 ? ' ' : BLOCKS[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
}

/** Trim `s` to `n` characters with an ellipsis. */
export function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(0, n - 1))}…`;
}

/** Word-wrap `text` to lines of at most `width` characters; an overlong word is split after `→` or hard. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  const words: string[] = [];
  for (const word of text.split(/\s+/)) {
    let w = word;
    while (w.length > width) {
      const cut = w.lastIndexOf('→', width - 1);
      const at = cut > 0 ? cut + 1 : width;
      words.push(w.slice(0, at));
      w = w.slice(at);
    }
    words.push(w);
  }
  for (const word of words) {
    if (word === '') continue;
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line !== '') out.push(line);
  return out;
}

export { SIGNATURE_TOKENS, shortSignature } from '../verdict/format.js';

/** `text` with every `→`-joined loop signature longer than `max` tokens shortened by {@link shortSignature}. */
export function shortenSignatures(text: string, max = SIGNATURE_TOKENS): string {
  return text.replace(/[^\s→]+(?:→[^\s→]+)+/g, (sig) => {
    const tokens = sig.split('→');
    return tokens.length <= max ? sig : shortSignature(tokens, max);
  });
}
