/**
 * Variants (sets of mitigations) for `vfs-analyze run IMAGE --compare ...`, pure.
 *
 * Syntax (one `--compare` per dimension, hyperfine `-L` style; several dimensions form a matrix, the first one
 * varying slowest):
 * ```
 * --compare cache=never,metadata                  → 2 variants
 * --compare cache=never,metadata --compare threads=0,4   → 4 variants
 * --compare journal=none,volatile                 → bcvk default vs the journald mitigation
 * --compare 'karg=none,quiet,systemd.log_level=debug'     → karg alternatives ("none" adds nothing)
 * --compare 'bcvk=--memory=2G,--memory=8G'        → pass-through bcvk arguments (one token each)
 * ```
 * A literal comma inside a value is written `\,`. Mitigations that apply to every variant (`--mitigate KEY=VALUE`,
 * repeatable) are parsed by {@link parseMitigation} and given as `base`.
 */

import { UsageError } from '../errors.js';

export const CACHE_MODES = ['never', 'metadata', 'auto', 'always'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** The karg bcvk main (PR #317) uses to keep journald off the virtiofs root. */
export const JOURNAL_VOLATILE_KARG = 'systemd.mask=systemd-journal-flush.service';
/** The karg bcvk v0.6.0 – v0.18.0 sent; systemd ignores it (bcvk #316). */
export const IGNORED_JOURNALD_KARG = 'systemd.journald.storage=volatile';

export const JOURNAL_VOLATILE_NOTE =
  `journal=volatile adds the kernel argument ${JOURNAL_VOLATILE_KARG} (what bcvk main does since PR #317); ` +
  `${IGNORED_JOURNALD_KARG}, which bcvk v0.6.0 – v0.18.0 send, is ignored by systemd (bcvk #316). ` +
  'With bcvk main this variant repeats a karg bcvk already sends.';

export type Mitigation =
  | { kind: 'cache'; mode: CacheMode }
  | { kind: 'threads'; n: number }
  | { kind: 'karg'; arg: string }
  | { kind: 'journal'; mode: 'volatile' }
  | { kind: 'bcvk'; arg: string };

export type MitigationKey = Mitigation['kind'];
export const MITIGATION_KEYS: readonly MitigationKey[] = ['cache', 'threads', 'karg', 'journal', 'bcvk'];

export interface Variant {
  /** Display name, e.g. "cache=never" or "cache=metadata threads=4"; "bcvk defaults" when empty. */
  name: string;
  mitigations: Mitigation[];
  /** Plain-language notes for the user (e.g. the journald note). */
  notes?: string[];
}

/** bcvk options owned by the launcher: passing them through would break capture or cleanup. */
const RESERVED_BCVK_ARGS: Record<string, string> = {
  '--name': 'the launcher names each container itself (for cleanup with podman rm -f)',
  '--log-dir': 'the launcher captures journal and console itself',
  '--virtiofsd': 'the launcher passes its own virtiofsd wrapper (cache mode and debug log)',
  '-d': 'the launcher must follow the run in the foreground',
  '--detach': 'the launcher must follow the run in the foreground',
  '--output': 'the launcher reads the journal from --log-dir; --output changes bcvk stdout',
  '--karg': 'use karg=ARG instead',
  '-t': 'a TTY would mix the console into the launcher output',
  '--tty': 'a TTY would mix the console into the launcher output',
  '-i': 'the launcher does not forward stdin',
  '--interactive': 'the launcher does not forward stdin',
};

/** Human name of one mitigation, as written on the command line. */
export function mitigationName(m: Mitigation): string {
  switch (m.kind) {
    case 'cache':
      return `cache=${m.mode}`;
    case 'threads':
      return `threads=${m.n}`;
    case 'karg':
      return `karg=${m.arg}`;
    case 'journal':
      return `journal=${m.mode}`;
    case 'bcvk':
      return `bcvk=${m.arg}`;
  }
}

function isKey(k: string): k is MitigationKey {
  return (MITIGATION_KEYS as readonly string[]).includes(k);
}

/**
 * Parse one value of one dimension. Returns null for "none" (karg, journal, bcvk: add nothing, i.e. bcvk's
 * default). Throws UsageError with a message naming the valid values.
 */
export function parseMitigationValue(key: string, value: string): Mitigation | null {
  if (!isKey(key)) {
    throw new UsageError(
      `unknown mitigation "${key}" in "${key}=${value}"; expected one of ${MITIGATION_KEYS.join(', ')}`,
    );
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${key}: control characters are not allowed`);
  switch (key) {
    case 'cache': {
      if (!(CACHE_MODES as readonly string[]).includes(value)) {
        throw new UsageError(
          `cache=${value}: not a virtiofsd cache mode; expected one of ${CACHE_MODES.join(', ')} ` +
            '(bcvk itself always uses never)',
        );
      }
      return { kind: 'cache', mode: value as CacheMode };
    }
    case 'threads': {
      if (!/^\d{1,4}$/.test(value) || Number(value) > 1024) {
        throw new UsageError(
          `threads=${value}: expected a whole number 0..1024 (virtiofsd --thread-pool-size; 0 disables the pool, bcvk's default)`,
        );
      }
      return { kind: 'threads', n: Number(value) };
    }
    case 'karg': {
      if (value === 'none') return null;
      if (value === '') throw new UsageError('karg=: empty kernel argument');
      // one kernel argument: no unquoted whitespace (the kernel splits on it); KEY="a b" is allowed
      if (!/^(?:[^\s"]+|[^\s"=]+="[^"]*")$/.test(value)) {
        throw new UsageError(
          `karg=${value}: one kernel argument expected (no spaces except inside KEY="..."); repeat karg= for several`,
        );
      }
      return { kind: 'karg', arg: value };
    }
    case 'journal': {
      if (value === 'none') return null;
      if (value !== 'volatile') {
        throw new UsageError(`journal=${value}: expected volatile or none`);
      }
      return { kind: 'journal', mode: 'volatile' };
    }
    case 'bcvk': {
      if (value === 'none') return null;
      if (!value.startsWith('-')) {
        throw new UsageError(
          `bcvk=${value}: a pass-through bcvk option expected (one token, e.g. bcvk=--memory=2G)`,
        );
      }
      const opt = value.includes('=') ? value.slice(0, value.indexOf('=')) : value;
      const why = RESERVED_BCVK_ARGS[opt];
      if (why) throw new UsageError(`bcvk=${value}: ${opt} cannot be passed through: ${why}`);
      return { kind: 'bcvk', arg: value };
    }
  }
}

