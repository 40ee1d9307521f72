/**
 * Byte sources: a file (plain or gzip, detected by magic bytes), or stdin for `-`. Yields Buffers of up to
 * 1 MiB, each valid only until the next is requested; nothing else is held. File-system failures become InputErrors naming the file.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { fsError, InputError } from '../errors.js';

export const CHUNK_BYTES = 1024 * 1024;

/** How `-` (stdin) travels through yargs, which drops a bare `-` positional. */
export const STDIN_ARG = '\u0000stdin';

export function isStdin(path: string): boolean {
  return path === '-' || path === STDIN_ARG;
}

export interface ByteSource {
  /** Name shown in messages and output ('-' is shown as 'stdin'). */
  name: string;
  /** Size on disk when known (for progress), else null. */
  size: number | null;
  gzip: boolean;
  chunks: AsyncIterable<Buffer>;
  /** Compressed bytes read so far (for progress on gzip files). */
  bytesRead(): number;
}

/**
 * The first bytes of a stream without consuming them (they are pushed back): works for pipes, FIFOs and
 * `<(…)` process substitutions, which cannot be read at a position. Null when the stream is empty.
 */
export function peekStream(stream: Readable, bytes = 2): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (v: Buffer | null) => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', reject);
      if (got.length > 0) stream.unshift(got);
      resolve(v);
    };
    const onReadable = () => {
      for (;;) {
        const c = stream.read() as Buffer | string | null;
        if (c === null) return;
        got = Buffer.concat([got, typeof c === 'string' ? Buffer.from(c) : c]);
        if (got.length >= bytes) return done(got.subarray(0, bytes));
      }
    };
    const onEnd = () => done(got.length > 0 ? got : null);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', reject);
  });
}

/**
 * Inflate ahead of the reader: zlib runs on the thread pool, and with the stream's default 16 KiB buffer it would
 * stop after each 256 KiB output chunk until this thread, busy replaying events, comes to take it. One chunk
 * queued lets it go on meanwhile. 1 MiB queued took the same time and ~10 MB more peak memory (on a 1 GB log:
 * the chunks waited long enough to outlive the young generation, and dead ones then piled up to V8's 64 MB of
 * external memory before a full collection freed them); 4 MiB, up to 15 MB more.
 */
const GUNZIP_OPTIONS = { chunkSize: 256 * 1024, readableHighWaterMark: 1 << 18 };

/** The gzip magic bytes at the start of `b`. */
export const isGzipMagic = (b: Buffer | null) =>
  b !== null && b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** A stream source (stdin, a pipe, a FIFO): gzip detected from its first bytes, then inflated on the fly. */
async function streamSource(name: string, raw: Readable, size: number | null): Promise<ByteSource> {
  const gzip = isGzipMagic(await peekStream(raw));
  if (!gzip) return fromStream(name, raw, size, false);
  let compressed = 0;
  raw.on('data', (c: Buffer) => {
    compressed += c.length;
  });
  const gunzip = createGunzip(GUNZIP_OPTIONS);
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  return fromStream(name, gunzip, size, true, () => compressed);
}

export async function openByteSource(path: string): Promise<ByteSource> {
  if (isStdin(path)) {
    try {
      return await streamSource('stdin', process.stdin, null);
    } catch (err) {
      throw fsError('stdin', err);
    }
  }
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new InputError(path, 'is a directory, not a log file');
    // Pipes, FIFOs, /dev/stdin, `<(zcat …)`: read as a stream, sniffed from the first chunk.
    if (!st.isFile()) {
      return await streamSource(path, createReadStream(path, { highWaterMark: CHUNK_BYTES }), null);
    }
    const fh = await open(path, 'r');
    let magic: Buffer;
    try {
      const buf = Buffer.alloc(2);
      const { bytesRead } = await fh.read(buf, 0, 2, 0);
      magic = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    if (!isGzipMagic(magic)) return plainFile(path, st.size);
    const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
    const gunzip = createGunzip(GUNZIP_OPTIONS);
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    return fromStream(path, gunzip, st.size, true, () => raw.bytesRead);
  } catch (err) {
    throw fsError(path, err);
  }
}

/**
 * A plain file read with positional reads into ONE reused buffer: no allocation and no fresh pages per chunk.
 * Each chunk is valid only until the next one is requested (the line scanner copies what it keeps).
 */
function plainFile(path: string, size: number): ByteSource {
  let read = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, null);
        if (bytesRead === 0) break;
        read += bytesRead;
        yield bytesRead === CHUNK_BYTES ? buf : buf.subarray(0, bytesRead);
      }
    } catch (err) {
      throw fsError(path, err);
    } finally {
      await fh.close();
    }
  }
  return { name: path, size, gzip: false, chunks: chunks(), bytesRead: () => read };
}

function fromStream(
  name: string,
  stream: NodeJS.ReadableStream,
  size: number | null,
  gzip: boolean,
  bytesRead?: () => number,
): ByteSource {
  let seen = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        seen += b.length;
        yield b;
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) {
        throw new InputError(name, `truncated gzip stream (ends after ${seen} decompressed bytes)`);
      }
      throw fsError(name, err);
    }
  }
  return {
    name: name === 'stdin' ? 'stdin' : name,
    size,
    gzip,
    chunks: chunks(),
    bytesRead: bytesRead ?? (() => seen),
  };
}
