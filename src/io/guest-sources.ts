/**
 * Streaming readers for guest-side inputs (console, debug port, journal JSON) and `--run-dir` discovery.
 * Files are never held in memory: bytes → (gunzip) → sniff → split2 → pure parsers from src/parse.
 *
 * Journal: split2 + JSON.parse per line, not stream-json's `jsonl/Parser` (the dependency was removed; README,
 * "Guest journal reader"). Measured with bench/journal-readers.mjs on a 100 MB journal built from the systemd
 * fixture's records (144,450 lines, 9 runs each, stream-json 1.9.1): the same time end to end (median 2.27 s split2
 * vs 2.22 s stream-json into the journal parser, within the noise of 1.5–4.8 s) and more memory (98 vs 80 MB peak
 * RSS); only parse-only is faster (0.91 vs 1.20 s), which the journal parser's own work hides. And its parser drops
 * blank lines without counting them, so the record line numbers verdicts point at drift (its last "line" 144,225 vs
 * the file's 144,450), a non-JSON line cannot be reported by line, and it has no line-length bound of its own (the
 * 1 MiB cutter below would still have to come first).
 */

import { createReadStream, constants as fsConstants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import split2 from 'split2';
import { ExitCode, VfsError } from '../errors.js';
import { looksBinary, SNIFF_BYTES } from '../parse/binary.js';
import { type ConsoleParserOptions, type ConsoleStats, createConsoleParser } from '../parse/console.js';
import type { GuestLine } from '../parse/guest-events.js';
import { createJournalParser, type JournalParserOptions, type JournalStats } from '../parse/journal.js';
import { peekStream } from './byte-source.js';

/** Problem with a guest input file (exit code 2, like any unreadable input). */
export class GuestInputError extends VfsError {
  readonly file: string;
  constructor(file: string, message: string) {
    super(message, ExitCode.usage);
    this.file = file;
  }
}

/** Longest accepted line (a journal record with a huge MESSAGE is still far below). */
/** Longest guest line kept (as for virtiofsd lines): longer ones are counted and skipped. */
const MAX_LINE = 1024 * 1024;

export { looksBinary };

/**
 * Cuts lines longer than {@link MAX_LINE} bytes: the first MAX_LINE bytes pass, then a NUL marks the cut and the
 * rest of the line is dropped up to its newline. A 100 MB journal record (a core dump, a huge environment) costs
 * at most MAX_LINE of memory and is skipped by the reader ({@link isCutLine}), the rest of the input is kept.
 */
class OverlongCutter extends Transform {
  private run = 0;
  private dropping = false;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out: Buffer[] = [];
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(10, from);
      const end = nl < 0 ? chunk.length : nl;
      if (this.dropping) {
        if (nl < 0) break;
        this.dropping = false;
        this.run = 0;
        out.push(chunk.subarray(nl, nl + 1));
        from = nl + 1;
        continue;
      }
      const room = MAX_LINE - this.run;
      if (end - from > room) {
        out.push(chunk.subarray(from, from + room), CUT_MARK);
        this.dropping = true;
        from += room;
        continue;
      }
      out.push(chunk.subarray(from, nl < 0 ? end : nl + 1));
      this.run = nl < 0 ? this.run + (end - from) : 0;
      from = nl < 0 ? end : nl + 1;
    }
    cb(null, out.length === 1 ? out[0] : Buffer.concat(out));
  }
}

const CUT_MARK = Buffer.from([0]);

/** A line {@link OverlongCutter} cut (it ends with the NUL mark). */
function isCutLine(line: string): boolean {
  return line.length >= MAX_LINE / 4 && line.charCodeAt(line.length - 1) === 0;
}

/** Lines over {@link MAX_LINE} bytes skipped by a reader: how many, and the first few line numbers. */
export interface OverlongStats {
  overlong: number;
  overlongLines: number[];
}