/** Split a `KEY=V1,V2,...` spec; `\,` is a literal comma. */
export function splitSpec(spec: string): { key: string; values: string[] } {
  const eq = spec.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(
      `--compare ${spec}: expected KEY=VALUE[,VALUE...], e.g. cache=never,metadata (keys: ${MITIGATION_KEYS.join(', ')})`,
    );
  }
  const key = spec.slice(0, eq).trim();
  const rest = spec.slice(eq + 1);
  const values: string[] = [];
  let cur = '';
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '\\' && rest[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (ch === ',') {
      values.push(cur);
      cur = '';
    } else cur += ch;
  }
  values.push(cur);
  return { key, values };
}

/** Parse one `--mitigate KEY=VALUE` (a single value, applied to every variant). */
export function parseMitigation(spec: string): Mitigation | null {
  const { key, values } = splitSpec(spec);
  if (values.length !== 1)
    throw new UsageError(`--mitigate ${spec}: one value expected (use \\, for a comma)`);
  return parseMitigationValue(key, values[0]);
}

/** Single-valued mitigation kinds: at most one per variant. */
const SINGLE: ReadonlySet<MitigationKey> = new Set(['cache', 'threads', 'journal']);

function notesFor(ms: readonly Mitigation[]): string[] {
  const notes: string[] = [];
  if (ms.some((m) => m.kind === 'journal')) notes.push(JOURNAL_VOLATILE_NOTE);
  if (ms.some((m) => m.kind === 'karg' && m.arg === IGNORED_JOURNALD_KARG)) {
    notes.push(
      `karg=${IGNORED_JOURNALD_KARG} is ignored by systemd ("Unknown journald kernel command line option"; bcvk #316); ` +
        `use journal=volatile (${JOURNAL_VOLATILE_KARG})`,
    );
  }
  if (ms.some((m) => m.kind === 'cache' && m.mode === 'always')) {
    notes.push('cache=always: bcvk moved away from it because of FD exhaustion on large images (bcvk #65)');
  }
  return notes;
}

