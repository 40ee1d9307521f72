/**
 * One virtiofsd log, bytes in, results out: line scanner → line parser → post-mortem reducer. Pure and
 * incremental — `push()` any chunks, `result()` at any time — so post-mortem, follow mode and the launcher share it.
 */
import { looksBinary } from '../parse/binary.js';
import { DEFAULT_MAX_LINE_BYTES, LineScanner, type ScannerStats } from '../parse/line-scanner.js';
import {
  type ClockKind,
  type DaemonFormat,
  type ForcedFormat,
  LINE_KIND_NAMES,
  type LineKindName,
  type OutstandingRequest,
  type Pairing,
  type ParserStats,
  sniffLibfuse,
  TeeSink,
  type TimeResolution,
  VirtiofsdLineParser,
  type VirtiofsdSink,
  type Wrapper,
  wrapperRecord,
} from '../parse/virtiofsd.js';
import { boundsWarnings, type PostMortem, type PostMortemOptions, PostMortemReducer } from './postmortem.js';

const RESOLUTION_ORDER: TimeResolution[] = [
  'none',
  'second',
  'centisecond',
  'millisecond',
  'microsecond',
  'nanosecond',
];

export interface RangeParts {
  reducer: PostMortemReducer;
  parserStats: ParserStats;
  scannerStats: ScannerStats;
  binary: boolean;
}

/**
 * What another thread needs of a whole log analysed in a worker: the result, computed there (while this thread
 * still replays the last events), and the requests still waiting for a reply. Plain data: the reducer's tables
 * stay in the worker.
 */
export interface FinishedParts {
  result: InputAnalysis;
  outstanding: OutstandingRequest[];
  outstandingCount: number;
}

/** The analysis of a whole log a worker made ({@link VirtiofsdAnalysis.finishedParts}): its result, and its pairing
 * as it ended (the verdict's outstanding requests). */
export class FinishedAnalysis implements Pairing {
  constructor(private readonly parts: FinishedParts) {}

  result(): InputAnalysis {
    return this.parts.result;
  }

  outstanding(): OutstandingRequest[] {
    return this.parts.outstanding.slice();
  }

  get outstandingCount(): number {
    return this.parts.outstandingCount;
  }
}

export interface AnalysisOptions extends PostMortemOptions {
  format?: ForcedFormat;
  /** A second consumer of the same events (the verdict engine); the analysis then cannot be split across threads. */
  extraSink?: VirtiofsdSink;
  maxLineBytes?: number;
  assumeYear?: number;
  /** false: the parser feeds `extraSink` only, and the caller feeds `reducer` itself (default true). */
  postMortem?: boolean;
  /** Read the commonest Rust lines with the WebAssembly fast lane (default true; false: the TypeScript parser reads
   * every line — the same analysis, slower; the tests compare the two). */
  fastLane?: boolean;
}

export interface InputAnalysis extends PostMortem {
  file: string;
  bytes: number;
  format: {
    detected: DaemonFormat | 'unknown';
    forced: ForcedFormat;
    byDaemon: Record<DaemonFormat, number>;
    wrappers: Partial<Record<Wrapper, number>>;
  };
  lines: {
    total: number;
    byKind: Record<LineKindName, number>;
    overlong: number;
    overlongLines: number[];
    /** NUL bytes skipped at line starts (a copytruncate gap) and the first runs as [start, end) byte offsets. */
    nulBytes: number;
    nulRuns: [number, number][];
    ansi: number;
    unrecognizedSamples: { line: number; text: string }[];
    unterminatedLastLine: boolean;
  };
  clock: { kind: ClockKind | 'none'; resolution: TimeResolution; backwardSteps: number };
  warnings: string[];
  /** Set when the input looked like binary data; nothing was parsed after that. */
  binary: boolean;
}

const DAEMON_LABEL: Record<DaemonFormat, string> = {
  rust: 'Rust virtiofsd ≥ 1.2',
  'rust-legacy': 'Rust virtiofsd 1.0/1.1',
  c: 'C virtiofsd (QEMU)',
  libfuse: 'libfuse -d (a FUSE file system)',
};

/**
 * The reducer, then the second consumer (the verdict engine), each event; after a reply the reducer matched by
 * unique, the consumer learns which request it answered (`paired`): one pairing step for both.
 */
