/**
 * Byte sources: a file (plain or gzip, detected by magic bytes), or stdin for `-`. Yields Buffers of up to
 * 1 MiB, each valid only until the next is requested; nothing else is held. File-system failures become InputErrors naming the file.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
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

async function sniff(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function openByteSource(path: string): Promise<ByteSource> {
  if (isStdin(path)) {
    return fromStream('stdin', process.stdin, null, false);
  }
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new InputError(path, 'is a directory, not a log file');
    size = st.size;
    const magic = await sniff(path);
    const gzip = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    if (!gzip) return plainFile(path, size);
    const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    return fromStream(path, gunzip, size, true, () => raw.bytesRead);
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
