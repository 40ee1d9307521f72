/** Reading one line-aligned byte range of a plain file into an analysis: shared by the range workers and the main
 * thread, which parses the first range itself. */
import { open } from 'node:fs/promises';

const CHUNK = 1 << 20;

/**
 * Push bytes [start, end) of `path` into `sink`, 1 MiB at a time through one reused buffer (the line scanner
 * copies what it keeps of a chunk). `onChunk` gets the bytes read so far after each chunk.
 */
export async function readRange(
  path: string,
  start: number,
  end: number,
  sink: { push(chunk: Buffer): void },
  onChunk?: (done: number) => void | Promise<void>,
): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = start;
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (bytesRead === 0) break;
      sink.push(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      pos += bytesRead;
      await onChunk?.(pos - start);
    }
  } finally {
    await fh.close();
  }
}
