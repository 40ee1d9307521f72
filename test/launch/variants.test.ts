import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  interleave,
  JOURNAL_VOLATILE_KARG,
  makeVariant,
  parseCompare,
  parseMitigation,
  splitSpec,
  variantEffect,
} from '../../src/launch/variants.js';

describe('parseCompare', () => {
  it('one dimension: cache=never,metadata', () => {
    const vs = parseCompare(['cache=never,metadata']);
    expect(vs.map((v) => v.name)).toEqual(['cache=never', 'cache=metadata']);
    expect(vs[1].mitigations).toEqual([{ kind: 'cache', mode: 'metadata' }]);
  });
  it('matrix, first dimension varying slowest (hyperfine -L style)', () => {
    const vs = parseCompare(['cache=never,metadata', 'threads=0,4']);
    expect(vs.map((v) => v.name)).toEqual([
      'cache=never threads=0',
      'cache=never threads=4',
      'cache=metadata threads=0',
      'cache=metadata threads=4',
    ]);
  });
  it('no specs: one variant with the base mitigations (or bcvk defaults)', () => {
    expect(parseCompare([])).toEqual([{ name: 'bcvk defaults', mitigations: [] }]);
    const base = [parseMitigation('threads=2')!];
    expect(parseCompare([], base)[0].name).toBe('threads=2');
  });
  it('"none" values keep a name; journal=volatile maps to the PR #317 karg with a note', () => {
    const vs = parseCompare(['journal=none,volatile']);
    expect(vs.map((v) => v.name)).toEqual(['journal=none', 'journal=volatile']);
    expect(variantEffect(vs[1]).kargs).toEqual([JOURNAL_VOLATILE_KARG]);
    expect(vs[1].notes?.[0]).toMatch(/systemd\.journald\.storage=volatile.*ignored by systemd/);
    expect(variantEffect(vs[0]).kargs).toEqual([]);
  });
  it('warns about the ignored journald karg', () => {
    const [v] = parseCompare(['karg=systemd.journald.storage=volatile']);
    expect(v.notes?.join(' ')).toMatch(/ignored by systemd.*#316/);
  });
  it('karg and bcvk pass-through; escaped commas; base kargs are additive', () => {
    const vs = parseCompare(['karg=none,quiet,foo="a\\,b c"'], [parseMitigation('karg=console=ttyS0')!]);
    expect(vs.map((v) => variantEffect(v).kargs)).toEqual([
      ['console=ttyS0'],
      ['console=ttyS0', 'quiet'],
      ['console=ttyS0', 'foo="a,b c"'],
    ]);
    const [b] = parseCompare(['bcvk=--memory=2G']);
    expect(variantEffect(b).bcvkArgs).toEqual(['--memory=2G']);
  });
  it('threads and cache reach the wrapper effect', () => {
    const [v] = parseCompare(['cache=always'], [parseMitigation('threads=8')!]);
    expect(variantEffect(v)).toEqual({ cache: 'always', threads: 8, kargs: [], bcvkArgs: [] });
  });
  it.each([
    [
      'cache=sometimes',
      /cache=sometimes: not a virtiofsd cache mode; expected one of never, metadata, auto, always/,
    ],
    ['threads=-1', /threads=-1: expected a whole number/],
    ['threads=2000', /threads=2000/],
    ['threads=1.5', /threads=1.5/],
    ['journal=persistent', /journal=persistent: expected volatile or none/],
    ['karg=a b', /one kernel argument expected/],
    ['karg=', /empty kernel argument/],
    ['bcvk=--name=x', /--name cannot be passed through/],
    ['bcvk=--log-dir=journal=/x', /--log-dir cannot be passed through/],
    ['bcvk=--virtiofsd', /--virtiofsd cannot be passed through/],
    ['bcvk=-d', /-d cannot be passed through/],
    ['bcvk=memory', /pass-through bcvk option expected/],
    ['speed=fast', /unknown mitigation "speed"/],
    ['cache', /expected KEY=VALUE/],
    ['cache=never,never', /listed twice/],
  ])('rejects %s with a clear UsageError', (spec, msg) => {
    expect(() => parseCompare([spec])).toThrow(UsageError);
    expect(() => parseCompare([spec])).toThrow(msg);
  });
  it('rejects a dimension given twice and a fixed single-valued mitigation also compared', () => {
    expect(() => parseCompare(['cache=never', 'cache=metadata'])).toThrow(/given twice/);
    expect(() => parseCompare(['cache=never,metadata'], [parseMitigation('cache=auto')!])).toThrow(
      /both a fixed mitigation and a --compare dimension/,
    );
    expect(() =>
      makeVariant([
        { kind: 'cache', mode: 'never' },
        { kind: 'cache', mode: 'auto' },
      ]),
    ).toThrow(/conflicting mitigations cache=never and cache=auto/);
  });
  it('rejects control characters', () => {
    expect(() => parseCompare(['karg=a\nb'])).toThrow(/control characters/);
  });
  it('splitSpec keeps = inside values', () => {
    expect(splitSpec('karg=a=b,c=d')).toEqual({ key: 'karg', values: ['a=b', 'c=d'] });
  });
  it('parseMitigation takes one value', () => {
    expect(parseMitigation('journal=volatile')).toEqual({ kind: 'journal', mode: 'volatile' });
    expect(parseMitigation('karg=none')).toBeNull();
    expect(() => parseMitigation('cache=never,metadata')).toThrow(/one value expected/);
  });
});

describe('interleave', () => {
  it('A B A B … with run numbers', () => {
    const vs = parseCompare(['cache=never,metadata']);
    const s = interleave(vs, 3);
    expect(s.map((r) => `${r.variant.name}#${r.run}`)).toEqual([
      'cache=never#1',
      'cache=metadata#1',
      'cache=never#2',
      'cache=metadata#2',
      'cache=never#3',
      'cache=metadata#3',
    ]);
    expect(s.map((r) => r.order)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.every((r) => r.runs === 3)).toBe(true);
  });
  it('rejects bad run counts', () => {
    expect(() => interleave(parseCompare([]), 0)).toThrow(UsageError);
    expect(() => interleave(parseCompare([]), 1.5)).toThrow(UsageError);
    expect(() => interleave([], 1)).toThrow(UsageError);
  });
});
