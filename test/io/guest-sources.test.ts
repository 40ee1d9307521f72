import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findRunDirInputs,
  GuestInputError,
  looksBinary,
  readConsole,
  readJournal,
  readLines,
} from '../../src/io/guest-sources.js';
import type { GuestLine } from '../../src/parse/guest-events.js';

const DIR = 'fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata';
const tmp = mkdtempSync(join(tmpdir(), 'vfs-guest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect<T = GuestLine>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function errorOf(p: Promise<unknown>): Promise<GuestInputError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GuestInputError);
    return e as GuestInputError;
  }
  throw new Error('expected a GuestInputError');
}

describe('readConsole', () => {
  it('streams the real console with the same results as the pure parser', async () => {
    const r = readConsole(`${DIR}/console.txt`);
    const evs = await collect(r);
    expect(evs).toHaveLength(664);
    expect(r.stats).toMatchObject({ lines: 666, events: 664, kernelStamped: 490, crSplit: 1 });
    expect(evs[evs.length - 1]).toMatchObject({ line: 666, text: 'reboot: Power down' });
  });

  it('reads gzip by magic bytes, and tags debug-port lines', async () => {
    const gz = join(tmp, 'console.txt.gz');
    writeFileSync(gz, gzipSync(readFileSync(`${DIR}/console.txt`)));
    expect(await collect(readConsole(gz))).toHaveLength(664);
    const dp = await collect(readConsole(`${DIR}/debug-port.host-stamped.log`, { source: 'debug-port' }));
    expect(dp.map((e) => [e.source, e.uptime])).toEqual([
      ['debug-port', 2.03],
      ['debug-port', 2.08],
    ]);
  });

  it('stops cleanly on an early break', async () => {
    let n = 0;
    for await (const _ of readConsole(`${DIR}/console.txt`)) if (++n === 5) break;
    expect(n).toBe(5);
  });

  it('an empty file gives no events', async () => {
    const f = join(tmp, 'empty.txt');
    writeFileSync(f, '');
    const r = readConsole(f);
    expect(await collect(r)).toEqual([]);
    expect(r.stats.lines).toBe(0);
  });

  it('keeps the last line without a trailing newline (login prompt)', async () => {
    const f = join(tmp, 'prompt.txt');
    writeFileSync(f, 'Debian GNU/Linux 12 lab2 ttyS0\r\n\r\nlab2 login: ');
    const evs = await collect(readConsole(f));
    expect(evs.map((e) => [e.line, e.progress?.kind])).toEqual([
      [1, undefined],
      [3, 'login-prompt'],
    ]);
  });
});

describe('readJournal', () => {
  it('streams the real journal', async () => {
    const r = readJournal(`${DIR}/journal.json`);
    const evs = await collect(r);
    expect(evs).toHaveLength(640);
    expect(r.stats).toMatchObject({ records: 640, nonJson: 0, duplicates: 0 });
  });

  it('skips non-JSON lines without aborting and keeps physical line numbers', async () => {
    const lines = readFileSync(`${DIR}/journal.json`, 'utf8').split('\n');
    lines.splice(100, 0, 'Failed to read journal: Bad message', '', lines[101].slice(0, 50));
    const f = join(tmp, 'journal-bad.json');
    writeFileSync(f, lines.join('\n'));
    const r = readJournal(f);
    const evs = await collect(r);
    expect(evs).toHaveLength(640);
    expect(r.stats).toMatchObject({ nonJson: 2, blank: 1, records: 640 });
    expect(evs[100].line).toBe(104);
    expect(r.stats.nonJsonSamples[0]).toEqual({ line: 101, text: 'Failed to read journal: Bad message' });
  });
});