class Sniffer extends Transform {
  private seen = 0;
  private head: Buffer[] = [];
  constructor(private readonly file: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.seen >= SNIFF_BYTES) {
      cb(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.seen += chunk.length;
    if (this.seen < SNIFF_BYTES) {
      cb();
      return;
    }
    this.release(cb);
  }
  override _flush(cb: TransformCallback): void {
    if (this.head.length) this.release(cb);
    else cb();
  }
  private release(cb: TransformCallback): void {
    const all = Buffer.concat(this.head);
    this.head = [];
    if (looksBinary(all)) {
      cb(new GuestInputError(this.file, `${this.file}: looks like a binary file, not a text log`));
      return;
    }
    cb(null, all);
  }
}

/** Check that `path` is a readable regular file; throws GuestInputError with a clear message. */
export async function checkReadableFile(path: string, what = 'input'): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new GuestInputError(path, `${what} not found: ${path}`);
    if (code === 'EACCES')
      throw new GuestInputError(path, `${what} not accessible (permission denied): ${path}`);
    throw new GuestInputError(path, `${what} cannot be read: ${path}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) {
    throw new GuestInputError(
      path,
      `${what} is a directory, expected a file: ${path} (use --run-dir for run directories)`,
    );
  }
  // Pipes, FIFOs and `<(…)` are read as streams; only what cannot be read as bytes is refused.
  if (st.isSocket() || st.isBlockDevice()) {
    throw new GuestInputError(path, `${what} is not a file or a pipe: ${path}`);
  }
  try {
    await access(path, fsConstants.R_OK);
  } catch {
    throw new GuestInputError(path, `${what} is not readable (permission denied): ${path}`);
  }
}

function wrapError(path: string, e: unknown): GuestInputError {
  if (e instanceof GuestInputError) return e;
  const err = e as NodeJS.ErrnoException;
  if (
    err?.code === 'Z_DATA_ERROR' ||
    err?.code === 'Z_BUF_ERROR' ||
    /unexpected end of file/i.test(err?.message ?? '')
  ) {
    return new GuestInputError(path, `${path}: corrupt or truncated gzip data (${err.message})`);
  }
  if (/maximum buffer reached/i.test(err?.message ?? '')) {
    return new GuestInputError(path, `${path}: a line is longer than ${MAX_LINE} bytes; not a text log?`);
  }
  return new GuestInputError(path, `${path}: read error: ${err?.message ?? String(e)}`);
}

/**
 * Lines of a text file (gzip detected by magic bytes), without the `\n` (CRs are kept), streamed.
 * Throws GuestInputError for missing/unreadable/directory/binary/corrupt input.
 */
export async function* readLines(path: string, what = 'input'): AsyncGenerator<string, void, undefined> {
  await checkReadableFile(path, what);
  const raw = createReadStream(path);
  let gz: boolean;
  try {
    // Sniffed from the stream's first bytes (pushed back): pipes and `<(zcat …)` cannot be read at a position.
    const magic = await peekStream(raw);
    gz = magic !== null && magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } catch (e) {
    raw.destroy();
    throw wrapError(path, e);
  }
  // A mis-named plain `.gz` is read as text (gzip is detected by magic bytes); the sniffer still rejects binary.
  const streams: (Readable | Transform)[] = [raw];
  if (gz) streams.push(createGunzip());
  streams.push(new Sniffer(path));
  streams.push(new OverlongCutter());
  // The cutter bounds every line to MAX_LINE bytes + its mark; split2's own cap is only a backstop.
  const lines = split2('\n', { maxLength: 2 * MAX_LINE });
  streams.push(lines);
  let failure: unknown;
  // pipeline destroys every stream on error or early exit (break in for-await), so no fd leaks.
  pipeline(streams as unknown as [Readable, ...Transform[]], (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') failure = err;
  });
  try {
    for await (const line of lines as AsyncIterable<string>) yield line;
  } catch (e) {
    throw wrapError(path, failure ?? e);
  }
  if (failure) throw wrapError(path, failure);
}

export interface GuestReader<S> extends AsyncIterable<GuestLine> {
  readonly path: string;
  /** Live statistics; final once iteration has completed. */
  readonly stats: S;
}

export interface ReadConsoleOptions extends ConsoleParserOptions {}

/** Stream a console / debug-port file (raw or host-stamped, optionally .gz) as GuestLines. Iterate once. */
export function readConsole(
  path: string,
  opts: ReadConsoleOptions = {},
): GuestReader<ConsoleStats & OverlongStats> {
  const parser = createConsoleParser(opts);
  const what = opts.source === 'debug-port' ? 'debug port log' : 'console log';
  const over: OverlongStats = { overlong: 0, overlongLines: [] };
  return {
    path,
    get stats() {
      return { ...parser.stats, ...over };
    },
    async *[Symbol.asyncIterator]() {
      let n = 0;
      for await (const line of readLines(path, what)) {
        n++;
        if (isCutLine(line)) {
          countOverlong(over, n);
          continue;
        }
        for (const ev of parser.push(line, n)) yield ev;
      }
    },
  };
}

function countOverlong(o: OverlongStats, line: number): void {
  o.overlong++;
  if (o.overlongLines.length < 5) o.overlongLines.push(line);
}

/** Stream a `journalctl -o json` file (optionally .gz) as GuestLines; non-JSON lines are counted and skipped. */
export function readJournal(
  path: string,
  opts: JournalParserOptions = {},
): GuestReader<JournalStats & OverlongStats> {
  const parser = createJournalParser(opts);
  const over: OverlongStats = { overlong: 0, overlongLines: [] };
  return {
    path,
    get stats() {
      return { ...parser.stats, ...over };
    },
    async *[Symbol.asyncIterator]() {
      let n = 0;
      for await (const line of readLines(path, 'journal')) {
        n++;
        if (isCutLine(line)) {
          countOverlong(over, n);
          continue;
        }
        const ev = parser.pushLine(line, n);
        if (ev) yield ev;
      }
    },
  };
}

export interface RunDirInputs {
  dir: string;
  virtiofsdLog?: string;
  console?: string;
  journal?: string;
  journalInitrd?: string;
  consoleHostStamped?: string;
  debugPortHostStamped?: string;
  /** The guest probe's own port log (lab/run-vm.sh: the org.vfsprobe virtio-serial port). */
  probeLog?: string;
  /** Other files in the directory (not used). */
  others: string[];
}

const RUN_DIR_FILES: [keyof Omit<RunDirInputs, 'dir' | 'others'>, string[]][] = [
  ['virtiofsdLog', ['virtiofsd.log', 'virtiofsd.log.gz']],
  ['console', ['console.txt', 'console.txt.gz', 'console.log', 'console.log.gz']],
  ['journal', ['journal.json', 'journal.json.gz']],
  ['journalInitrd', ['journal-initrd.json', 'journal-initrd.json.gz']],
  ['consoleHostStamped', ['console.host-stamped.log', 'console.host-stamped.log.gz']],
  ['debugPortHostStamped', ['debug-port.host-stamped.log', 'debug-port.host-stamped.log.gz']],
  ['probeLog', ['probe.txt', 'probe.txt.gz']],
];

/**
 * Find the inputs of a run directory (`--run-dir`, the lab's and bcvk's `--log-dir` layout). Plain files win over
 * `.gz` when both exist. Throws GuestInputError if `dir` is missing or not a directory, or if it holds none of
 * the known files.
 */
export async function findRunDirInputs(dir: string): Promise<RunDirInputs> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory())
      throw new GuestInputError(dir, `--run-dir expects a directory, got a file: ${dir}`);
    names = await readdir(dir);
  } catch (e) {
    if (e instanceof GuestInputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GuestInputError(dir, `run directory not found: ${dir}`);
    if (code === 'EACCES')
      throw new GuestInputError(dir, `run directory not readable (permission denied): ${dir}`);
    throw new GuestInputError(dir, `run directory cannot be read: ${dir}: ${(e as Error).message}`);
  }
  const present = new Set(names);
  const out: RunDirInputs = { dir, others: [] };
  const used = new Set<string>();
  for (const [key, candidates] of RUN_DIR_FILES) {
    for (const c of candidates) {
      if (!present.has(c)) continue;
      const st = await stat(join(dir, c)).catch(() => undefined);
      if (!st?.isFile()) continue;
      out[key] = join(dir, c);
      used.add(c);
      break;
    }
  }
  out.others = names.filter((n) => !used.has(n)).sort();
  if (used.size === 0) {
    throw new GuestInputError(
      dir,
      `no known inputs in ${dir} (expected virtiofsd.log[.gz], console.txt, journal.json, journal-initrd.json, ` +
        `console.host-stamped.log, debug-port.host-stamped.log, probe.txt)`,
    );
  }
  return out;
}
