import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/io/atomic.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfs-atomic-'));
});

const temps = (d: string) => readdirSync(d).filter((n) => n.startsWith('.') || n.endsWith('.tmp'));

async function* failing(after: string): AsyncGenerator<string> {
  yield after;
  throw new Error('disk on fire');
}

describe('writeFileAtomic', () => {
  it('writes a new file and replaces an existing one, leaving no temp file', async () => {
    const f = join(dir, 'report.html');
    await writeFileAtomic(f, 'one');
    expect(readFileSync(f, 'utf8')).toBe('one');
    await writeFileAtomic(f, Buffer.from('two'));
    expect(readFileSync(f, 'utf8')).toBe('two');
    await writeFileAtomic(f, ['th', 'ree']);
    expect(readFileSync(f, 'utf8')).toBe('three');
    expect(readdirSync(dir)).toEqual(['report.html']);
  });

  it('a write that fails midway keeps the old file intact and removes its temp file', async () => {
    const f = join(dir, 'baseline.json');
    writeFileSync(f, '{"old":true}');
    await expect(writeFileAtomic(f, failing('{"new":'))).rejects.toThrow('disk on fire');
    expect(readFileSync(f, 'utf8')).toBe('{"old":true}');
    expect(temps(dir)).toEqual([]);
  });

  it('a failed write of a new file leaves no partial file and no temp file', async () => {
    const f = join(dir, 'new.md');
    await expect(writeFileAtomic(f, failing('# partial'))).rejects.toThrow('disk on fire');
    expect(existsSync(f)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failing rename (the target is a directory) leaves the target alone and no temp file', async () => {
    const f = join(dir, 'taken');
    mkdirSync(f);
    writeFileSync(join(f, 'inside'), 'x');
    await expect(writeFileAtomic(f, 'data')).rejects.toThrow();
    expect(readdirSync(f)).toEqual(['inside']);
    expect(temps(dir)).toEqual([]);
  });

  it('never replaces what is not a regular file: devices and FIFOs are written through, the rest refused', async () => {
    // /dev/null: written through, still a character device.
    await writeFileAtomic('/dev/null', 'x');
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    // /dev/full: ENOSPC as an OutputError naming the path; the device is still there.
    await expect(writeFileAtomic('/dev/full', 'x')).rejects.toMatchObject({
      exitCode: ExitCode.output,
      message: '/dev/full: cannot write: ENOSPC: no space left on device',
    });
    expect(lstatSync('/dev/full').isCharacterDevice()).toBe(true);
    // A FIFO: written through to its reader.
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      createReadStream(fifo)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    await writeFileAtomic(fifo, 'through the pipe');
    expect(await reader).toBe('through the pipe');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // A symbolic link to a regular file: refused, link and file intact.
    const real = join(dir, 'real.xml');
    const link = join(dir, 'link.xml');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    await expect(writeFileAtomic(link, 'new')).rejects.toThrow(/a symbolic link .*give the real path/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('old');
    // A link to a device (/dev/stdout-like): written through.
    const devLink = join(dir, 'null-link');
    symlinkSync('/dev/null', devLink);
    await writeFileAtomic(devLink, 'x');
    expect(lstatSync(devLink).isSymbolicLink()).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it('a missing folder is an error unless mkdirs is set', async () => {
    const f = join(dir, 'a', 'b', 'c.json');
    await expect(writeFileAtomic(f, '{}')).rejects.toMatchObject({
      exitCode: ExitCode.output,
      message: `${f}: cannot write: ENOENT: no such directory`,
    });
    expect(existsSync(join(dir, 'a'))).toBe(false);
    await writeFileAtomic(f, '{}', { mkdirs: true });
    expect(readFileSync(f, 'utf8')).toBe('{}');
  });

  it('a folder the writer may not write to: error, old file intact, no temp file', async () => {
    const f = join(dir, 'r.json');
    writeFileSync(f, 'old');
    if (process.getuid?.() !== 0) {
      chmodSync(dir, 0o555);
      try {
        await expect(writeFileAtomic(f, 'new')).rejects.toThrow(
          `${f}: cannot write: EACCES: permission denied`,
        );
      } finally {
        chmodSync(dir, 0o755);
      }
    } else {
      // root writes anywhere: run the write as nobody (the folder is root's, mode 0755)
      chmodSync(dir, 0o755);
      // the built module and the one it imports, copied where nobody can read them (the checkout may not be)
      const lib = mkdtempSync(join(tmpdir(), 'vfs-atomic-lib-'));
      mkdirSync(join(lib, 'io'));
      copyFileSync(new URL('../../dist/io/atomic.js', import.meta.url), join(lib, 'io/atomic.js'));
      copyFileSync(new URL('../../dist/errors.js', import.meta.url), join(lib, 'errors.js'));
      writeFileSync(join(lib, 'package.json'), '{"type":"module"}');
      chmodSync(lib, 0o755);
      const mod = pathToFileURL(join(lib, 'io/atomic.js')).href;
      const script = `import('${mod}').then((m) => m.writeFileAtomic(${JSON.stringify(f)}, 'new')).then(() => process.exit(0), (e) => { console.log(e.message); process.exit(3); })`;
      let out = '';
      try {
        execFileSync(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
          {
            encoding: 'utf8',
          },
        );
      } catch (err) {
        out = String((err as { stdout?: string }).stdout ?? '');
      }
      expect(out.trim()).toBe(`${f}: cannot write: EACCES: permission denied`);
    }
    expect(readFileSync(f, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['r.json']);
  });
});

describe('writeDirAtomic', () => {
  it('creates a folder of files, then replaces it whole', async () => {
    const d = join(dir, 'run-1');
    await writeDirAtomic(d, { 'run.json': '{"a":1}', 'sub/x.txt': 'x' });
    expect(readFileSync(join(d, 'run.json'), 'utf8')).toBe('{"a":1}');
    expect(readFileSync(join(d, 'sub', 'x.txt'), 'utf8')).toBe('x');
    await writeDirAtomic(d, { 'run.json': '{"a":2}' });
    expect(readdirSync(d)).toEqual(['run.json']);
    expect(readFileSync(join(d, 'run.json'), 'utf8')).toBe('{"a":2}');
    expect(readdirSync(dir)).toEqual(['run-1']);
  });

  it('a failure while writing keeps the old folder and removes the temp folder', async () => {
    const d = join(dir, 'run-2');
    await writeDirAtomic(d, { 'run.json': 'old' });
    await expect(writeDirAtomic(d, { 'run.json': 'new', 'b.log': failing('partial') })).rejects.toThrow(
      'disk on fire',
    );
    expect(readdirSync(d)).toEqual(['run.json']);
    expect(readFileSync(join(d, 'run.json'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['run-2']);
  });

  it('refuses names that escape the folder', async () => {
    await expect(writeDirAtomic(join(dir, 'x'), { '../evil': 'x' })).rejects.toThrow('bad file name');
    expect(readdirSync(dir)).toEqual([]);
  });
});
