/**
 * An integer with en-US digit grouping ("1,234,567"), as `Intl.NumberFormat('en-US').format` gives it, without
 * Intl: the first NumberFormat a thread makes loads ICU's locale data (~20 ms here), which the commonest commands
 * would pay at start-up or just before printing. Values Intl spells otherwise (−0, non-finite, ≥ 10²¹, fractions)
 * still go to Intl.
 */
let intl: Intl.NumberFormat | null = null;

export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) {
    intl ??= new Intl.NumberFormat('en-US');
    return intl.format(n);
  }
  const s = String(Math.abs(n));
  let out = s.slice(0, ((s.length - 1) % 3) + 1);
  for (let i = out.length; i < s.length; i += 3) out += `,${s.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}