/** Build a variant from mitigations (validating single-valued kinds) and name it. */
export function makeVariant(ms: readonly Mitigation[]): Variant {
  const seen = new Map<MitigationKey, Mitigation>();
  for (const m of ms) {
    if (!SINGLE.has(m.kind)) continue;
    const prev = seen.get(m.kind);
    if (prev && mitigationName(prev) !== mitigationName(m)) {
      throw new UsageError(`conflicting mitigations ${mitigationName(prev)} and ${mitigationName(m)}`);
    }
    seen.set(m.kind, m);
  }
  // drop exact duplicates, keep order
  const out: Mitigation[] = [];
  const names = new Set<string>();
  for (const m of ms) {
    const n = mitigationName(m);
    if (names.has(n)) continue;
    names.add(n);
    out.push(m);
  }
  const name = out.length === 0 ? 'bcvk defaults' : out.map(mitigationName).join(' ');
  const notes = notesFor(out);
  return notes.length > 0 ? { name, mitigations: out, notes } : { name, mitigations: out };
}

/**
 * Expand `--compare` specs into the variant matrix (cartesian product, first spec varying slowest), each variant
 * also carrying the `base` mitigations. No specs → one variant (the base, i.e. bcvk's defaults).
 */
export function parseCompare(specs: readonly string[], base: readonly Mitigation[] = []): Variant[] {
  const dims: { key: string; values: (Mitigation | null)[]; labels: string[] }[] = [];
  for (const spec of specs) {
    const { key, values } = splitSpec(spec);
    if (dims.some((d) => d.key === key)) {
      throw new UsageError(`--compare ${key}=... given twice; list all values in one: ${key}=A,B,C`);
    }
    if (SINGLE.has(key as MitigationKey) && base.some((m) => m.kind === key)) {
      throw new UsageError(`${key} is both a fixed mitigation and a --compare dimension`);
    }
    const seen = new Set<string>();
    const parsed: (Mitigation | null)[] = [];
    for (const v of values) {
      if (seen.has(v)) throw new UsageError(`--compare ${spec}: value "${v}" listed twice`);
      seen.add(v);
      parsed.push(parseMitigationValue(key, v));
    }
    dims.push({ key, values: parsed, labels: values });
  }
  let combos: (Mitigation | null)[][] = [[]];
  for (const d of dims) {
    const next: (Mitigation | null)[][] = [];
    for (const c of combos) for (const v of d.values) next.push([...c, v]);
    combos = next;
  }
  const variants = combos.map((c) => {
    const v = makeVariant([...base, ...c.filter((m): m is Mitigation => m !== null)]);
    // a "none" value still deserves a name in its dimension (e.g. "journal=none")
    const extra = c
      .map((m, i) => (m === null ? `${dims[i].key}=none` : null))
      .filter((s): s is string => s !== null);
    if (extra.length === 0) return v;
    const name = v.mitigations.length === 0 ? extra.join(' ') : `${v.name} ${extra.join(' ')}`;
    return { ...v, name };
  });
  const names = new Set<string>();
  for (const v of variants) {
    if (names.has(v.name)) throw new UsageError(`two variants would both be "${v.name}"`);
    names.add(v.name);
  }
  return variants;
}

export interface ScheduledRun {
  /** 0-based position in the whole schedule. */
  order: number;
  /** Index into the variant list. */
  variantIndex: number;
  variant: Variant;
  /** 1-based repetition of this variant. */
  run: number;
  runs: number;
}

/** Interleaved schedule: runs rounds of A B C …, so slow host drift cannot masquerade as an effect. */
export function interleave(variants: readonly Variant[], runs: number): ScheduledRun[] {
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs ${runs}: expected a whole number ≥ 1`);
  if (variants.length === 0) throw new UsageError('no variants to run');
  const out: ScheduledRun[] = [];
  for (let r = 1; r <= runs; r++) {
    variants.forEach((variant, variantIndex) => {
      out.push({ order: out.length, variantIndex, variant, run: r, runs });
    });
  }
  return out;
}

/** What a variant asks of the virtiofsd wrapper and the bcvk command line. */
export interface VariantEffect {
  /** Cache mode to put in place of bcvk's `--cache=never`; undefined leaves bcvk's. */
  cache?: CacheMode;
  threads?: number;
  kargs: string[];
  bcvkArgs: string[];
}

export function variantEffect(v: Variant): VariantEffect {
  const eff: VariantEffect = { kargs: [], bcvkArgs: [] };
  for (const m of v.mitigations) {
    switch (m.kind) {
      case 'cache':
        eff.cache = m.mode;
        break;
      case 'threads':
        eff.threads = m.n;
        break;
      case 'karg':
        eff.kargs.push(m.arg);
        break;
      case 'journal':
        if (!eff.kargs.includes(JOURNAL_VOLATILE_KARG)) eff.kargs.push(JOURNAL_VOLATILE_KARG);
        break;
      case 'bcvk':
        eff.bcvkArgs.push(m.arg);
        break;
    }
  }
  return eff;
}
