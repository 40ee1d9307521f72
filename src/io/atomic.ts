/**
 * Atomic writes: readers see the old file or the complete new one, never a partial file, and a failed write leaves
 * no temporary file behind. A file is written to a temporary name in the same directory (same file system, so the
 * rename is atomic), fsynced, renamed over the target, and the directory is fsynced (best effort) so the rename
 * survives a crash.
 *
 * Only regular files and new paths are replaced. A character device or FIFO at the path (`/dev/stdout`,
 * `/dev/null`, a named pipe), directly or through a symbolic link, is written through instead; anything else in the
 * way (a directory, a link to a regular file, a socket, a block device) is refused — a rename over it would replace
 * it with a regular file. Failures are {@link OutputError}s naming the path and the errno.
 */

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputError, outputError } from '../errors.js';

export type AtomicData =
  | string
  | Uint8Array
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>;

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644, before the umask). */
  mode?: number;
  /** Create the parent directory (recursively) when it is missing. Default false. */
  mkdirs?: boolean;
}

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some file systems (and Windows) refuse to fsync a directory: the rename is still atomic.
  }
}

function isChunked(
  data: AtomicData,
): data is AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> {
  return typeof data !== 'string' && !(data instanceof Uint8Array);
}

async function writeAll(h: import('node:fs/promises').FileHandle, data: AtomicData): Promise<void> {
  if (isChunked(data)) {
    for await (const chunk of data) await h.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  } else {
    await h.writeFile(data);
  }
}

/** What is at `path` now: nothing or a regular file (replace atomically), a stream to write through, or in the way. */
async function targetKind(path: string): Promise<'replace' | 'through'> {
  const l = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (l === null || l.isFile()) return 'replace';
  const st = l.isSymbolicLink() ? await stat(path).catch(() => null) : l;
  if (st && (st.isCharacterDevice() || st.isFIFO())) return 'through';
  if (st?.isDirectory()) throw new OutputError(path, 'cannot write: EISDIR: is a directory');
  throw new OutputError(
    path,
    l.isSymbolicLink()
      ? 'cannot write: a symbolic link (a file replace would not follow it): give the real path'
      : 'cannot write: not a regular file (a file replace would destroy it)',
  );
}

/** Write `data` to `path` atomically (temp file in the same directory + fsync + rename); see the module comment. */
export async function writeFileAtomic(
  path: string,
  data: AtomicData,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = tempName(path);
  let created = false;
  try {
    if (opts.mkdirs) await mkdir(dir, { recursive: true });
    if ((await targetKind(path)) === 'through') {
      const h = await open(path, 'w');
      try {
        await writeAll(h, data);
      } finally {
        await h.close();
      }
      return;
    }
    const h = await open(tmp, 'wx', opts.mode ?? 0o644);
    created = true;
    try {
      await writeAll(h, data);
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (err) {
    throw outputError(path, err);
  } finally {
    if (created) await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dir);
}

/**
 * Write a directory of files atomically: the files go to a temporary sibling directory, each fsynced, which is
 * then renamed to `path`. An existing directory at `path` is replaced only once the new one is complete (moved
 * aside, the new one renamed in, the old one removed). `files` maps relative names (no `..`) to contents.
 */
export async function writeDirAtomic(
  path: string,
  files: Record<string, AtomicData>,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const parent = dirname(path);
  const tmp = tempName(path);
  const old = `${tmp}.old`;
  let cleanup: string | null = tmp;
  try {
    if (opts.mkdirs) await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) {
      if (name.split(/[\\/]/).some((p) => p === '..' || p === '') || name.startsWith('/'))
        throw new Error(`writeDirAtomic: bad file name ${JSON.stringify(name)}`);
      const file = join(tmp, name);
      if (dirname(file) !== tmp) await mkdir(dirname(file), { recursive: true });
      const h = await open(file, 'wx', opts.mode ?? 0o644);
      try {
        await writeAll(h, data);
        await h.sync();
      } finally {
        await h.close();
      }
    }
    await fsyncDir(tmp);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) {
      await rename(path, old);
      try {
        await rename(tmp, path);
      } catch (err) {
        await rename(old, path).catch(() => undefined);
        throw err;
      }
      cleanup = old;
    } else {
      await rename(tmp, path);
      cleanup = null;
    }
  } catch (err) {
    throw outputError(path, err);
  } finally {
    if (cleanup !== null) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
  }
  await fsyncDir(parent);
}
