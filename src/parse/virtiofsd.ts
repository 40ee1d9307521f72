/**
 * virtiofsd debug-log parser: bytes of one line → typed events, with no regex and no string on the hot path.
 *
 * Hot paths (checked at fixed byte offsets): the Rust env_logger prefix `[2026-11-27T02:44:23Z DEBUG module] `
 * and the C prefix `[2026-11-27 02:43:57.293466+0000] [ID: 00014259] ` (and its 5.x / 6.0 / `(null)` /
 * `[ID: n]`-only variants). Everything else — ANSI colour, syslog and journalctl headers, kata logfmt — goes
 * through a slower string path that strips the wrapper and feeds the inner message back to the same
 * byte-level message classifier. See ../shared/docs/virtiofsd-log-formats.md for every format handled.
 */

import { type EventColumns, EventRecorder } from './event-batch.js';
import { FastLane, type FastLaneCounts, type FastLaneHost } from './fast-lane.js';

/** `libfuse`: the `-d` output of any libfuse 2.9/3.x file system (bindfs, sshfs, passthrough, hello): the same
 * request/reply lines as C virtiofsd without its `[stamp] [ID: n]` prefix, plus the high-level API's own lines. */
export type DaemonFormat = 'rust' | 'rust-legacy' | 'c' | 'libfuse';
export type ForcedFormat = 'auto' | DaemonFormat;
export const WRAPPERS = [
  'env_logger',
  'c-prefix',
  'c-syslog-id',
  'bare',
  'syslog',
  'journal-short',
  'journal-iso',
  'kata',
  'env_logger-no-time',
] as const;
export type Wrapper = (typeof WRAPPERS)[number];
const W_ENV_LOGGER = 0;
const W_C_PREFIX = 1;
const W_C_SYSLOG_ID = 2;
const W_BARE = 3;
const W_SYSLOG = 4;
const W_JOURNAL_SHORT = 5;
const W_JOURNAL_ISO = 6;
const W_KATA = 7;
const W_ENV_LOGGER_NO_TIME = 8;

/** Lines per wrapper, as a record with only the wrappers seen. */
export function wrapperRecord(stats: ParserStats): Partial<Record<Wrapper, number>> {
  const out: Partial<Record<Wrapper, number>> = {};
  WRAPPERS.forEach((w, i) => {
    if (stats.wrappers[i] > 0) out[w] = stats.wrappers[i];
  });
  return out;
}

/** What a line turned out to be. Every line gets exactly one kind. */
export const LineKind = {
  request: 0,
  reply: 1,
  queue: 2,
  lifecycle: 3,
  transport: 4,
  passthrough: 5,
  init: 6,
  warning: 7,
  crash: 8,
  other: 9,
  unrecognized: 10,
  blank: 11,
} as const;
export type LineKindCode = (typeof LineKind)[keyof typeof LineKind];
export const LINE_KIND_NAMES = [
  'request',
  'reply',
  'queue',
  'lifecycle',
  'transport',
  'passthrough',
  'init',
  'warning',
  'crash',
  'other',
  'unrecognized',
  'blank',
] as const;
export type LineKindName = (typeof LINE_KIND_NAMES)[number];

/** Which daemon wrote a request line: 0 Rust ≥ 1.2, 1 Rust 1.0/1.1, 2 C, 3 libfuse (replies to every READ). */
export const Daemon = { rust: 0, rustLegacy: 1, c: 2, libfuse: 3 } as const;
export type DaemonCode = (typeof Daemon)[keyof typeof Daemon];

/** Receives the events of a virtiofsd log, one call per event, in file order. */
export interface VirtiofsdSink {
  /** `unique` is -1 when the line carries none (Rust 1.0/1.1, `Received unknown request`); `pid` -1 likewise. */
  request(
    ts: number,
    line: number,
    opcode: number,
    nodeid: number,
    unique: number,
    pid: number,
    daemon: DaemonCode,
  ): void;
  /** `error` is 0 for success, a negative errno otherwise; `len` is the reply length (-1 if unknown). */
  reply(ts: number, line: number, unique: number, error: number, len: number): void;
  /** C daemon `  parent/name -> child` (a lookup or create result: the nodeid now names that path). A libfuse
   * `LOOKUP /a/b` … `   NODEID: n` pair arrives as parent 1 and the whole path without its leading slash. */
  entry(ts: number, line: number, parent: number, name: string, child: number): void;
  /** The daemon's session ended: Rust `Client disconnected, shutting down`, C `virtio_loop: Exit`. */
  lifecycle?(ts: number, line: number, what: 'disconnect' | 'exit'): void;
  /**
   * The reply just given answered an outstanding request, matched by its unique in the post-mortem's pairing (the
   * one pairing step, PostMortemReducer): that request's PID and opcode. Not called for a reply it did not match
   * by unique. `opcode` is exact below 254 (larger ones arrive as 254).
   */
  paired?(pid: number, opcode: number, error: number): void;
  /** The pairing that matches replies and holds the outstanding requests (the post-mortem reducer's). */
  usePairing?(pairing: Pairing): void;
}

/** A request still waiting for its reply. */
export interface OutstandingRequest {
  unique: number;
  opcode: number;
  nodeid: number;
  pid: number;
  ts: number;
  line: number;
}

/** Outstanding requests of the one pairing step (the post-mortem reducer), for whoever needs them (the verdict). */
export interface Pairing {
  /** Every request waiting for its reply (by unique), oldest line first. */
  outstanding(): OutstandingRequest[];
  readonly outstandingCount: number;
}

/** Feeds two sinks the same events (e.g. the post-mortem reducer and the verdict engine in one pass). */
export class TeeSink implements VirtiofsdSink {
  constructor(
    private readonly a: VirtiofsdSink,
    private readonly b: VirtiofsdSink,
  ) {}
  request(ts: number, line: number, op: number, node: number, u: number, pid: number, d: DaemonCode): void {
    this.a.request(ts, line, op, node, u, pid, d);
    this.b.request(ts, line, op, node, u, pid, d);
  }
  reply(ts: number, line: number, unique: number, error: number, len: number): void {
    this.a.reply(ts, line, unique, error, len);
    this.b.reply(ts, line, unique, error, len);
  }
  entry(ts: number, line: number, parent: number, name: string, child: number): void {
    this.a.entry(ts, line, parent, name, child);
    this.b.entry(ts, line, parent, name, child);
  }
  lifecycle(ts: number, line: number, what: 'disconnect' | 'exit'): void {
    this.a.lifecycle?.(ts, line, what);
    this.b.lifecycle?.(ts, line, what);
  }
  paired(pid: number, opcode: number, error: number): void {
    this.a.paired?.(pid, opcode, error);
    this.b.paired?.(pid, opcode, error);
  }
  usePairing(pairing: Pairing): void {
    this.a.usePairing?.(pairing);
    this.b.usePairing?.(pairing);
  }
}

