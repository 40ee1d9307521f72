import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeOptions, plainAnalyzeArgs } from '../../src/cli/analyze.js';
import { BIN, ROOT, runCli } from '../support/cli.js';

const LOOP = 'fixtures/lab/rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz';
const CWALK = 'fixtures/lab/c-7.2-walk-cache-none/virtiofsd.log.gz';
const RUST = 'fixtures/harness/rust-1.13.2-debug.log';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-cli-'));
});

function oneLineError(stderr: string) {
  const lines = stderr.trim().split('\n');
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0];
}

describe('vfs-analyze LOG', () => {
  it('the executable itself (sh first line) runs node with its V8 flags and gives what `node BIN` gives', () => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const direct = spawnSync(BIN, ['--json', LOOP], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(direct.stderr).toBe('');
    expect(direct.status).toBe(0);
    expect(direct.stdout).toBe(runCli(['--json', LOOP]).stdout);
    // the flags reach node: a script that prints its execArgv, run through the same first line
    const probe = join(dir, 'probe.js');
    const first = readFileSync(BIN, 'utf8').split('\n').slice(0, 2).join('\n');
    writeFileSync(probe, `${first}\nconsole.log(JSON.stringify(process.execArgv));\n`, { mode: 0o755 });
    const argv = spawnSync(probe, [], { encoding: 'utf8' });
    expect(JSON.parse(argv.stdout)).toEqual(['--max-semi-space-size=1']);
  });

  it('prints the incident tables for a real capture', () => {
    const r = runCli([LOOP]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('83,602 requests');
    expect(r.stdout).toContain('Requests by opcode');
    expect(r.stdout).toContain('Getattr (3)');
    expect(r.stdout).toContain('Top inodes (22,802 distinct; root 36.4%)');
    expect(r.stdout).not.toMatch(/\x1b\[/); // NO_COLOR
    const width = Math.max(...r.stdout.split('\n').map((l) => [...l].length));
    expect(width).toBeLessThanOrEqual(100);
  });

  it('--json prints one versioned document', () => {
    const r = runCli(['--json', LOOP, CWALK]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('vfs-analyze.analysis');
    expect(doc.schemaVersion).toBe(1);
    expect(doc.inputs).toHaveLength(2);
    expect(doc.inputs[0].totals.requests).toBe(83602);
    expect(doc.inputs[1].format.detected).toBe('c');
    expect(doc.inputs[1].byInode.top[0].paths.length).toBeGreaterThan(0);
    expect(doc.errors).toEqual([]);
  });

  it('reads stdin with "-" and colours only when asked', () => {
    const r = runCli(['-', '--color'], { input: readFileSync(RUST) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stdin');
    expect(r.stdout).toMatch(/\x1b\[/);
  });

  it('shows paths from a C log beside inode numbers', () => {
    const r = runCli([CWALK]);
    expect(r.stdout).toContain('path(s) at the time');
  });
});

describe('bad input: one clear line, documented exit code, other inputs still analysed', () => {
  it('missing file → 2', () => {
    const r = runCli(['nope.log']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toBe('vfs-analyze: nope.log: no such file');
  });

  it('a directory → 2', () => {
    const r = runCli(['fixtures']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toContain('fixtures: is a directory');
  });

  it('unreadable file → 2 (skipped when running as root)', () => {
    if (process.getuid?.() === 0) return;
    const f = join(dir, 'noperm.log');
    writeFileSync(f, 'x\n', { mode: 0o000 });
    const r = runCli([f]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toContain('permission denied');
  });

  it('empty file → 3', () => {
    const f = join(dir, 'empty.log');
    writeFileSync(f, '');
    const r = runCli([f]);
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toContain('empty file');
  });

  it('binary garbage → 3', () => {
    const f = join(dir, 'bin.log');
    writeFileSync(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3, 0, 0]));
    const r = runCli([f]);
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toContain('binary data');
  });

  it('not a virtiofsd log → 3; an info-level virtiofsd log says how to enable debug', () => {
    const f = join(dir, 'other.log');
    writeFileSync(f, 'hello\nworld\n');
    const r = runCli([f]);
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toContain('not a virtiofsd debug log');
    const g = join(dir, 'info.log');
    writeFileSync(
      g,
      '[2026-11-27T02:44:22Z INFO  virtiofsd] Waiting for vhost-user socket connection...\n[2026-11-27T02:44:23Z INFO  virtiofsd] Client connected, servicing requests\n',
    );
    const r2 = runCli([g]);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain('--log-level debug');
  });

  it('truncated gzip → 2, with the readable part still analysed', () => {
    const whole = gzipSync(readFileSync(RUST));
    const f = join(dir, 'trunc.log.gz');
    writeFileSync(f, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = runCli(['--json', f]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.stderr)).toMatch(/trunc\.log\.gz: (truncated gzip|corrupt gzip)/);
    const doc = JSON.parse(r.stdout);
    expect(doc.errors[0].exitCode).toBe(2);
  });

  it('a 50 MB line is counted as overlong and skipped, the rest analysed', () => {
    const f = join(dir, 'long.log');
    const text = readFileSync(RUST, 'utf8');
    writeFileSync(f, `${text}${'x'.repeat(50 * 1024 * 1024)}\n${text}`);
    const r = runCli(['--json', f]);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout).inputs[0];
    expect(a.lines.overlong).toBe(1);
    expect(a.totals.requests).toBe(62);
    expect(r.stderr).toBe('');
  });

  it('mixed formats in one file → analysed with a warning', () => {
    const f = join(dir, 'mixed.log');
    writeFileSync(f, readFileSync(RUST, 'utf8') + readFileSync('fixtures/harness/c-7.2-debug.log', 'utf8'));
    const r = runCli(['--json', f]);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout).inputs[0];
    expect(a.totals.requests).toBe(61);
    expect(a.warnings.join(' ')).toContain('mixed formats');
  });

  it('several inputs: good ones are printed, the exit code is the worst', () => {
    const r = runCli(['--json', RUST, 'missing.log', join(dir, 'empty.log')]);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.inputs).toHaveLength(1);
    expect(doc.errors.map((e: { exitCode: number }) => e.exitCode)).toEqual([2, 3]);
  });

  it('usage errors → 2 with a hint', () => {
    const r = runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no input');
    const r2 = runCli(['--bogus', RUST]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('Unknown argument');
    const r3 = runCli(['--format', 'xml', RUST]);
    expect(r3.code).toBe(2);
  });

  it('an error found after the worker started early on a large log → its exit code, and the process ends', () => {
    // 64 MiB of request and reply lines: large enough for the worker to start on the log before the rest of the
    // command is checked, with more events than it sends before the reader's first credit (it then waits for one)
    const events = readFileSync(join(ROOT, RUST), 'utf8')
      .split('\n')
      .filter((l) => /Received request|Replying/.test(l));
    const block = Buffer.from(`${events.join('\n')}\n`);
    const big = join(dir, 'big.log');
    writeFileSync(
      big,
      Buffer.concat(Array.from({ length: Math.ceil((64 << 20) / block.length) }, () => block)),
    );
    for (const extra of [
      ['--report', 'bogus'],
      ['--console', join(dir, 'no-such-console.txt')],
    ]) {
      const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
      delete env.FORCE_COLOR;
      const r = spawnSync(process.execPath, [BIN, big, ...extra], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.signal).toBeNull(); // not killed at the timeout: the early worker did not keep it alive
      expect(r.status).toBe(2);
      oneLineError(r.stderr);
    }
  });
});

describe('stdout closed early', () => {
  it('a reader that goes away (| head) ends the run quietly, exit 0', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" bin/vfs-analyze.js --json ${LOOP} | head -c 100 >/dev/null`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a full disk on stdout (> /dev/full) is one line naming stdout and ENOSPC, exit 6', () => {
    for (const args of [[LOOP], ['--json', LOOP]]) {
      const r = spawnSync(
        'bash',
        ['-c', `"${process.execPath}" bin/vfs-analyze.js ${args.join(' ')} > /dev/full`],
        {
          encoding: 'utf8',
        },
      );
      expect(r.stderr).toBe('vfs-analyze: stdout: cannot write: ENOSPC: no space left on device\n');
      expect(r.status).toBe(6);
    }
  });

  it('a report path that cannot be written: one line, exit 6, the other reports still written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-out-'));
    const junit = join(dir, 'r.xml');
    const r = runCli([
      LOOP,
      '--report',
      'html=/dev/full',
      '--report',
      `junit=${junit}`,
      '--report',
      `md=${dir}`,
    ]);
    expect(r.code).toBe(6);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `vfs-analyze: /dev/full: cannot write: ENOSPC: no space left on device; ${dir}: cannot write: EISDIR: is a directory (written: junit to ${junit})`,
    );
    expect(readFileSync(junit, 'utf8')).toMatch(/^<\?xml/);
    expect(lstatSync('/dev/full').isCharacterDevice()).toBe(true);
    expect(r.stdout).toMatch(/^Verdict/m);
  });
});