class PairedTee extends TeeSink {
  constructor(
    private readonly r: PostMortemReducer,
    private readonly x: VirtiofsdSink,
  ) {
    super(r, x);
  }
  override reply(ts: number, line: number, unique: number, error: number, len: number): void {
    super.reply(ts, line, unique, error, len);
    const r = this.r;
    if (r.pairedOpcode >= 0) this.x.paired?.(r.pairedPid, Math.min(r.pairedOpcode, 254), error);
  }
}

export class VirtiofsdAnalysis {
  readonly reducer: PostMortemReducer;
  readonly parser: VirtiofsdLineParser;
  readonly scanner: LineScanner;
  private readonly forced: ForcedFormat;
  private readonly assumeYear: number | undefined;
  private sawFirst = false;
  private binary = false;

  constructor(
    readonly file: string,
    opts: AnalysisOptions = {},
    reducer?: PostMortemReducer,
  ) {
    this.forced = opts.format ?? 'auto';
    this.assumeYear = opts.assumeYear;
    this.reducer = reducer ?? new PostMortemReducer(opts);
    // postMortem false: the parser feeds extraSink only; whoever owns it feeds the reducer (a worker replays its
    // event batches into it, see range-worker.ts).
    const extra = opts.extraSink;
    let sink: VirtiofsdSink = this.reducer;
    if (extra && opts.postMortem === false) sink = extra;
    else if (extra) {
      sink = new PairedTee(this.reducer, extra);
      extra.usePairing?.(this.reducer);
    }
    this.parser = new VirtiofsdLineParser(sink, { format: this.forced, assumeYear: opts.assumeYear });
    const parser = this.parser;
    this.scanner = new LineScanner(
      (b, s, e, n) => {
        parser.line(b, s, e, n);
      },
      opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      opts.fastLane === false ? null : parser.fastLane(),
    );
  }

  push(chunk: Buffer): void {
    if (this.binary) return;
    if (!this.sawFirst && chunk.length > 0) {
      // A copytruncate gap (a NUL run) may come first: sniff what follows it; the scanner skips the run itself.
      let i = 0;
      while (i < chunk.length && chunk[i] === 0) i++;
      if (i < chunk.length) {
        this.sawFirst = true;
        if (looksBinary(chunk.subarray(i))) {
          this.binary = true;
          return;
        }
        // libfuse -d output is C-format request lines without the C daemon's prefix: decide from the head, so the
        // first requests (before the first libfuse-only line) are read as libfuse too.
        if (sniffLibfuse(chunk.subarray(i), { format: this.forced, assumeYear: this.assumeYear }))
          this.parser.assumeLibfuse();
      }
    }
    this.scanner.push(chunk);
    this.parser.flushStamp(); // the chunk's memory may be reused by the reader
  }

  /** Buffers to read the log into (the parser's fast lane reads them where they lie), or null: see readRange. */
  readBuffers(count: number, size: number): Buffer[] | null {
    return this.scanner.readBuffers(count, size);
  }

  /** The followed log was truncated or replaced: drop the half-written line from before (see LineScanner). */
  truncated(): void {
    this.scanner.dropPartial();
  }

  end(): void {
    if (!this.binary) this.scanner.end();
    this.parser.flushStamp();
  }

  /** The parts another thread sends back after analysing one byte range (structured-clone friendly). */
  exportParts(): RangeParts {
    this.reducer.prepareExport();
    return {
      reducer: this.reducer,
      parserStats: this.parser.stats,
      scannerStats: this.scanner.stats,
      binary: this.binary,
    };
  }

  /**
   * Append the analysis of the next byte range of the same file (lines whose first byte lies in that range), as
   * returned by `exportParts()` in another thread. See PostMortemReducer.absorb for when this is exact.
   */
  absorb(parts: RangeParts): void {
    const offset = this.scanner.stats.lines;
    const r = Object.setPrototypeOf(parts.reducer, PostMortemReducer.prototype) as PostMortemReducer;
    this.reducer.absorb(r, offset);
    this.absorbCounts(parts, offset);
  }

  /** The whole log read: its result and outstanding requests, for another thread (see FinishedAnalysis). */
  finishedParts(): FinishedParts {
    return {
      result: this.result(),
      outstanding: this.reducer.outstanding(),
      outstandingCount: this.reducer.outstandingCount,
    };
  }

