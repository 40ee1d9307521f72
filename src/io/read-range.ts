/** Reading one line-aligned byte range of a plain file into an analysis: shared by the range workers and the main
 * thread, which parses the first range itself (or, for the default command, reads the whole file beside a worker). */
import { open } from 'node:fs/promises';

const CHUNK = 1 << 20;

/**
 * Push bytes [start, end) of `path` into `sink`, 1 MiB at a time through two reused buffers: the next chunk is
 * read (on the thread pool) while this one is parsed. The line scanner copies what it keeps of a chunk, so a
 * buffer is free again once `push` returns. The buffers are the sink's own when it has some (the parser's fast
 * lane reads a chunk in its memory where it lies). `onChunk` gets the bytes read so far after each chunk.
 */
export async function readRange(
  path: string,
  start: number,
  end: number,
  sink: { push(chunk: Buffer): void; readBuffers?(count: number, size: number): Buffer[] | null },
  onChunk?: (done: number) => void | Promise<void>,
): Promise<void> {
  const fh = await open(path, 'r');
  const bufs = sink.readBuffers?.(2, CHUNK) ?? [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let k = 0;
  let pos = start;
  const readAt = (p: number) => fh.read(bufs[k], 0, Math.min(CHUNK, end - p), p);
  let next = pos < end ? readAt(pos) : null;
  try {
    while (next !== null) {
      const { bytesRead, buffer } = await next;
      next = null;
      if (bytesRead === 0) break;
      // Whole lines only, but for the range's last chunk: the next read starts after this chunk's last newline (its
      // partial line is read again, ~100 bytes), so no line is cut in two and carried over to the next chunk — a
      // carried line is copied twice and read by the line-by-line parser, not the fast lane. A chunk without a
      // newline (a line longer than a chunk) goes as it is.
      let take = bytesRead;
      if (pos + bytesRead < end) {
        const nl = buffer.lastIndexOf(10, bytesRead - 1);
        if (nl >= 0) take = nl + 1;
      }
      pos += take;
      k ^= 1;
      if (pos < end) next = readAt(pos);
      sink.push(take === buffer.length ? buffer : buffer.subarray(0, take));
      await onChunk?.(pos - start);
    }
  } finally {
    // a read still under way when push threw: let it finish before the file is closed
    await next?.catch(() => {});
    await fh.close();
  }
}
