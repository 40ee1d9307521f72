/**
 * Tail-follow of a file someone else is writing: byte offsets, `fs.watch` for prompt wake-ups and polling as the
 * fallback (watch events are lost on some file systems and never arrive for bind mounts written from another
 * mount namespace). The file may not exist yet (it is opened once it appears), may be truncated (reading restarts
 * at 0 and {@link FollowEvents.truncated} is called) or replaced (a new inode at the path is opened from 0).
 *
 * {@link LineSplitter} turns chunks into whole lines, holding a partial last line until its `\n` arrives.
 */

import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface FollowEvents {
  /** New bytes, in file order. The buffer is not reused afterwards. */
  data(chunk: Buffer): void;
  /** The file shrank (or was replaced): reading restarted at offset 0. */
  truncated?(info: { previousOffset: number; replaced: boolean }): void;
}

export interface FollowOptions {
  /** Polling interval in ms (default 200). */
  intervalMs?: number;
  /** Largest single read (default 4 MiB). */
  chunkBytes?: number;
  /** Use fs.watch for wake-ups between polls (default true). */
  watch?: boolean;
}

export class FileFollower {
  private fh: FileHandle | null = null;
  private ino = -1;
  private pos = 0;
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private running: Promise<number> | null = null;
  private again = false;
  private closed = false;
  private readonly buf: Buffer;
  private readonly intervalMs: number;
  private readonly useWatch: boolean;
  /** Bytes delivered so far (over truncations). */
  delivered = 0;
  /** Last read error (other than "not there yet"), for diagnostics. */
  lastError: Error | null = null;

  constructor(
    readonly path: string,
    private readonly events: FollowEvents,
    opts: FollowOptions = {},
  ) {
    this.buf = Buffer.allocUnsafe(opts.chunkBytes ?? 4 * 1024 * 1024);
    this.intervalMs = opts.intervalMs ?? 200;
    this.useWatch = opts.watch ?? true;
  }

  /** Current read offset in the file. */
  get offset(): number {
    return this.pos;
  }

  /** Start polling (and watching). */
  start(): this {
    if (this.timer || this.closed) return this;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref?.();
    if (this.useWatch) this.startWatch();
    return this;
  }

  private startWatch(): void {
    try {
      // Watch the directory: the file may not exist yet, and a watch on a file misses its replacement.
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_ev, f) => {
        if (f === null || f === name) void this.poll();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // polling alone
    }
  }

  /** Read everything available now. Concurrent calls are serialized; returns bytes read by this round. */
  poll(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<number> => {
      let total = 0;
      do {
        this.again = false;
        total += await this.readAvailable();
      } while (this.again && !this.closed);
      return total;
    };
    this.running = run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async ensureOpen(): Promise<boolean> {
    if (this.fh) {
      // replaced by a new file at the same path?
      const st = await stat(this.path).catch(() => null);
      if (st && st.ino !== this.ino) {
        await this.readTail(); // whatever the old file still had
        await this.fh.close().catch(() => undefined);
        this.fh = null;
        const prev = this.pos;
        this.pos = 0;
        this.events.truncated?.({ previousOffset: prev, replaced: true });
      } else {
        return true;
      }
    }
    try {
      const fh = await open(this.path, 'r');
      const st = await fh.stat();
      this.fh = fh;
      this.ino = st.ino;
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.lastError = e as Error;
      return false;
    }
  }

  private async readTail(): Promise<number> {
    const fh = this.fh;
    if (!fh) return 0;
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(this.buf, 0, this.buf.length, this.pos);
      if (bytesRead <= 0) break;
      this.pos += bytesRead;
      total += bytesRead;
      this.delivered += bytesRead;
      this.events.data(Buffer.from(this.buf.subarray(0, bytesRead)));
      if (bytesRead < this.buf.length) break;
    }
    return total;
  }

  private async readAvailable(): Promise<number> {
    if (this.closed) return 0;
    if (!(await this.ensureOpen())) return 0;
    const fh = this.fh!;
    try {
      const st = await fh.stat();
      if (st.size < this.pos) {
        const prev = this.pos;
        this.pos = 0;
        this.events.truncated?.({ previousOffset: prev, replaced: false });
      }
      return await this.readTail();
    } catch (e) {
      this.lastError = e as Error;
      return 0;
    }
  }

  /** Stop following: one last read of everything written so far, then close. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    if (this.running) await this.running.catch(() => undefined);
    if (!this.closed) await this.poll().catch(() => 0);
    this.closed = true;
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
  }
}

/**
 * Chunks → lines (split on `\n`, the `\n` removed; a CR is left for the line parsers). A partial last line is held
 * until its end arrives, or handed over by {@link end}. Lines longer than `maxLineBytes` are cut there (the rest of
 * the line is dropped and counted).
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private skipping = false;
  lines = 0;
  overlong = 0;

  constructor(
    private readonly onLine: (line: string, lineNo: number) => void,
    private readonly maxLineBytes = 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.take(chunk.subarray(start, nl));
      this.flush();
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  }

  private take(b: Buffer): void {
    if (this.skipping || b.length === 0) return;
    if (this.partBytes + b.length > this.maxLineBytes) {
      const room = this.maxLineBytes - this.partBytes;
      if (room > 0) this.parts.push(Buffer.from(b.subarray(0, room)));
      this.partBytes = this.maxLineBytes;
      this.skipping = true;
      this.overlong++;
      return;
    }
    this.parts.push(Buffer.from(b));
    this.partBytes += b.length;
  }

  private flush(): void {
    const text =
      this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    this.skipping = false;
    this.onLine(text, ++this.lines);
  }

  /** Bytes of an unterminated last line being held. */
  get pending(): number {
    return this.partBytes;
  }

  /** Hand over an unterminated last line (end of input). */
  end(): void {
    if (this.partBytes > 0 || this.skipping) this.flush();
  }

  /** Forget a held partial line and restart numbering (the file was truncated). */
  reset(): void {
    this.parts = [];
    this.partBytes = 0;
    this.skipping = false;
    this.lines = 0;
  }
}