describe('input errors', () => {
  it('missing file, directory, binary, corrupt gzip', async () => {
    expect((await errorOf(collect(readConsole(join(tmp, 'nope.txt'))))).message).toMatch(
      /console log not found/,
    );
    const e = await errorOf(collect(readJournal(tmp)));
    expect(e.message).toMatch(/journal is a directory/);
    expect(e.file).toBe(tmp);

    const bin = join(tmp, 'bin.dat');
    const bytes = Buffer.alloc(20_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    writeFileSync(bin, bytes);
    expect((await errorOf(collect(readConsole(bin)))).message).toMatch(/binary/);
    // small binary file (below the sniff size) too: the first 300 bytes of the node executable (ELF header)
    const elf = Buffer.alloc(300);
    const fd = openSync(process.execPath, 'r');
    readSync(fd, elf, 0, 300, 0);
    closeSync(fd);
    writeFileSync(join(tmp, 'small.bin'), elf);
    expect((await errorOf(collect(readJournal(join(tmp, 'small.bin'))))).message).toMatch(/binary/);

    const gz = join(tmp, 'broken.log.gz');
    writeFileSync(gz, gzipSync(Buffer.from('a\n'.repeat(10_000))).subarray(0, 40));
    expect((await errorOf(collect(readConsole(gz)))).message).toMatch(/gzip/);
  });

  it('unreadable file', async () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const f = join(tmp, 'secret.txt');
    writeFileSync(f, 'x\n');
    chmodSync(f, 0o000);
    expect((await errorOf(collect(readLines(f)))).message).toMatch(/permission denied/);
  });

  it('binary heuristic accepts real consoles', () => {
    expect(looksBinary(readFileSync(`${DIR}/console.txt`))).toBe(false);
    expect(looksBinary(readFileSync(`${DIR}/journal.json`))).toBe(false);
    expect(looksBinary(Buffer.from([0, 65, 66, 10]))).toBe(false); // a stray NUL
    expect(looksBinary(Buffer.alloc(100))).toBe(true);
  });
});

describe('findRunDirInputs', () => {
  it('finds the inputs of the systemd run directory', async () => {
    const r = await findRunDirInputs(DIR);
    expect(r).toEqual({
      dir: DIR,
      virtiofsdLog: join(DIR, 'virtiofsd.log.gz'),
      console: join(DIR, 'console.txt'),
      journal: join(DIR, 'journal.json'),
      consoleHostStamped: join(DIR, 'console.host-stamped.log'),
      debugPortHostStamped: join(DIR, 'debug-port.host-stamped.log'),
      others: ['summary.txt'],
    });
  });

  it("finds the probe's port log (probe.txt) of a lab run", async () => {
    const d = 'fixtures/probe/rust-1.13.2-silentloop-4s-fusetrace';
    const r = await findRunDirInputs(d);
    expect(r.probeLog).toBe(join(d, 'probe.txt'));
    expect(r.virtiofsdLog).toBe(join(d, 'virtiofsd.log.gz'));
    expect(r.others).toEqual(['summary.txt', 'truth.json']);
  });

  it('prefers plain files over .gz and finds journal-initrd.json', async () => {
    const d = join(tmp, 'run');
    mkdirSync(d);
    writeFileSync(join(d, 'virtiofsd.log'), '');
    writeFileSync(join(d, 'virtiofsd.log.gz'), gzipSync(''));
    copyFileSync(`${DIR}/journal.json`, join(d, 'journal-initrd.json'));
    const r = await findRunDirInputs(d);
    expect(r.virtiofsdLog).toBe(join(d, 'virtiofsd.log'));
    expect(r.journalInitrd).toBe(join(d, 'journal-initrd.json'));
    expect(r.journal).toBeUndefined();
    expect(r.others).toEqual(['virtiofsd.log.gz']);
  });

  it('clear errors: missing, file, empty directory', async () => {
    expect((await errorOf(findRunDirInputs(join(tmp, 'missing')))).message).toMatch(
      /run directory not found/,
    );
    expect((await errorOf(findRunDirInputs(`${DIR}/summary.txt`))).message).toMatch(/expects a directory/);
    const empty = join(tmp, 'emptydir');
    mkdirSync(empty);
    expect((await errorOf(findRunDirInputs(empty))).message).toMatch(/no known inputs/);
  });
});

describe('overlong and pathological records are skipped, the rest kept', () => {
  it('a 20 MB journal record and a record nested 10,000 levels deep: counted, the records around them kept', async () => {
    const rec = (msg: unknown, pid: string) => JSON.stringify({ MESSAGE: msg, _PID: pid, _COMM: 'x' });
    const p = join(tmp, 'big-journal.json');
    writeFileSync(
      p,
      [
        rec('before', '1'),
        `{"MESSAGE":${'['.repeat(10_000)}${']'.repeat(10_000)},"_PID":"2"}`,
        rec('x'.repeat(20 << 20), '3'),
        rec('after', '4'),
        '',
      ].join('\n'),
    );
    const r = readJournal(p);
    const evs = await collect(r);
    expect(evs.map((e) => e.text)).toEqual(['before', '', 'after']);
    expect(r.stats.overlong).toBe(1);
    expect(r.stats.overlongLines).toEqual([3]);
  });

  it('an overlong console line is counted and skipped', async () => {
    const p = join(tmp, 'big-console.txt');
    writeFileSync(p, `one\r\n${'y'.repeat(3 << 20)}\r\ntwo\r\n`);
    const r = readConsole(p);
    const evs = await collect(r);
    expect(evs.map((e) => e.text)).toEqual(['one', 'two']);
    expect(r.stats.overlong).toBe(1);
  });
});