  /** The parser's and the scanner's counts of the next byte range, added. */
  private absorbCounts(parts: RangeParts, offset: number): void {
    const a = this.parser.stats;
    const b = parts.parserStats;
    for (let i = 0; i < a.kinds.length; i++) a.kinds[i] += b.kinds[i];
    for (const d of Object.keys(b.byDaemon) as DaemonFormat[]) a.byDaemon[d] += b.byDaemon[d];
    for (let i = 0; i < a.wrappers.length; i++) a.wrappers[i] += b.wrappers[i];
    for (const [c, n] of Object.entries(b.clocks) as [ClockKind, number][])
      a.clocks[c] = (a.clocks[c] ?? 0) + n;
    a.ansiLines += b.ansiLines;
    a.backwardSteps += b.backwardSteps;
    const fa = a.libfuse;
    const fb = b.libfuse;
    if (offset === 0) fa.atStart = fb.atStart;
    fa.atEnd = fb.atEnd;
    fa.paths += fb.paths;
    fa.unpaired += fb.unpaired;
    // A range that never synced and read no path line may have ended a path waiting from before: assume it did not.
    fa.openAtEnd = fb.synced || fb.needsPending || offset === 0 ? fb.openAtEnd : fa.openAtEnd || fb.openAtEnd;
    if (offset === 0) {
      fa.needsPending = fb.needsPending;
      fa.needsLastOp = fb.needsLastOp;
    }
    fa.sawPathOp ||= fb.sawPathOp;
    fa.synced ||= fb.synced;
    if (RESOLUTION_ORDER.indexOf(b.resolution) > RESOLUTION_ORDER.indexOf(a.resolution))
      a.resolution = b.resolution;
    for (const u of b.unrecognizedSamples) {
      if (a.unrecognizedSamples.length < 10)
        a.unrecognizedSamples.push({ line: u.line + offset, text: u.text });
    }
    const x = this.scanner.stats;
    const y = parts.scannerStats;
    x.lines += y.lines;
    x.nulBytes += y.nulBytes;
    for (const [a, b] of y.nulRuns) if (x.nulRuns.length < 5) x.nulRuns.push([a + x.bytes, b + x.bytes]);
    x.bytes += y.bytes;
    x.overlong += y.overlong;
    for (const l of y.overlongLines) if (x.overlongLines.length < 5) x.overlongLines.push(l + offset);
    x.unterminatedLastLine = y.unterminatedLastLine;
    this.binary ||= parts.binary;
    this.sawFirst = true;
  }

  /** Whether `absorb(parts)` is exact (see PostMortemReducer.canAbsorb). */
  canAbsorb(parts: RangeParts): boolean {
    if (parts.binary || this.binary) return false;
    // libfuse: the range must start in the mode this one ended in, and its first path lines must not depend on a
    // path (or the request that printed it) from before its start.
    const fa = this.parser.stats.libfuse;
    const fb = parts.parserStats.libfuse;
    if (this.scanner.stats.lines > 0) {
      if (fa.atEnd !== fb.atStart || fb.needsLastOp) return false;
      if (fa.openAtEnd && fb.needsPending) return false;
    }
    const r = Object.setPrototypeOf(parts.reducer, PostMortemReducer.prototype) as PostMortemReducer;
    return this.reducer.canAbsorb(r);
  }

  get isBinary(): boolean {
    return this.binary;
  }

