import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCompare } from '../../src/launch/variants.js';
import {
  generateWrapper,
  shQuote,
  type WrapperOptions,
  wrapperOptionsFor,
  writeWrapper,
} from '../../src/launch/wrapper.js';

const dir = mkdtempSync(join(tmpdir(), "vfs-wrapper-it's "));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// fake "real virtiofsd": argv on stdout (one per line), a debug line on stderr; --help mimics virtiofsd's usage
const fake = join(dir, 'fake virtiofsd');
writeFileSync(
  fake,
  [
    '#!/bin/sh',
    'for a in "$@"; do if [ "$a" = --help ]; then echo "Usage: virtiofsd"; echo "      --readonly" >&2; exit 0; fi; done',
    'printf "ARG:%s\\n" "$@"',
    'echo "[2026-11-27T02:44:23Z DEBUG virtiofsd::server] Received request: opcode=Init (26), inode=0, unique=2, pid=0" >&2',
  ].join('\n'),
  { mode: 0o755 },
);

const bcvkArgs = [
  '--socket-path',
  '/run/inner-shared/virtiofs.sock',
  '--shared-dir',
  '/run/source-image',
  '--cache=never',
  '--allow-mmap',
  '--sandbox=none',
  '--readonly',
  '--inode-file-handles=fallback',
];

let n = 0;
async function run(opts: Partial<WrapperOptions>, args: string[]) {
  n++;
  const path = join(dir, `wrapper-${n}`);
  const log = join(dir, `debug log ${n}.txt`);
  await writeWrapper(path, generateWrapper({ realVirtiofsd: [fake], logPath: log, ...opts }));
  const r = spawnSync(path, args, { encoding: 'utf8' });
  const argv = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('ARG:'))
    .map((l) => l.slice(4));
  let logText = '';
  try {
    logText = readFileSync(log, 'utf8');
  } catch {}
  return { ...r, argv, log, logText, path };
}

describe('generated virtiofsd wrapper (executed with /bin/sh against a fake virtiofsd)', () => {
  it('rewrites bcvk --cache=never in place, adds --log-level=debug, logs stderr to the file', async () => {
    const r = await run({ cache: 'metadata' }, bcvkArgs);
    expect(r.status).toBe(0);
    expect(r.argv).toEqual([
      ...bcvkArgs.map((a) => (a === '--cache=never' ? '--cache=metadata' : a)),
      '--log-level=debug',
    ]);
    expect(r.argv.filter((a) => a.startsWith('--cache'))).toHaveLength(1);
    expect(r.logText).toMatch(/Received request: opcode=Init/);
    expect(r.stderr).toBe('');
    expect(statSync(r.path).mode & 0o777).toBe(0o755);
  });
  it('rewrites the two-token form --cache never', async () => {
    const r = await run({ cache: 'always' }, ['--cache', 'never', '--shared-dir', '/x']);
    expect(r.argv).toEqual(['--cache', 'always', '--shared-dir', '/x', '--log-level=debug']);
  });
  it('keeps bcvk cache when the variant has none; appends --cache only when absent', async () => {
    expect((await run({}, bcvkArgs)).argv).toContain('--cache=never');
    expect((await run({ cache: 'auto' }, ['--shared-dir', '/x'])).argv).toEqual([
      '--shared-dir',
      '/x',
      '--cache=auto',
      '--log-level=debug',
    ]);
  });
  it('rewrites an existing --log-level and --thread-pool-size; adds threads', async () => {
    const r = await run({ threads: 4, logLevel: 'trace' }, ['--log-level', 'info', '--thread-pool-size=0']);
    expect(r.argv).toEqual(['--log-level', 'trace', '--thread-pool-size=4']);
    const o = wrapperOptionsFor(parseCompare(['cache=metadata'], [{ kind: 'threads', n: 8 }])[0], {
      realVirtiofsd: [fake],
      logPath: '',
    });
    expect(o).toMatchObject({ cache: 'metadata', threads: 8 });
    const r2 = await run(o, []);
    // wrapperOptionsFor passes threads through; logPath '' cannot be written → clear error, exit 1
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/cannot write the debug log/);
  });
  it('passes --help through untouched with stderr not redirected (bcvk greps it for --readonly)', async () => {
    const r = await run({ cache: 'metadata' }, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Usage: virtiofsd\n');
    expect(r.stderr).toContain('--readonly');
    expect(r.logText).toBe('');
  });
  it('keeps arguments with spaces, quotes and globs intact, and writes the final argv file', async () => {
    const weird = ["it's a dir", '*', '$HOME', '"q"', ''];
    const argvPath = join(dir, 'argv.txt');
    const r = await run({ cache: 'never', argvPath }, ['--shared-dir', ...weird]);
    expect(r.argv).toEqual(['--shared-dir', ...weird, '--cache=never', '--log-level=debug']);
    expect(readFileSync(argvPath, 'utf8')).toBe(
      `${['--shared-dir', ...weird, '--cache=never', '--log-level=debug'].join('\n')}\n`,
    );
  });
  it('embeds a real virtiofsd given as an argv prefix (loader + binary)', async () => {
    const r = await run({ realVirtiofsd: ['/bin/sh', fake] }, ['--cache=never']);
    expect(r.argv).toEqual(['--cache=never', '--log-level=debug']);
  });
  it('tee mode writes the debug log to the file and to stderr', async () => {
    const r = await run({ stderr: 'tee' }, ['--cache=never']);
    expect(r.status).toBe(0);
    expect(r.logText).toMatch(/opcode=Init/);
    expect(r.stderr).toMatch(/opcode=Init/);
  });
  it('appends to an existing log', async () => {
    const r1 = await run({}, []);
    execFileSync(r1.path, []);
    expect(readFileSync(r1.log, 'utf8').match(/opcode=Init/g)).toHaveLength(2);
  });
  it('shQuote and value checks', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(() => shQuote('a\0b')).toThrow(RangeError);
    expect(() => generateWrapper({ realVirtiofsd: [], logPath: '/x' })).toThrow(RangeError);
    expect(() => generateWrapper({ realVirtiofsd: ['/v'], logPath: '/x', threads: -1 })).toThrow(RangeError);
    expect(generateWrapper({ realVirtiofsd: ['/v'], logPath: '/x', label: 'a\nb' })).toContain('# a b\n');
  });
});
