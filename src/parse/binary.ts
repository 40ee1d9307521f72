/** Is this text? One rule for every input (virtiofsd logs, consoles, journals). */

export const SNIFF_BYTES = 8192;

/**
 * Binary test on the first bytes (after gunzip): more than two NULs in the first 8 KiB (a serial console may start
 * with a stray NUL), or more than 10 % other control bytes (not TAB/LF/CR/ESC/BS/FF).
 */
export function looksBinary(buf: Uint8Array): boolean {
  const n = Math.min(buf.length, SNIFF_BYTES);
  if (n === 0) return false;
  let nul = 0;
  let ctrl = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b === 0) nul++;
    else if (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 27 && b !== 8 && b !== 12) ctrl++;
    else if (b === 0x7f) ctrl++;
  }
  return nul > 2 || ctrl / n > 0.1;
}