describe('pipes, FIFOs and process substitution', () => {
  const D = 'fixtures/lab/rust-1.13.2-systemd-k7.3-never-block';
  const summary = (stdout: string) => {
    const j = JSON.parse(stdout);
    const a = j.inputs[0];
    return {
      requests: a.totals.requests,
      lines: a.lines.total,
      verdict: a.verdict.title,
      guest: (j.guest?.inputs ?? []).map((i: { events: number }) => i.events),
    };
  };
  const bash = (cmd: string) => spawnSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const node = `"${process.execPath}" bin/vfs-analyze.js --json`;

  it('<(zcat …) for the log, the console and the journal give what the files give', () => {
    const files = bash(
      `${node} ${D}/virtiofsd.log.gz --console ${D}/console.host-stamped.log --journal ${D}/journal.json`,
    );
    expect(files.status).toBe(0);
    const piped = bash(
      `${node} <(zcat ${D}/virtiofsd.log.gz) --console <(cat ${D}/console.host-stamped.log) --journal <(gzip -c ${D}/journal.json)`,
    );
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
    expect(summary(piped.stdout)).toEqual(summary(files.stdout));
  });

  it('a gzip stream on stdin (- and /dev/stdin), and a named FIFO', () => {
    const want = summary(bash(`${node} ${D}/virtiofsd.log.gz`).stdout);
    for (const cmd of [
      `cat ${D}/virtiofsd.log.gz | ${node} -`,
      `zcat ${D}/virtiofsd.log.gz | ${node} /dev/stdin`,
      `f=$(mktemp -u); mkfifo "$f"; (cat ${D}/virtiofsd.log.gz > "$f" &); ${node} "$f"; rc=$?; rm -f "$f"; exit $rc`,
    ]) {
      const r = bash(cmd);
      expect(r.stderr, cmd).toBe('');
      const got = summary(r.stdout);
      expect({ ...got, guest: [] }).toEqual({ ...want, guest: [] });
    }
  });
});

