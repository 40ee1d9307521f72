/**
 * Byte-level line splitter. Finds `\n` with Buffer#indexOf (memchr) and hands each line to a callback as
 * (buffer, start, end) without copying or decoding. A trailing `\r` is dropped. A line longer than
 * `maxLineBytes` is never buffered: it is counted as overlong and skipped up to its newline.
 */

export type LineHandler = (buf: Buffer, start: number, end: number, lineNo: number) => void;

export interface ScannerStats {
  lines: number;
  bytes: number;
  overlong: number;
  /** 1-based numbers of the first few overlong lines. */
  overlongLines: number[];
  /** The input did not end with a newline (the last line was still handed over). */
  unterminatedLastLine: boolean;
  /**
   * NUL bytes skipped where a line would start — the gap logrotate's `copytruncate` leaves when the writer goes on
   * at its old offset — and the first few runs as [start, end) byte offsets in the input.
   */
  nulBytes: number;
  nulRuns: [number, number][];
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/**
 * Takes runs of whole lines of a chunk itself (the parser's fast lane, fast-lane.ts): `load` before a chunk's
 * lines, then `take` at a line start returns where it stopped, and `lines` how many lines it took. Lines it does
 * not take come to the handler as usual, one by one.
 */
export interface LineLane {
  active: boolean;
  lines: number;
  load(chunk: Buffer, lineNo: number): void;
  take(pos: number, lineNo: number): number;
  /** Buffers to read the input into, so `load` need not copy it (see FastLane.readBuffers). */
  readBuffers?(count: number, size: number): Buffer[] | null;
}

export class LineScanner {
  readonly stats: ScannerStats = {
    lines: 0,
    bytes: 0,
    overlong: 0,
    overlongLines: [],
    unterminatedLastLine: false,
    nulBytes: 0,
    nulRuns: [],
  };
  private carry: Buffer | null = null;
  private skipping = false;
  private lineNo = 0;

  constructor(
    private readonly onLine: LineHandler,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    private readonly lane: LineLane | null = null,
  ) {}

  /** Buffers for the reader to read chunks into, if the lane has its own (reused: push each before reading into it
   * again); null when it has none. */
  readBuffers(count: number, size: number): Buffer[] | null {
    const lane = this.lane;
    return lane?.active && lane.readBuffers ? (lane.readBuffers(count, size) ?? null) : null;
  }

  /** Number of the last line handed over (or skipped). */
  get currentLine(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): void {
    const base = this.stats.bytes;
    this.stats.bytes += chunk.length;
    let pos = 0;
    const len = chunk.length;
    if (this.skipping || this.carry !== null) {
      const nl = chunk.indexOf(10, 0);
      if (nl < 0) {
        if (!this.skipping) {
          const carry = this.carry!;
          if (carry.length + len > this.maxLineBytes) {
            this.startSkip();
          } else {
            this.carry = Buffer.concat([carry, chunk]);
          }
        }
        return;
      }
      if (this.skipping) {
        this.skipping = false;
      } else {
        const carry = this.carry!;
        this.carry = null;
        if (carry.length + nl > this.maxLineBytes) {
          this.countOverlong();
        } else {
          const line = nl === 0 ? carry : Buffer.concat([carry, chunk.subarray(0, nl)]);
          this.emit(line, 0, line.length);
        }
      }
      pos = nl + 1;
    }
    const onLine = this.onLine;
    const max = this.maxLineBytes;
    let lane = this.lane;
    if (lane !== null) {
      lane.load(chunk, this.lineNo);
      if (!lane.active) lane = null;
    }
    while (pos < len) {
      if (lane !== null) {
        const next = lane.take(pos, this.lineNo);
        if (next !== pos) {
          this.lineNo += lane.lines;
          pos = next;
          if (pos >= len) break;
        }
      }
      if (chunk[pos] === 0) {
        pos = this.skipNuls(chunk, pos, base);
        continue;
      }
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) break;
      let end = nl;
      if (end > pos && chunk[end - 1] === 13) end--;
      if (end - pos > max) {
        this.countOverlong();
      } else {
        onLine(chunk, pos, end, ++this.lineNo);
      }
      pos = nl + 1;
    }
    this.stats.lines = this.lineNo;
    if (pos < len) {
      if (len - pos > max) {
        this.startSkip();
      } else {
        // Copy: the caller may reuse the chunk's memory.
        this.carry = Buffer.from(chunk.subarray(pos, len));
      }
    }
  }

  /** Skip the NUL run at `pos` (a line start); record it, merged with a run that ended where it begins. */
  private skipNuls(chunk: Buffer, pos: number, base: number): number {
    let q = pos;
    while (q < chunk.length && chunk[q] === 0) q++;
    const st = this.stats;
    st.nulBytes += q - pos;
    const last = st.nulRuns[st.nulRuns.length - 1];
    if (last && last[1] === base + pos) last[1] = base + q;
    else if (st.nulRuns.length < 5) st.nulRuns.push([base + pos, base + q]);
    return q;
  }

  /**
   * The input was truncated (a followed file cut by `copytruncate` or rewritten): forget the half-written line
   * held from before, so it is not glued onto the first new line. Line numbers go on. Counted in
   * {@link LineScanner.droppedPartialLines}.
   */
  dropPartial(): void {
    if (this.skipping) this.skipping = false;
    else if (this.carry === null || this.carry.length === 0) return;
    this.carry = null;
    this.droppedPartialLines++;
  }

  /** Half-written lines dropped at truncations. */
  droppedPartialLines = 0;

  /** Flush the last line if the input did not end with a newline. */
  end(): void {
    if (this.skipping) {
      this.skipping = false;
    } else if (this.carry !== null && this.carry.length > 0) {
      const carry = this.carry;
      this.carry = null;
      this.stats.unterminatedLastLine = true;
      this.emit(carry, 0, carry.length);
    }
    this.stats.lines = this.lineNo;
  }

  private emit(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--;
    this.onLine(buf, start, end, ++this.lineNo);
    this.stats.lines = this.lineNo;
  }

  private startSkip(): void {
    this.carry = null;
    this.skipping = true;
    this.countOverlong();
  }

  private countOverlong(): void {
    this.lineNo++;
    this.stats.lines = this.lineNo;
    this.stats.overlong++;
    if (this.stats.overlongLines.length < 5) this.stats.overlongLines.push(this.lineNo);
  }
}