export type TimeResolution = 'none' | 'second' | 'centisecond' | 'millisecond' | 'microsecond' | 'nanosecond';
export type ClockKind = 'utc' | 'monotonic' | 'syslog-no-year';

export interface ParserStats {
  kinds: number[];
  byDaemon: Record<DaemonFormat, number>;
  /** Lines per wrapper, indexed like WRAPPERS (see wrapperRecord). */
  wrappers: number[];
  ansiLines: number;
  /** First few unrecognized lines (1-based line number and text, trimmed to 200 characters). */
  unrecognizedSamples: { line: number; text: string }[];
  /** Finest timestamp resolution seen. */
  resolution: TimeResolution;
  clocks: Partial<Record<ClockKind, number>>;
  /** Timestamps that went backwards in file order (normal for C with several threads). */
  backwardSteps: number;
  /** libfuse: whether unprefixed C-format lines were read as libfuse at the start and at the end of the input
   * (a libfuse marker line switches it on), and the `LOOKUP /x` … `NODEID: n` pairing state (see libfuseLine). */
  libfuse: LibfuseState;
}

export interface LibfuseState {
  atStart: boolean;
  atEnd: boolean;
  /** Path-to-nodeid pairs read (`LOOKUP /x`, `mkdir /x …`, `create …` then `   NODEID: n`). */
  paths: number;
  /** `NODEID: n` lines whose path was unknown or ambiguous (overlapping lookups of a multi-threaded file system). */
  unpaired: number;
  /** A path-creating request (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE) was read. */
  sawPathOp: boolean;
  /** A NODEID after such a request: from there on the pairing state no longer depends on lines before the input. */
  synced: boolean;
  /** A path or NODEID line came before `synced`: its pairing depends on a path waiting from before the input. */
  needsPending: boolean;
  /** A reply came while a path printed for a request from before the input was waiting: whether it ended that
   * wait depends on lines before the input. */
  needsLastOp: boolean;
  /** A path line was still waiting for its NODEID at the end. */
  openAtEnd: boolean;
}

export interface ParserOptions {
  format?: ForcedFormat;
  /** Read unprefixed C-format request/reply lines as libfuse from the first line (see sniffLibfuse). */
  libfuse?: boolean;
  /** Year for syslog/journal `short` stamps, which carry none (default: the current UTC year). */
  assumeYear?: number;
}

const RES_RANK: Record<TimeResolution, number> = {
  none: 0,
  second: 1,
  centisecond: 2,
  millisecond: 3,
  microsecond: 4,
  nanosecond: 5,
};
const FRACTION_RES: TimeResolution[] = [
  'second',
  'centisecond',
  'centisecond',
  'millisecond',
  'microsecond',
  'microsecond',
  'microsecond',
  'nanosecond',
  'nanosecond',
  'nanosecond',
];

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const SYSLOG_RE =
  /^(?:<\d{1,3}>)?([A-Z][a-z]{2}) ([ \d]?\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (?:(\S+) )?[^\s[\]:]+(?:\[\d+\])?: /;
const ISO_HEADER_RE =
  /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d) (?:(\S+) )?[^\s[\]:]+(?:\[\d+\])?: /;