describe('the plain command line (cli/main.ts runs `LOG [--json]` without loading yargs)', () => {
  /** What yargs gives for `argv` under the command's options: the camelCase arguments only. */
  async function yargsArgs(argv: string[]): Promise<Record<string, unknown>> {
    const { default: yargs } = await import('yargs');
    let args: Record<string, unknown> | undefined;
    await yargs(argv)
      .command(
        '$0 [logs..]',
        '',
        (y) => analyzeOptions(y),
        (a) => {
          args = a;
        },
      )
      .strict()
      .exitProcess(false)
      .parseAsync();
    if (args === undefined) throw new Error('not parsed');
    return Object.fromEntries(
      Object.entries(args).filter(([k, v]) => k !== '_' && k !== '$0' && !k.includes('-') && v !== undefined),
    );
  }

  it('gives the arguments yargs gives, defaults and all, for one log with flags that take no value', async () => {
    for (const argv of [
      ['big.log'],
      ['--json', 'big.log'],
      ['big.log', '--json'],
      ['--no-color', 'big.log', '--stopped-at-end'],
      ['--color', '--still-running', 'big.log', '--json'],
      ['123'],
    ]) {
      const plain = plainAnalyzeArgs(argv);
      expect(plain, argv.join(' ')).not.toBeNull();
      expect(plain, argv.join(' ')).toEqual(await yargsArgs(argv));
    }
  });

  it('is none for anything else: options with values, --no-verdict, help, two logs, stdin, no log, a flag twice', () => {
    for (const argv of [
      [],
      ['--json'],
      ['a.log', 'b.log'],
      ['-'],
      ['--help'],
      ['big.log', '-h'],
      ['--version'],
      ['big.log', '--top', '30'],
      ['big.log', '--top=30'],
      ['big.log', '--no-verdict'],
      ['big.log', '--threads', '2'],
      ['big.log', '--format', 'rust'],
      ['big.log', '--console', 'console.txt'],
      ['--run-dir', 'run1'],
      ['big.log', '--follow', 'x.log'],
      ['big.log', '--json', '--json'],
      ['big.log', '--color', '--no-color'],
      ['big.log', '--json=true'],
      ['big.log', '--'],
    ])
      expect(plainAnalyzeArgs(argv), argv.join(' ')).toBeNull();
  });

  it('a sub-command word is the sub-command, not a log', () => {
    const r = runCli(['report']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vfs-analyze: no input: give an analysis JSON/); // report's own usage error
  });
});
