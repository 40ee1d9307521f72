/**
 * Atomic writes: readers see the old file or the complete new one, never a partial file, and a failed write leaves
 * no temporary file behind. A file is written to a temporary name in the same directory (same file system, so the
 * rename is atomic), fsynced, renamed over the target, and the directory is fsynced (best effort) so the rename
 * survives a crash.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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

/** Write `data` to `path` atomically (temp file in the same directory + fsync + rename). */
export async function writeFileAtomic(
  path: string,
  data: AtomicData,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  if (opts.mkdirs) await mkdir(dir, { recursive: true });
  const tmp = tempName(path);
  let created = false;
  try {
    const h = await open(tmp, 'wx', opts.mode ?? 0o644);
    created = true;
    try {
      if (isChunked(data)) {
        for await (const chunk of data) await h.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } else {
        await h.writeFile(data);
      }
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
    created = false;
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
  if (opts.mkdirs) await mkdir(parent, { recursive: true });
  const tmp = tempName(path);
  const old = `${tmp}.old`;
  let cleanup: string | null = tmp;
  try {
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) {
      if (name.split(/[\\/]/).some((p) => p === '..' || p === '') || name.startsWith('/'))
        throw new Error(`writeDirAtomic: bad file name ${JSON.stringify(name)}`);
      const file = join(tmp, name);
      if (dirname(file) !== tmp) await mkdir(dirname(file), { recursive: true });
      const h = await open(file, 'wx', opts.mode ?? 0o644);
      try {
        if (isChunked(data)) {
          for await (const chunk of data)
            await h.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        } else {
          await h.writeFile(data);
        }
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
  } finally {
    if (cleanup !== null) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
  }
  await fsyncDir(parent);
}