const KATA_RE = /^time="([^"]*)" level=\w+ msg="((?:[^"\\]|\\.)*)"/;
const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const ISO_TIME_RE = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;

/** Known non-request messages, matched on the text after any prefix. Order matters: first match wins. */
const NOISE_PREFIXES: [string, LineKindCode][] = [
  ['QUEUE_EVENT', LineKind.queue],
  ['HIPRIO_QUEUE_EVENT', LineKind.queue],
  ['Waiting for vhost-user socket connection', LineKind.lifecycle],
  ['Client connected, servicing requests', LineKind.lifecycle],
  ['Client disconnected, shutting down', LineKind.lifecycle],
  ['Waiting for daemon failed', LineKind.lifecycle],
  ['Failure when trying to set the limit', LineKind.warning],
  ['Use of deprecated', LineKind.warning],
  ["can't enable syslog", LineKind.warning],
  ['Warning: ', LineKind.warning],
  ['Unsupported fuse protocol', LineKind.init],
  ['init: ', LineKind.init],
  ['syncfs: ', LineKind.passthrough],
  ['Creating MountFd', LineKind.passthrough],
  ['Dropping MountFd', LineKind.passthrough],
  ['Extension received', LineKind.passthrough],
  ["thread '", LineKind.crash],
  ['note: run with `RUST_BACKTRACE', LineKind.crash],
  ['stack backtrace:', LineKind.crash],
  ['Error: ', LineKind.crash],
  ['virtiofsd: ', LineKind.other],
  ['virtio_', LineKind.transport],
  ['fv_', LineKind.transport],
  ['vu_', LineKind.transport],
  ['vhost_', LineKind.transport],
  ['stop_all_queues', LineKind.transport],
  ['lo_', LineKind.passthrough],
  ['  forget ', LineKind.passthrough],
  ['INIT: ', LineKind.init],
  ['   INIT: ', LineKind.init],
  ['flags=0x', LineKind.init],
  ['   flags', LineKind.init],
  ['max_readahead=', LineKind.init],
  ['   max_', LineKind.init],
  ['   congestion_threshold=', LineKind.init],
  ['   time_gran=', LineKind.init],
  ['INTERRUPT: ', LineKind.other],
  ['NOTIFY: ', LineKind.other],
  ['fuse: ', LineKind.warning],
];

let numEnd = 0;
/** Parse an unsigned decimal at `p`; sets `numEnd` to the first byte after it (== p when none). */
function readUint(b: Buffer, p: number, e: number): number {
  let v = 0;
  const start = p;
  while (p < e) {
    const c = b[p];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  numEnd = p;
  return p === start ? -1 : v;
}
function readInt(b: Buffer, p: number, e: number): number {
  if (b[p] === 45) {
    const v = readUint(b, p + 1, e);
    if (v < 0) {
      numEnd = p;
      return Number.NaN;
    }
    return -v;
  }
  const v = readUint(b, p, e);
  return v < 0 ? Number.NaN : v;
}
function matchBytes(b: Buffer, p: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length;
  if (p + n > e) return false;
  for (let i = 0; i < n; i++) if (b[p + i] !== lit[i]) return false;
  return true;
}
const enc = (s: string) => Buffer.from(s, 'latin1');
const LIT_RECEIVED_UNKNOWN = enc('Received unknown request: opcode=');
const LIT_C_UNIQUE = enc('unique: ');
const LIT_ARROW = enc(' -> ');
const LIT_DISCONNECT = enc('Client disconnected, shutting down');
const LIT_LOOP_EXIT = enc('virtio_loop: Exit');
const LIT_ID = enc('[ID: ');
const LIT_VIRTIOFSD = enc('virtiofsd');
const LIT_DEV_UNIQUE = enc('dev unique: ');
const LIT_CQE_UNIQUE = enc('cqe unique: ');
/**
 * libfuse's high-level API (lib/fuse.c, 2.9 and 3.x) logs what it calls under each request with `-d`: the operation
 * name, then ` `, `[` or `+` (`getattr[NULL] /x`, `read[5] 4096 bytes from 0 flags: 0x8000`, `release+flush[5]`,
 * `LOOKUP /x`, `FORGET 2/1`); indented: the results (`   NODEID: 2`, `   read[5] 6 bytes from 0`, `   open[5] …`).
 */
const LIBFUSE_OPS = new Set([
  'LOOKUP',
  'LOOKUP-DOT',
  'LOOKUP-DOTDOT',
  'FORGET',
  'getattr',
  'fgetattr',
  'rename',
  'unlink',
  'rmdir',
  'symlink',
  'link',
  'release',
  'opendir',
  'open',
  'read',
  'write',
  'writepage',
  'fsync',
  'fsyncdir',
  'flush',
  'statfs',
  'releasedir',
  'readdir',
  'readdirplus',
  'getdir',
  'create',
  'lock',
  'chown',
  'chmod',
  'truncate',
  'ftruncate',
  'utimens',
  'utime',
  'access',
  'readlink',
  'mknod',
  'mkdir',
  'setxattr',
  'getxattr',
  'listxattr',
  'removexattr',
  'bmap',
  'ioctl',
  'poll',
  'fallocate',
  'copy_file_range',
  'lseek',
  'statx',
  'syncfs',
]);
/** Indented result lines of the high-level API: `   open[5] flags: 0x8000 /x`, `   read[5] 6 bytes from 0`. */
const LIBFUSE_RESULTS = new Set(['opendir', 'open', 'read', 'write', 'writepage', 'create', 'poll']);
/** libfuse lines that are not under a request: the banner and configuration, path-lock queueing, warnings. */
const LIBFUSE_NOISE: [string, LineKindCode][] = [
  ['FUSE library version: ', LineKind.init],
  ['nullpath_ok: ', LineKind.init],
  ['nopath: ', LineKind.init],
  ['utime_omit_ok: ', LineKind.init],
  ['   max_stack_depth=', LineKind.init],
  ['flags2=0x', LineKind.init],
  ['DELETE: ', LineKind.passthrough],
  ['QUEUE PATH', LineKind.passthrough],
  ['DEQUEUE PATH', LineKind.passthrough],
  ['DEQUEUE_PATH', LineKind.passthrough],
  ['      PATH2 ', LineKind.passthrough],
  ['        PATH2 ', LineKind.passthrough],
  ['  secctx: ', LineKind.passthrough],
  ['  uring secctx: ', LineKind.passthrough],
  ['FUSE_INTERRUPT: ', LineKind.other],
  ['Ignoring invalid max threads value', LineKind.warning],
  ['fuse internal error: ', LineKind.warning],
  ['fuse warning: ', LineKind.warning],
];
const LIBFUSE_MARKERS = ['FUSE library version: ', 'nullpath_ok: '];
/** Pairing state between a path line and its `NODEID: n`: no path waiting, or two different ones (ambiguous). */
const NO_PATH = '';
/** Requests whose high-level handler prints a path line and, on success, `   NODEID: n`: LOOKUP, SYMLINK, MKNOD,
 * MKDIR, LINK, CREATE. */
const PATH_OPS = new Set([1, 6, 8, 9, 13, 35]);
const AMBIGUOUS = '\0';
/** `dbg!` header: `[src/server.rs:618] ` or `[src/server.rs:618:21] `. */
const DBG_HEADER_RE = /^\[[\w./-]+\.rs:\d+(?::\d+)?\] /;
/** `dbg!` pretty-printed body: `    field: value,`, `    Value,`, `    Name {`, and closing `}`, `},`, `)`, `]`. */
const DBG_BODY_RE = /^(?:\s+(?:[A-Za-z_]\w*: .*|[\w:<>"'.-]+(?: [{[(])?,?|[}\])],?)|[}\])],?)$/;
/** env_logger levels with their padding as printed without a time stamp: `[DEBUG virtiofsd::server] msg`. */
const LEVELS = ['ERROR ', 'WARN ', 'INFO ', 'DEBUG ', 'TRACE '].map(enc);

export class VirtiofsdLineParser implements FastLaneHost {
  readonly stats: ParserStats = {
    kinds: new Array(LINE_KIND_NAMES.length).fill(0),
    byDaemon: { rust: 0, 'rust-legacy': 0, c: 0, libfuse: 0 },
    wrappers: new Array(WRAPPERS.length).fill(0),
    ansiLines: 0,
    unrecognizedSamples: [],
    resolution: 'none',
    clocks: {},
    backwardSteps: 0,
    libfuse: {
      atStart: false,
      atEnd: false,
      paths: 0,
      unpaired: 0,
      sawPathOp: false,
      synced: false,
      needsPending: false,
      needsLastOp: false,
      openAtEnd: false,
    },
  };
  /** Timestamp (ms since the epoch, or since boot for the C 5.x monotonic clock) of the last stamped line. */
  ts = Number.NaN;
  private readonly forced: ForcedFormat;
  private readonly assumeYear: number;
  private readonly sink: VirtiofsdSink;
  private wrapper = W_BARE;
  // Cache for the date part of stamps: YYYYMMDD → days since epoch.
  private dateKey = -1;
  private dateDays = 0;
  private lastFracDigits = -1;
  // A Rust stamp seen but not yet parsed (see flushStamp).
  private stampBuf: Buffer | null = null;
  private stampPos = 0;
  private stampFrac = 0;
  private stampFracDigits = 0;
  /** Unprefixed C-format lines are libfuse's (forced, sniffed from the file's head, or after a libfuse marker). */
  private libfuseMode: boolean;
  /** The path of the last libfuse path line still waiting for its `NODEID: n` (NO_PATH, or AMBIGUOUS). */
  private lookupPath = NO_PATH;
  /** The unique of the request that printed `lookupPath` (its reply ends the wait), and of the last request that
   * can print a path line. */
  private lookupOwner = -1;
  private lastPathOp = -1;

  constructor(sink: VirtiofsdSink, opts: ParserOptions = {}) {
    this.sink = sink;
    this.forced = opts.format ?? 'auto';
    this.assumeYear = opts.assumeYear ?? new Date().getUTCFullYear();
    this.libfuseMode = this.forced === 'libfuse' || (this.forced === 'auto' && opts.libfuse === true);
    this.stats.libfuse.atStart = this.libfuseMode;
    this.stats.libfuse.atEnd = this.libfuseMode;
  }

  /** A fast lane for this parser (see fast-lane.ts), or null where it cannot serve (a forced non-Rust format). */
  fastLane(): FastLane | null {
    return this.forced === 'auto' || this.forced === 'rust' ? FastLane.create(this) : null;
  }

  get resolvedFracDigits(): number {
    return this.lastFracDigits;
  }

  get legacySeen(): boolean {
    return this.stats.byDaemon['rust-legacy'] > 0;
  }

  emitColumns(cols: EventColumns, n: number): void {
    const sink = this.sink;
    // A worker's recorder takes the columns whole (see range-worker.ts); any other sink an event at a time.
    if (sink instanceof EventRecorder) {
      sink.appendColumns(cols, n);
      return;
    }
    const { kind, line, ts, a, b, c, d } = cols;
    for (let i = 0; i < n; i++) {
      if (kind[i] === 0) sink.request(ts[i], line[i], a[i], b[i], c[i], d[i], Daemon.rust);
      else sink.reply(ts[i], line[i], a[i], b[i], c[i]);
    }
  }

  /** Add what the fast lane read (Rust env_logger lines only) to the counts and state, as if read here. */
  absorbFast(f: FastLaneCounts, chunk: Buffer): void {
    const st = this.stats;
    st.kinds[LineKind.request] += f.requests;
    st.kinds[LineKind.reply] += f.replies;
    st.kinds[LineKind.queue] += f.queue;
    st.wrappers[W_ENV_LOGGER] += f.lines;
    st.byDaemon.rust += f.requests + f.replies;
    st.backwardSteps += f.backwardSteps;
    if (f.stamps > 0) st.clocks.utc = (st.clocks.utc ?? 0) + f.stamps;
    for (let d = 0; d < FRACTION_RES.length; d++)
      if (f.fracMask & (1 << d)) this.noteResolution(FRACTION_RES[d]);
    this.lastFracDigits = f.lastFracDigits;
    this.ts = f.ts;
    this.wrapper = W_ENV_LOGGER;
    if (f.pendingPos >= 0) {
      this.stampBuf = chunk;
      this.stampPos = f.pendingPos;
      this.stampFrac = f.pendingFrac;
      this.stampFracDigits = f.pendingFracDigits;
    } else this.stampBuf = null;
  }

  /** Read unprefixed C-format lines as libfuse from now on (auto format only). */
  assumeLibfuse(): void {
    if (this.forced !== 'auto' || this.libfuseMode) return;
    this.libfuseMode = true;
    if (this.stats.kinds.every((n) => n === 0)) this.stats.libfuse.atStart = true;
    this.stats.libfuse.atEnd = true;
  }

  /** Classify one line (without its newline) and emit its events. Returns the line's kind. */
  line(b: Buffer, s: number, e: number, lineNo: number): LineKindCode {
    const kind = this.classifyLine(b, s, e, lineNo, 0);
    this.stats.kinds[kind]++;
    this.stats.wrappers[this.wrapper]++;
    if (kind === LineKind.unrecognized && this.stats.unrecognizedSamples.length < 10) {
      let text = b.toString('utf8', s, Math.min(e, s + 200));
      text = text.replace(ANSI_RE, '');
      this.stats.unrecognizedSamples.push({ line: lineNo, text });
    }
    return kind;
  }

  private classifyLine(b: Buffer, s: number, e: number, lineNo: number, depth: number): LineKindCode {
    if (s >= e) {
      this.wrapper = W_BARE;
      return LineKind.blank;
    }
    if (b[s] === 91 /* [ */) {
      const ms = this.bracketPrefix(b, s, e);
      if (ms >= 0) return this.classifyMessage(b, ms, e, lineNo);
    }
    return this.slowPath(b, s, e, lineNo, depth);
  }

  /**
   * Recognise a `[...]` prefix at `s`. Returns the message start, or -1. Sets `this.ts` and `this.wrapper`.
   */
  private bracketPrefix(b: Buffer, s: number, e: number): number {
    // Rust env_logger: [YYYY-MM-DDTHH:MM:SS(.fff)?Z LEVEL module] msg
    if (b[s + 11] === 84 /* T */ && b[s + 5] === 45 && b[s + 14] === 58) {
      let p = s + 20;
      let fracDigits = 0;
      let frac = 0;
      if (b[p] === 46 /* . */) {
        p++;
        while (p < e && b[p] >= 48 && b[p] <= 57) {
          if (fracDigits < 9) {
            frac = frac * 10 + (b[p] - 48);
            fracDigits++;
          }
          p++;
        }
      }
      if (b[p] !== 90 /* Z */ || b[p + 1] !== 32) return -1;
      // level (5 chars) then a space, then the module up to ']'
      // The commonest modules first: virtiofsd::server (17) and virtiofsd::vhost_user (21).
      let q = p + 25;
      if (b[q] !== 93) {
        q = p + 29;
        if (b[q] !== 93) {
          q = p + 8;
          const lim = Math.min(e, q + 120);
          while (q < lim && b[q] !== 93) q++;
          if (q >= lim) return -1;
        }
      }
      if (b[q + 1] !== 32 && q + 1 !== e) return -1;
      // Parsed only if this line turns out to carry an event (most Rust lines are QUEUE_EVENT noise).
      this.stampBuf = b;
      this.stampPos = s + 1;
      this.stampFrac = frac;
      this.stampFracDigits = fracDigits;
      this.wrapper = W_ENV_LOGGER;
      return Math.min(q + 2, e);
    }
    // Rust env_logger with the time stamp switched off or stripped by a collector: [LEVEL virtiofsd…] msg. The line
    // has no time: the previous one (if any) is kept, and a log with none has no rates or onsets.
    const c1 = b[s + 1];
    if (
      c1 === 68 /* D */ ||
      c1 === 73 /* I */ ||
      c1 === 87 /* W */ ||
      c1 === 69 /* E */ ||
      c1 === 84 /* T */
    ) {
      for (const lit of LEVELS) {
        if (!matchBytes(b, s + 1, e, lit)) continue;
        let m = s + 1 + lit.length;
        while (m < e && b[m] === 32) m++;
        if (!matchBytes(b, m, e, LIT_VIRTIOFSD)) break;
        let q = m + LIT_VIRTIOFSD.length;
        const lim = Math.min(e, q + 120);
        while (q < lim && b[q] !== 93) q++;
        if (q >= lim || (b[q + 1] !== 32 && q + 1 !== e)) break;
        this.stampBuf = null;
        this.wrapper = W_ENV_LOGGER_NO_TIME;
        return Math.min(q + 2, e);
      }
    }
    // C: [ID: n] msg (C --syslog)
    if (b[s + 1] === 73 /* I */ && matchBytes(b, s, e, LIT_ID)) {
      const id = readUint(b, s + 5, e);
      if (id < 0 || b[numEnd] !== 93) return -1;
      this.wrapper = W_C_SYSLOG_ID;
      return Math.min(numEnd + 2, e);
    }
    // C: [stamp] [ID: n] msg
    let q = s + 1;
    const lim = Math.min(e, s + 48);
    while (q < lim && b[q] !== 93) q++;
    if (q >= lim || b[q + 1] !== 32 || !matchBytes(b, q + 2, e, LIT_ID)) return -1;
    const id = readUint(b, q + 7, e);
    if (id < 0 || b[numEnd] !== 93) return -1;
    const ms = Math.min(numEnd + 2, e);
    if (!this.cStamp(b, s + 1, q)) return -1;
    this.wrapper = W_C_PREFIX;
    return ms;
  }

  /** Parse the stamp inside a C prefix `[...]`: 6.1+ / 6.0 date form, 5.x monotonic ns, or `(null)`. */
  private cStamp(b: Buffer, p: number, q: number): boolean {
    if (b[p] === 40 /* ( */) return true; // (null): no time, keep the previous one
    if (q - p >= 19 && b[p + 4] === 45 && b[p + 10] === 32 && b[p + 13] === 58) {
      let r = p + 19;
      let frac = 0;
      let fracDigits = 0;
      if (b[r] === 46) {
        r++;
        while (r < q && b[r] >= 48 && b[r] <= 57) {
          if (fracDigits < 9) {
            frac = frac * 10 + (b[r] - 48);
            fracDigits++;
          }
          r++;
        }
      }
      let zoneMin = 0;
      if (r < q && (b[r] === 43 || b[r] === 45)) {
        const sign = b[r] === 45 ? -1 : 1;
        const hh = (b[r + 1] - 48) * 10 + (b[r + 2] - 48);
        const mmOff = b[r + 3] === 58 ? 4 : 3;
        const mm = (b[r + mmOff] - 48) * 10 + (b[r + mmOff + 1] - 48);
        zoneMin = sign * (hh * 60 + mm);
      }
      this.stampBuf = null;
      this.setStamp(b, p, p + 11, frac, fracDigits, zoneMin);
      return true;
    }
    // 5.x: monotonic nanoseconds
    let v = 0;
    for (let r = p; r < q; r++) {
      const c = b[r];
      if (c < 48 || c > 57) return false;
      v = v * 10 + (c - 48);
    }
    if (q === p) return false;
    this.noteTime(v / 1e6, 'nanosecond', 'monotonic');
    return true;
  }

  /**
   * Set the time from `YYYY-MM-DD?HH:MM:SS` at `d` (date) / `t` (time), a fraction and a zone offset in
   * minutes (local = UTC + zone).
   */
  /** Resolve a deferred Rust stamp into `ts`. Call before using `ts`, and before the line's buffer is reused. */
  flushStamp(): void {
    const b = this.stampBuf;
    if (b !== null) {
      this.stampBuf = null;
      this.setStamp(b, this.stampPos, this.stampPos + 11, this.stampFrac, this.stampFracDigits, 0);
    }
  }

  private setStamp(b: Buffer, d: number, t: number, frac: number, fracDigits: number, zoneMin: number): void {
    const key =
      (b[d] - 48) * 10000000 +
      (b[d + 1] - 48) * 1000000 +
      (b[d + 2] - 48) * 100000 +
      (b[d + 3] - 48) * 10000 +
      (b[d + 5] - 48) * 1000 +
      (b[d + 6] - 48) * 100 +
      (b[d + 8] - 48) * 10 +
      (b[d + 9] - 48);
    if (key !== this.dateKey) {
      this.dateKey = key;
      this.dateDays = daysFromCivil(Math.floor(key / 10000), Math.floor(key / 100) % 100, key % 100);
    }
    const sec =
      ((b[t] - 48) * 10 + (b[t + 1] - 48)) * 3600 +
      ((b[t + 3] - 48) * 10 + (b[t + 4] - 48)) * 60 +
      (b[t + 6] - 48) * 10 +
      (b[t + 7] - 48);
    let ms = (this.dateDays * 86400 + sec - zoneMin * 60) * 1000;
    if (fracDigits > 0) ms += (frac / 10 ** fracDigits) * 1000;
    if (fracDigits !== this.lastFracDigits) {
      this.lastFracDigits = fracDigits;
      this.noteResolution(FRACTION_RES[fracDigits]);
    }
    this.noteClockFast(ms, 'utc');
  }

  private noteResolution(res: TimeResolution): void {
    if (RES_RANK[res] > RES_RANK[this.stats.resolution]) this.stats.resolution = res;
  }

  private noteClockFast(ms: number, clock: ClockKind): void {
    if (ms < this.ts) this.stats.backwardSteps++;
    this.ts = ms;
    const clocks = this.stats.clocks;
    const c = clocks[clock];
    clocks[clock] = c === undefined ? 1 : c + 1;
  }

  private noteTime(ms: number, res: TimeResolution, clock: ClockKind): void {
    this.stampBuf = null;
    this.noteResolution(res);
    this.noteClockFast(ms, clock);
  }

  private allowed(daemon: DaemonFormat): boolean {
    const f = this.forced;
    return f === 'auto' || f === daemon;
  }

  /** Classify the message part of a line (after every prefix). */
  private classifyMessage(b: Buffer, p: number, e: number, lineNo: number): LineKindCode {
    const c0 = b[p];
    if (c0 === 82 /* R */) {
      // "Received request: " — distinguishing bytes only; the field parser validates the rest.
      if (b[p + 2] === 99 /* c */ && b[p + 9] === 114 /* r */ && b[p + 16] === 58 /* : */ && p + 18 < e) {
        return this.rustRequest(b, p + 18, e, lineNo);
      }
      if (b[p + 2] === 112 /* p */ && b[p + 8] === 32 && b[p + 1] === 101 && p + 9 < e) {
        return this.rustReply(b, p + 9, e, lineNo);
      }
      if (matchBytes(b, p, e, LIT_RECEIVED_UNKNOWN)) {
        if (!this.allowed('rust')) return LineKind.unrecognized;
        const opcode = readUint(b, p + LIT_RECEIVED_UNKNOWN.length, e);
        let nodeid = 0;
        if (b[numEnd] === 44) nodeid = readUint(b, numEnd + 8, e); // ", inode="
        if (opcode < 0) return LineKind.unrecognized;
        this.stats.byDaemon.rust++;
        this.flushStamp();
        this.sink.request(this.ts, lineNo, opcode, Math.max(nodeid, 0), -1, -1, Daemon.rust);
        return LineKind.request;
      }
    } else if (c0 === 117 /* u */) {
      if (matchBytes(b, p, e, LIT_C_UNIQUE)) return this.cRequestOrReply(b, p, e, lineNo);
    } else if (c0 === 100 /* d */ || c0 === 99 /* c */) {
      // libfuse ≥ 3.18 names the channel a request came from: `dev unique: 4, opcode: …`, `cqe unique: …` (io_uring).
      if (matchBytes(b, p, e, LIT_DEV_UNIQUE) || matchBytes(b, p, e, LIT_CQE_UNIQUE)) {
        const k = this.cRequestOrReply(b, p + 4, e, lineNo);
        if (k !== LineKind.unrecognized) return k;
      }
    } else if (c0 === 32 /* space */) {
      let q = p;
      while (q < e && b[q] === 32) q++;
      if (q - p >= 3 && matchBytes(b, q, e, LIT_C_UNIQUE)) {
        // Not a C reply after all (a `dbg!` field `    unique: 796,`): let the noise rules look at it.
        const k = this.cRequestOrReply(b, q, e, lineNo);
        if (k !== LineKind.unrecognized) return k;
      }
      if (q - p === 2 && b[q] >= 48 && b[q] <= 57) {
        const k = this.cEntry(b, q, e, lineNo);
        if (k !== -1) return k;
      }
    }
    const kind = this.noise(b, p, e, lineNo);
    if ((kind === LineKind.lifecycle || kind === LineKind.transport) && this.sink.lifecycle) {
      const what = matchBytes(b, p, e, LIT_DISCONNECT)
        ? 'disconnect'
        : matchBytes(b, p, e, LIT_LOOP_EXIT)
          ? 'exit'
          : null;
      if (what !== null) {
        this.flushStamp();
        this.sink.lifecycle(this.ts, lineNo, what);
      }
    }
    return kind;
  }

  private rustRequest(b: Buffer, p: number, e: number, lineNo: number): LineKindCode {
    const c = b[p];
    if (c >= 48 && c <= 57) {
      // 1.0/1.1: bare opcode number
      if (!this.allowed('rust-legacy')) return LineKind.unrecognized;
      const opcode = readUint(b, p, e);
      if (numEnd !== e) return LineKind.unrecognized;
      this.stats.byDaemon['rust-legacy']++;
      this.flushStamp();
      this.sink.request(this.ts, lineNo, opcode, 0, -1, -1, Daemon.rustLegacy);
      return LineKind.request;
    }
    // opcode=Name (N), inode=I, unique=U, pid=P
    if (c !== 111 /* o */ || b[p + 6] !== 61 /* = */) return LineKind.unrecognized;
    let q = p + 7;
    const lim = Math.min(e, q + 40);
    while (q < lim && b[q] !== 40 /* ( */) q++;
    const opcode = readUint(b, q + 1, e);
    q = numEnd;
    // "), inode="
    if (opcode < 0 || b[q] !== 41 || b[q + 3] !== 105 || b[q + 8] !== 61) return LineKind.unrecognized;
    const nodeid = readUint(b, q + 9, e);
    q = numEnd;
    // ", unique="
    if (nodeid < 0 || b[q + 2] !== 117 || b[q + 8] !== 61) return LineKind.unrecognized;
    const unique = readUint(b, q + 9, e);
    q = numEnd;
    // ", pid="
    if (unique < 0 || b[q + 2] !== 112 || b[q + 5] !== 61) return LineKind.unrecognized;
    const pid = readUint(b, q + 6, e);
    if (pid < 0) return LineKind.unrecognized;
    if (!this.allowed('rust')) return LineKind.unrecognized;
    this.stats.byDaemon.rust++;
    this.flushStamp();
    this.sink.request(this.ts, lineNo, opcode, nodeid, unique, pid, Daemon.rust);
    return LineKind.request;
  }

  /** `OK, header: OutHeader { len: L, error: E, unique: U }` or `ERROR, header: OutHeader { ... }` (any field order). */
  private rustReply(b: Buffer, p: number, e: number, lineNo: number): LineKindCode {
    let q: number;
    if (b[p] === 79 /* O */ && b[p + 1] === 75) q = p + 4;
    else if (b[p] === 69 /* E */ && b[p + 4] === 82) q = p + 7;
    else return LineKind.unrecognized;
    // "header: OutHeader { "
    if (b[q] !== 104 || b[q + 8] !== 79 || b[q + 18] !== 123 || q + 20 > e) return LineKind.unrecognized;
    q += 20;
    let len = -1;
    let error = Number.NaN;
    let unique = -1;
    for (let field = 0; field < 3; field++) {
      const k = b[q];
      // skip "key: "
      while (q < e && b[q] !== 58) q++;
      q += 2;
      const v = readInt(b, q, e);
      if (Number.isNaN(v)) return LineKind.unrecognized;
      q = numEnd;
      if (k === 108 /* l */) len = v;
      else if (k === 101 /* e */) error = v;
      else if (k === 117 /* u */) unique = v;
      else return LineKind.unrecognized;
      if (b[q] === 32 && b[q + 1] === 40) {
        // " (strerror text)"
        while (q < e && b[q] !== 41) q++;
        q++;
      }
      if (b[q] === 44)
        q += 2; // ", "
      else break;
    }
    if (unique < 0 || Number.isNaN(error)) return LineKind.unrecognized;
    const daemon: DaemonFormat = this.stats.byDaemon['rust-legacy'] > 0 ? 'rust-legacy' : 'rust';
    if (!this.allowed(daemon) && !this.allowed('rust')) return LineKind.unrecognized;
    this.stats.byDaemon[daemon]++;
    this.flushStamp();
    this.sink.reply(this.ts, lineNo, unique, error, len);
    return LineKind.reply;
  }

  /** C: `unique: U, opcode: NAME (N), nodeid: I, insize: S, pid: P` or `unique: U, success|error: -E (text), outsize: N`. */
  private cRequestOrReply(b: Buffer, p: number, e: number, lineNo: number): LineKindCode {
    const unique = readUint(b, p + 8, e);
    let q = numEnd;
    if (unique < 0 || b[q] !== 44) return LineKind.unrecognized;
    q += 2;
    const c = b[q];
    if (c === 111 /* o */ && b[q + 6] === 58) {
      // opcode: NAME (N), nodeid: I, insize: S, pid: P
      const lim = Math.min(e, q + 48);
      while (q < lim && b[q] !== 40) q++;
      const opcode = readUint(b, q + 1, e);
      q = numEnd;
      if (opcode < 0 || b[q] !== 41 || b[q + 3] !== 110) return LineKind.unrecognized;
      const nodeid = readUint(b, q + 11, e); // "), nodeid: "
      q = numEnd;
      if (nodeid < 0 || b[q + 2] !== 105) return LineKind.unrecognized;
      readUint(b, q + 10, e); // ", insize: "
      q = numEnd;
      if (b[q + 2] !== 112) return LineKind.unrecognized;
      const pid = readUint(b, q + 7, e); // ", pid: "
      if (pid < 0) return LineKind.unrecognized;
      const d = this.cDaemon();
      if (d === -1) return LineKind.unrecognized;
      if (d === Daemon.libfuse && PATH_OPS.has(opcode)) {
        this.lastPathOp = unique;
        this.stats.libfuse.sawPathOp = true;
      }
      this.flushStamp();
      this.sink.request(this.ts, lineNo, opcode, nodeid, unique, pid, d);
      return LineKind.request;
    }
    let error = 0;
    if (c === 115 /* s */ && b[q + 7] === 44) {
      q += 9; // "success, "
    } else if (c === 101 /* e */ && b[q + 5] === 58) {
      error = readInt(b, q + 7, e);
      if (Number.isNaN(error)) return LineKind.unrecognized;
      q = numEnd;
      if (b[q] === 32 && b[q + 1] === 40) {
        // " (text), " — strerror text has no parentheses; find the "), outsize" from the right
        const close = b.lastIndexOf(41, e - 1);
        if (close < q) return LineKind.unrecognized;
        q = close + 3;
      } else q += 2;
    } else return LineKind.unrecognized;
    let len = -1;
    if (b[q] === 111 /* o */) len = readUint(b, q + 9, e); // "outsize: "
    const d = this.cDaemon();
    if (d === -1) return LineKind.unrecognized;
    if (d === Daemon.libfuse && this.lookupPath !== NO_PATH) {
      // The request that printed the waiting path is over (a failed lookup prints no NODEID). A path printed for a
      // request from before this input (a parallel range) has no known owner: whether this reply ends it depends on
      // lines this input does not have.
      if (this.lookupOwner < 0) this.stats.libfuse.needsLastOp = true;
      else if (unique === this.lookupOwner) {
        this.lookupPath = NO_PATH;
        this.stats.libfuse.openAtEnd = false;
      }
    }
    this.flushStamp();
    this.sink.reply(this.ts, lineNo, unique, error, len);
    return LineKind.reply;
  }

  /**
   * Who wrote a C-format request/reply line (and count it): C virtiofsd prefixes every line with `[ID: n]`; libfuse
   * prints the same lines bare. A bare line is C (old QEMU virtiofsd through syslog or kata) unless the file is
   * libfuse's. Returns -1 when the forced format excludes it.
   */
  private cDaemon(): DaemonCode | -1 {
    const w = this.wrapper;
    if (w !== W_C_PREFIX && w !== W_C_SYSLOG_ID && this.libfuseMode) {
      if (!this.allowed('libfuse')) return -1;
      this.stats.byDaemon.libfuse++;
      return Daemon.libfuse;
    }
    if (!this.allowed('c')) return -1;
    this.stats.byDaemon.c++;
    return Daemon.c;
  }

  /**
   * A libfuse high-level API line (unprefixed, or inside a syslog/journal/kata wrapper), or -1. `LOOKUP /x`,
   * `mkdir /x …`, `mknod /x …`, `symlink target /x`, `link /old /x` and `create flags: 0x… /x …` name the path the
   * next `   NODEID: n` is for; the pair is emitted as an entry (parent 1, the path without its leading slash), the
   * way C virtiofsd's `1/name -> n` lines are. A second, different path before the NODEID (overlapping requests of
   * a multi-threaded file system) makes the pair ambiguous: nothing is emitted, the NODEID is counted as unpaired.
   * The reply to the request that printed the path (the last path-creating request before it) ends the wait: a
   * failed lookup prints no NODEID. Other requests' lines may come in between (another thread's RELEASE).
   */
  private libfuseLine(b: Buffer, p: number, e: number, text: string, lineNo: number): LineKindCode | -1 {
    if (this.wrapper !== W_BARE) return -1;
    for (let i = 0; i < LIBFUSE_NOISE.length; i++) {
      const [prefix, kind] = LIBFUSE_NOISE[i];
      if (!text.startsWith(prefix)) continue;
      for (const m of LIBFUSE_MARKERS) if (prefix === m) this.assumeLibfuse();
      return kind;
    }
    let q = p;
    while (q < e && b[q] === 32) q++;
    const indent = q - p;
    if (indent !== 0 && indent !== 3) return -1;
    if (indent === 3 && b[q] === 78 /* N */ && text.startsWith('   NODEID: ')) {
      const nodeid = readUint(b, q + 8, e);
      if (nodeid < 0 || numEnd !== e) return -1;
      this.assumeLibfuse();
      const st = this.stats.libfuse;
      if (!st.synced) {
        st.needsPending = true;
        if (st.sawPathOp) st.synced = true;
      }
      const path = this.lookupPath;
      this.lookupPath = NO_PATH;
      st.openAtEnd = false;
      if (path === NO_PATH || path === AMBIGUOUS) {
        st.unpaired++;
        return LineKind.passthrough;
      }
      st.paths++;
      this.flushStamp();
      this.sink.entry(this.ts, lineNo, 1, path.slice(1), nodeid);
      return LineKind.passthrough;
    }
    // The operation name: letters, `_` and `-` (LOOKUP-DOT), then ` `, `[`, `+` or the end of the line.
    let r = q;
    while (r < e) {
      const c = b[r];
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 45) r++;
      else break;
    }
    if (r === q || (r < e && b[r] !== 32 && b[r] !== 91 && b[r] !== 43)) return -1;
    const op = b.toString('latin1', q, r);
    if (indent === 3 ? !LIBFUSE_RESULTS.has(op) || b[r] !== 91 : !LIBFUSE_OPS.has(op)) return -1;
    if (r === e && op !== 'LOOKUP-DOT' && op !== 'LOOKUP-DOTDOT') return -1;
    if (op === 'LOOKUP' || op === 'getattr') this.assumeLibfuse();
    if (indent === 0) {
      const path = libfusePath(op, b.toString('utf8', r + 1, e));
      if (path !== null) {
        const st = this.stats.libfuse;
        if (!st.synced) st.needsPending = true;
        if (this.lookupPath === NO_PATH) {
          this.lookupPath = path;
          this.lookupOwner = this.lastPathOp;
        } else if (this.lookupPath !== path) this.lookupPath = AMBIGUOUS;
        st.openAtEnd = true;
      }
    }
    return LineKind.passthrough;
  }

  /** C: `  P/name -> C` (two spaces already skipped; `p` at the first digit). Names may contain ` -> `. */
  private cEntry(b: Buffer, p: number, e: number, lineNo: number): LineKindCode | -1 {
    const parent = readUint(b, p, e);
    if (parent < 0 || b[numEnd] !== 47 /* / */) return -1;
    const nameStart = numEnd + 1;
    const arrow = b.lastIndexOf(LIT_ARROW, e - 4);
    if (arrow < nameStart) return -1;
    const child = readUint(b, arrow + 4, e);
    if (child < 0 || numEnd !== e) return -1;
    // libfuse's passthrough_ll example prints the same lines.
    if (!this.allowed('c') && !this.allowed('libfuse')) return LineKind.unrecognized;
    this.flushStamp();
    this.sink.entry(this.ts, lineNo, parent, b.toString('utf8', nameStart, arrow), child);
    return LineKind.passthrough;
  }

  private noise(b: Buffer, p: number, e: number, lineNo: number): LineKindCode {
    // Fast path for the commonest Rust noise.
    if (b[p] === 81 /* Q */ && e - p === 11) return LineKind.queue;
    const text = b.toString('latin1', p, Math.min(e, p + 64));
    for (let i = 0; i < NOISE_PREFIXES.length; i++) {
      const [prefix, kind] = NOISE_PREFIXES[i];
      if (text.startsWith(prefix)) return kind;
    }
    const lf = this.libfuseLine(b, p, e, text, lineNo);
    if (lf !== -1) return lf;
    if (text.endsWith(': reinit')) return LineKind.init;
    if (text.startsWith('  ') && /^ {2}\d+\/.* -> \d+$/.test(b.toString('latin1', p, e)))
      return LineKind.passthrough;
    if (/^\s+at /.test(text) || /^\s*\d+: /.test(text)) return LineKind.crash; // backtrace frames
    // Rust `dbg!` output of a patched daemon: `[src/server.rs:618:21] expr = ReadIn {`, then the value pretty-printed
    // over indented `field: value,` lines and closing brackets. Known noise, never a request: recognised line by line
    // (no state), so a parallel range that starts inside a value reads it the same way.
    if (DBG_HEADER_RE.test(text) || DBG_BODY_RE.test(b.toString('latin1', p, Math.min(e, p + 200))))
      return LineKind.other;
    // The C daemon prefixes its debug messages with the C function name (`fuse_log("%s: ...", __func__)`).
    if ((this.wrapper === W_C_PREFIX || this.wrapper === W_C_SYSLOG_ID) && /^[a-z][a-z0-9_]*: /.test(text)) {
      return LineKind.other;
    }
    return LineKind.unrecognized;
  }

  /** Lines without a `[...]` prefix: ANSI colour, syslog/journal headers, kata logfmt, or a bare message. */
  private slowPath(b: Buffer, s: number, e: number, lineNo: number, depth: number): LineKindCode {
    if (depth > 2) return this.bareMessage(b, s, e, lineNo);
    // Only within the line: searching the rest of the chunk made every unprefixed line cost the chunk's length.
    if (b.subarray(s, e).indexOf(27) >= 0) {
      this.stats.ansiLines++;
      const clean = Buffer.from(b.toString('latin1', s, e).replace(ANSI_RE, ''), 'latin1');
      return this.classifyLine(clean, 0, clean.length, lineNo, depth + 1);
    }
    const c0 = b[s];
    const head = b.toString('latin1', s, Math.min(e, s + 160));
    if (c0 === 116 /* t */ && head.startsWith('time="')) {
      const m = KATA_RE.exec(b.toString('latin1', s, e));
      if (m) {
        this.isoTime(m[1]);
        const msg = Buffer.from(unescapeLogfmt(Buffer.from(m[2], 'latin1').toString('utf8')), 'utf8');
        const kind = this.classifyLine(msg, 0, msg.length, lineNo, depth + 1);
        this.wrapper = W_KATA;
        return kind;
      }
    } else if (c0 === 60 /* < */ || (c0 >= 65 && c0 <= 90)) {
      const m = SYSLOG_RE.exec(head);
      if (m && MONTHS[m[1]] !== undefined) {
        const month = MONTHS[m[1]];
        const day = Number.parseInt(m[2].trim(), 10);
        const days = daysFromCivil(this.assumeYear, month, day);
        const fracDigits = m[6] ? m[6].length : 0;
        let ms = (days * 86400 + Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5])) * 1000;
        if (fracDigits) ms += (Number(m[6]) / 10 ** fracDigits) * 1000;
        this.noteTime(ms, FRACTION_RES[Math.min(fracDigits, 9)], 'syslog-no-year');
        const kind = this.classifyLine(b, s + m[0].length, e, lineNo, depth + 1);
        this.wrapper = m[0].startsWith('<') ? W_SYSLOG : W_JOURNAL_SHORT;
        return kind;
      }
    } else if (c0 >= 48 && c0 <= 57) {
      const m = ISO_HEADER_RE.exec(head);
      if (m) {
        this.isoParts(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
        const kind = this.classifyLine(b, s + m[0].length, e, lineNo, depth + 1);
        this.wrapper = W_JOURNAL_ISO;
        return kind;
      }
    }
    return this.bareMessage(b, s, e, lineNo);
  }

  private bareMessage(b: Buffer, s: number, e: number, lineNo: number): LineKindCode {
    this.wrapper = W_BARE;
    return this.classifyMessage(b, s, e, lineNo);
  }

  private isoTime(text: string): void {
    const m = ISO_TIME_RE.exec(text);
    if (m) this.isoParts(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
  }

  private isoParts(
    y: string,
    mo: string,
    d: string,
    h: string,
    mi: string,
    sec: string,
    frac: string | undefined,
    zone: string | undefined,
  ): void {
    let ms =
      (daysFromCivil(Number(y), Number(mo), Number(d)) * 86400 +
        Number(h) * 3600 +
        Number(mi) * 60 +
        Number(sec)) *
      1000;
    const fracDigits = frac ? frac.length : 0;
    if (frac) ms += (Number(frac) / 10 ** fracDigits) * 1000;
    if (zone && zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60000;
    }
    this.noteTime(ms, FRACTION_RES[Math.min(fracDigits, 9)], 'utc');
  }
}

/**
 * Whether the head of a log (its first 64 KiB) is libfuse `-d` output: a libfuse marker line (`FUSE library
 * version: `, `LOOKUP /x`, `getattr /x`, `   NODEID: n`, …) appears among its lines. Unprefixed C-format lines are
 * then read as libfuse from the first line on, not only after the first marker.
 */
export function sniffLibfuse(head: Buffer, opts: ParserOptions = {}): boolean {
  if ((opts.format ?? 'auto') !== 'auto') return false;
  const p = new VirtiofsdLineParser({ request() {}, reply() {}, entry() {} }, { ...opts, libfuse: false });
  const end = Math.min(head.length, 64 * 1024);
  let s = 0;
  while (s < end && !p.stats.libfuse.atEnd) {
    const e = head.indexOf(10, s);
    if (e < 0 || e > end) break; // the last, partial line is left for the real reader
    const lineEnd = e > s && head[e - 1] === 13 ? e - 1 : e;
    p.line(head, s, lineEnd, 0);
    s = e + 1;
  }
  return p.stats.libfuse.atEnd;
}

/**
 * The path a libfuse path line names for the `NODEID: n` that follows, or null. `rest` is the text after the
 * operation name and its separator. Formats (lib/fuse.c): `LOOKUP %s`, `mknod %s 0%o 0x%llx umask=0%03o`,
 * `mkdir %s 0%o umask=0%03o`, `symlink %s %s` (target, path), `link %s %s` (old, new),
 * `create flags: 0x%x %s 0%o umask=0%03o` and `   create[%llu] flags: 0x%x %s` (the latter is indented: not here).
 */
function libfusePath(op: string, rest: string): string | null {
  let path: string | null = null;
  if (op === 'LOOKUP') path = rest;
  else if (op === 'mkdir' || op === 'mknod') {
    const m = (op === 'mkdir' ? / 0[0-7]* umask=0[0-7]*$/ : / 0[0-7]* 0x[0-9a-f]+ umask=0[0-7]*$/).exec(rest);
    if (m) path = rest.slice(0, m.index);
  } else if (op === 'symlink' || op === 'link') {
    const i = rest.lastIndexOf(' /');
    if (i >= 0) path = rest.slice(i + 1);
  } else if (op === 'create') {
    const m = /^flags: 0x[0-9a-f]+ (.*) 0[0-7]* umask=0[0-7]*$/.exec(rest);
    if (m) path = m[1];
  }
  return path !== null && path[0] === '/' ? path : null;
}

function unescapeLogfmt(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}