  result(): InputAnalysis {
    const ps = this.parser.stats;
    const ss = this.scanner.stats;
    const byKind = {} as Record<LineKindName, number>;
    LINE_KIND_NAMES.forEach((k, i) => {
      byKind[k] = ps.kinds[i];
    });
    const daemons = (Object.keys(ps.byDaemon) as DaemonFormat[]).filter((d) => ps.byDaemon[d] > 0);
    daemons.sort((a, b) => ps.byDaemon[b] - ps.byDaemon[a]);
    const detected = daemons[0] ?? 'unknown';
    const clocks = Object.entries(ps.clocks).sort((a, b) => b[1] - a[1]);
    const clockKind = (clocks[0]?.[0] as ClockKind | undefined) ?? 'none';
    const resolutionSec = stepMs(ps.resolution) / 1000;
    const pm = this.reducer.snapshot(resolutionSec);
    const warnings: string[] = [];
    if (daemons.length > 1) {
      warnings.push(
        `mixed formats in one file: ${daemons.map((d) => `${DAEMON_LABEL[d]} (${ps.byDaemon[d]} lines)`).join(', ')}`,
      );
    }
    if (ss.overlong > 0) {
      warnings.push(
        `${ss.overlong} overlong line(s) skipped (first at line ${ss.overlongLines[0]}; cap ${DEFAULT_MAX_LINE_BYTES} bytes)`,
      );
    }
    if (ss.nulBytes > 0) {
      const runs = ss.nulRuns.map(([a, b]) => `${a}–${b}`).join(', ');
      warnings.push(
        `${ss.nulBytes} NUL byte(s) skipped at byte ${runs}${ss.nulRuns.length === 5 ? ', …' : ''} (a copytruncate gap: the log was truncated while virtiofsd kept writing at its old offset)`,
      );
    }
    if (byKind.unrecognized > 0) {
      const s = ps.unrecognizedSamples[0];
      warnings.push(
        `${byKind.unrecognized} unrecognized line(s), e.g. line ${s.line}: ${JSON.stringify(s.text.slice(0, 80))}`,
      );
    }
    if (pm.totals.orphanReplies > 0) {
      warnings.push(
        `${pm.totals.orphanReplies} repl${pm.totals.orphanReplies === 1 ? 'y' : 'ies'} without a request (log starts mid-session, or ENOMEM for an oversized request)`,
      );
    }
    if (pm.totals.evictedPending > 0) {
      warnings.push(
        `${pm.totals.evictedPending} outstanding requests dropped from pairing (over the pending cap)`,
      );
    }
    warnings.push(...boundsWarnings(pm));
    if (pm.totals.unansweredBeforeInit > 0) {
      warnings.push(
        `${pm.totals.unansweredBeforeInit} request(s) were still unanswered when a new INIT restarted the session`,
      );
    }
    if (clockKind === 'none' && pm.totals.requests > 0)
      warnings.push(
        detected === 'libfuse'
          ? 'no time stamps (libfuse -d prints none): no rates, timeline or onsets'
          : 'no time stamps (env_logger without its time, or stripped by a collector): no rates, timeline or onsets',
      );
    if (ps.libfuse.unpaired > 0)
      warnings.push(
        `${ps.libfuse.unpaired} libfuse NODEID line(s) not paired with a path (overlapping requests of a multi-threaded file system; run it with -s for exact paths)`,
      );
    if (clockKind === 'monotonic')
      warnings.push('timestamps are the C 5.x monotonic clock (not wall-clock time)');
    if (clockKind === 'syslog-no-year')
      warnings.push('syslog timestamps carry no year: the current year was assumed (--year to set it)');
    return {
      file: this.file,
      bytes: ss.bytes,
      format: { detected, forced: this.forced, byDaemon: { ...ps.byDaemon }, wrappers: wrapperRecord(ps) },
      lines: {
        total: ss.lines,
        byKind,
        overlong: ss.overlong,
        overlongLines: [...ss.overlongLines],
        nulBytes: ss.nulBytes,
        nulRuns: ss.nulRuns.map(([a, b]) => [a, b] as [number, number]),
        ansi: ps.ansiLines,
        unrecognizedSamples: ps.unrecognizedSamples.map((s) => ({ ...s })),
        unterminatedLastLine: ss.unterminatedLastLine,
      },
      clock: { kind: clockKind, resolution: ps.resolution, backwardSteps: ps.backwardSteps },
      warnings,
      binary: this.binary,
      ...pm,
    };
  }
}

/** The clock step of a timestamp resolution in ms (0 when finer than a millisecond or unknown). */
export function stepMs(resolution: TimeResolution): number {
  return resolution === 'second'
    ? 1000
    : resolution === 'centisecond'
      ? 10
      : resolution === 'millisecond'
        ? 1
        : 0;
}

/** What the guest clock alignment needs from a virtiofsd log: its FUSE INIT time and stamp resolution. */
export function hostClockFacts(a: InputAnalysis): { initTs: number | null; resolutionMs: number } {
  return { initTs: a.time.firstInit, resolutionMs: Math.max(stepMs(a.clock.resolution), 0.001) };
}
