/**
 * virtiofsd debug-log parser: bytes of one line → typed events, with no regex and no string on the hot path.
 *
 * Hot paths (checked at fixed byte offsets): the Rust env_logger prefix `[2026-11-27T02:44:23Z DEBUG module] `
 * and the C prefix `[2026-11-27 02:43:57.293466+0000] [ID: 00014259] ` (and its 5.x / 6.0 / `(null)` /
 * `[ID: n]`-only variants). Everything else — ANSI colour, syslog and journalctl headers, kata logfmt — goes
 * through a slower string path that strips the wrapper and feeds the inner message back to the same
 * byte-level message classifier. See ../shared/docs/virtiofsd-log-formats.md for every format handled.
 */

export type DaemonFormat = 'rust' | 'rust-legacy' | 'c';
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

/** Which daemon wrote a request line: 0 Rust ≥ 1.2, 1 Rust 1.0/1.1, 2 C. */
export const Daemon = { rust: 0, rustLegacy: 1, c: 2 } as const;
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
  /** C daemon `  parent/name -> child` (a lookup or create result: the nodeid now names that path). */
  entry(ts: number, line: number, parent: number, name: string, child: number): void;
  /** The daemon's session ended: Rust `Client disconnected, shutting down`, C `virtio_loop: Exit`. */
  lifecycle?(ts: number, line: number, what: 'disconnect' | 'exit'): void;
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
}

export interface ParserOptions {
  format?: ForcedFormat;
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
/** `dbg!` header: `[src/server.rs:618] ` or `[src/server.rs:618:21] `. */
const DBG_HEADER_RE = /^\[[\w./-]+\.rs:\d+(?::\d+)?\] /;
/** `dbg!` pretty-printed body: `    field: value,`, `    Value,`, `    Name {`, and closing `}`, `},`, `)`, `]`. */
const DBG_BODY_RE = /^(?:\s+(?:[A-Za-z_]\w*: .*|[\w:<>"'.-]+(?: [{[(])?,?|[}\])],?)|[}\])],?)$/;
/** env_logger levels with their padding as printed without a time stamp: `[DEBUG virtiofsd::server] msg`. */
const LEVELS = ['ERROR ', 'WARN ', 'INFO ', 'DEBUG ', 'TRACE '].map(enc);

export class VirtiofsdLineParser {
  readonly stats: ParserStats = {
    kinds: new Array(LINE_KIND_NAMES.length).fill(0),
    byDaemon: { rust: 0, 'rust-legacy': 0, c: 0 },
    wrappers: new Array(WRAPPERS.length).fill(0),
    ansiLines: 0,
    unrecognizedSamples: [],
    resolution: 'none',
    clocks: {},
    backwardSteps: 0,
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

  constructor(sink: VirtiofsdSink, opts: ParserOptions = {}) {
    this.sink = sink;
    this.forced = opts.format ?? 'auto';
    this.assumeYear = opts.assumeYear ?? new Date().getUTCFullYear();
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
    const kind = this.noise(b, p, e);
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
      if (!this.allowed('c')) return LineKind.unrecognized;
      this.stats.byDaemon.c++;
      this.flushStamp();
      this.sink.request(this.ts, lineNo, opcode, nodeid, unique, pid, Daemon.c);
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
    if (!this.allowed('c')) return LineKind.unrecognized;
    this.stats.byDaemon.c++;
    this.flushStamp();
    this.sink.reply(this.ts, lineNo, unique, error, len);
    return LineKind.reply;
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
    if (!this.allowed('c')) return LineKind.unrecognized;
    this.flushStamp();
    this.sink.entry(this.ts, lineNo, parent, b.toString('utf8', nameStart, arrow), child);
    return LineKind.passthrough;
  }

  private noise(b: Buffer, p: number, e: number): LineKindCode {
    // Fast path for the commonest Rust noise.
    if (b[p] === 81 /* Q */ && e - p === 11) return LineKind.queue;
    const text = b.toString('latin1', p, Math.min(e, p + 64));
    for (let i = 0; i < NOISE_PREFIXES.length; i++) {
      const [prefix, kind] = NOISE_PREFIXES[i];
      if (text.startsWith(prefix)) return kind;
    }
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
    const esc = b.indexOf(27, s);
    if (esc >= 0 && esc < e) {
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

function unescapeLogfmt(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}
