/**
 * Parser for the records of the guest probe (`probe/vfs-probe.sh`, format in probe/README.md): one compact JSON
 * object per line, `{"vfsprobe":1,"k":KIND,"n":SAMPLE,"t":REALTIME_S,"up":UPTIME_S,...}`, found in any guest input:
 *
 * - the serial console, as a kmsg line: `[    3.164225] vfs-probe: {"vfsprobe":1,...}` (raw or host-stamped);
 * - the journal (`MESSAGE` of a kmsg record, or of a `logger -t vfs-probe` record): the JSON alone;
 * - a virtio-serial port: `vfs-probe: {...}`, possibly host-stamped.
 *
 * Anything before `{"vfsprobe":` is a prefix (host stamp, kernel stamp, identifier) and is only used for its time.
 * A record cut short (console overrun, a torn write, the VM dying mid-line) is reported as `truncated` and skipped.
 * Pure and incremental.
 */

import { parseHostStamp, stripControl } from './console.js';

export const PROBE_MARKER = '{"vfsprobe":';

/** A task line of a `top` list: CPU used in the sample interval. */
export interface ProbeTopEntry {
  tid: number;
  pid: number;
  state: string;
  /** CPU ticks (1/100 s, USER_HZ) used in the interval. */
  ticks: number;
  comm: string;
}

/** A task seen for the first time, or renamed (exec, prctl). */
export interface ProbeNewTask {
  tid: number;
  pid: number;
  ppid: number;
  /** Start time in ticks (1/100 s) since boot: with the tid, identifies the task across PID reuse. */
  start: number;
  comm: string;
  /** Trimmed command line (processes only; empty for threads and kernel threads). */
  cmdline: string;
}

/** One task of a full listing. */
export interface ProbeTaskState {
  tid: number;
  pid: number;
  ppid: number;
  state: string;
  /** Total CPU ticks (utime + stime). */
  ticks: number;
}

interface ProbeBase {
  /** Sample number (0 for `hello`). */
  seq: number;
  /** Guest CLOCK_REALTIME, whole seconds (`date +%s`). */
  realtime: number;
  /** Guest uptime, seconds (/proc/uptime, 10 ms resolution). */
  uptime: number;
  /** Part number of a record split at the size bound, and whether it is the last part. */
  part?: number;
  last?: boolean;
  /** Host time (ms since the epoch) from a host stamp prefix of the line, when present. */
  hostTime?: number;
  /** Kernel printk stamp of the kmsg line (s), when present. */
  kernelTime?: number;
}

export interface ProbeHello extends ProbeBase {
  kind: 'hello';
  version: number;
  /** The probe's own PID. */
  pid: number;
  intervalCs: number;
  outputs: string[];
  port: string;
  /** fuse tracepoints: `on`, `absent` (kernel has none), `notracefs`, `noperm`, `disabled`. */
  fuse: string;
  wait: string;
  kernel: string;
  /** Sampler: `awk` (one persistent awk process, no fork per sample) or `sh` (the shell sampler). */
  mode?: string;
  /** Trace clock of the fuse tracepoint lines (`boot` = the clock of /proc/uptime), when they are on. */
  traceClock?: string;
}

export interface ProbeSample extends ProbeBase {
  kind: 'sample';
  /** Length of the interval this sample closes, centiseconds of uptime (0 for the first sample). */
  dtCs: number;
  tasks: number;
  processes: number;
  running: number;
  dstate: number;
  /** CPU ticks of the probe (and its reaped helpers) in the interval, and since it started. */
  selfTicks: number;
  selfTicksTotal: number;
  /** Centiseconds of uptime since the probe started (denominator of `selfTicksTotal`). */
  selfSpanCs: number;
  /** Exact CPU time of the probe (schedstat) in the interval and since it started, nanoseconds (awk sampler). */
  selfNs?: number;
  selfNsTotal?: number;
  /** Wall time the sample took, centiseconds (awk sampler: the previous sample's). */
  workCs: number;
  dropped: number;
  /** Tasks with CPU that did not fit in the top list. */
  overflow: number;
  top?: ProbeTopEntry[];
}

export interface ProbeTop extends ProbeBase {
  kind: 'top';
  top: ProbeTopEntry[];
}

export interface ProbeNew extends ProbeBase {
  kind: 'new';
  tasks: ProbeNewTask[];
}

export interface ProbeGone extends ProbeBase {
  kind: 'gone';
  tids: number[];
}

export interface ProbeAll extends ProbeBase {
  kind: 'all';
  tasks: ProbeTaskState[];
}

export interface ProbeHot extends ProbeBase {
  kind: 'hot';
  tid: number;
  pid: number;
  state: string;
  ticks: number;
  comm: string;
  /** Kernel function the task sleeps in (`0` or empty when running/unknown). */
  wchan: string;
  /** /proc/PID/syscall: `262 0xffffff9c 0x...`, `-1 ...` (user mode), `running`, or empty. */
  syscall: string;
  /** Kernel stack, innermost first (function names without offsets). */
  stack: string[];
}

export interface ProbeFuse extends ProbeBase {
  kind: 'fuse';
  /** Raw `fuse_request_send` lines of the trace buffer. */
  lines: string[];
}

export interface ProbeBye extends ProbeBase {
  kind: 'bye';
  why: string;
}

export interface ProbeOther extends ProbeBase {
  kind: 'other';
  /** The record's `k`. */
  k: string;
}

export type ProbeRecord =
  | ProbeHello
  | ProbeSample
  | ProbeTop
  | ProbeNew
  | ProbeGone
  | ProbeAll
  | ProbeHot
  | ProbeFuse
  | ProbeBye
  | ProbeOther;

export type ProbeParseResult =
  | { status: 'ok'; record: ProbeRecord }
  | { status: 'truncated' | 'invalid'; text: string };

const KERNEL_STAMP_RE = /^\[\s*(\d+\.\d+)\](?:\[\s*[TC]\d+\])? ?/;

type Obj = Record<string, unknown>;

function num(v: unknown, d = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : d;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function tuple(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function topEntries(v: unknown): ProbeTopEntry[] {
  const out: ProbeTopEntry[] = [];
  for (const e of arr(v)) {
    const t = tuple(e);
    if (!t || t.length < 5) continue;
    out.push({ tid: num(t[0]), pid: num(t[1]), state: str(t[2]), ticks: num(t[3]), comm: str(t[4]) });
  }
  return out;
}

function toRecord(o: Obj): ProbeRecord {
  const base: ProbeBase = { seq: num(o.n), realtime: num(o.t), uptime: num(o.up) };
  if (typeof o.p === 'number') base.part = o.p;
  if (o.last === 1) base.last = true;
  const k = str(o.k);
  switch (k) {
    case 'hello':
      return {
        ...base,
        kind: 'hello',
        version: num(o.v),
        pid: num(o.pid),
        intervalCs: num(o.iv, 100),
        outputs: str(o.out).split(',').filter(Boolean),
        port: str(o.port),
        fuse: str(o.fuse),
        wait: str(o.wait),
        kernel: str(o.kernel),
        ...(typeof o.mode === 'string' ? { mode: o.mode } : {}),
        ...(typeof o.tclock === 'string' && o.tclock !== '' ? { traceClock: o.tclock } : {}),
      };
    case 's': {
      const s: ProbeSample = {
        ...base,
        kind: 'sample',
        dtCs: num(o.dt),
        tasks: num(o.nt),
        processes: num(o.np),
        running: num(o.nr),
        dstate: num(o.nd),
        selfTicks: num(o.self),
        selfTicksTotal: num(o.selfc),
        selfSpanCs: num(o.selfup),
        workCs: num(o.work),
        dropped: num(o.drop),
        overflow: num(o.over),
      };
      if (typeof o.sns === 'number') s.selfNs = o.sns;
      if (typeof o.snsc === 'number') s.selfNsTotal = o.snsc;
      if (o.top !== undefined) s.top = topEntries(o.top);
      return s;
    }
    case 'top':
      return { ...base, kind: 'top', top: topEntries(o.top) };
    case 'new': {
      const tasks: ProbeNewTask[] = [];
      for (const e of arr(o.new)) {
        const t = tuple(e);
        if (!t || t.length < 5) continue;
        tasks.push({
          tid: num(t[0]),
          pid: num(t[1]),
          ppid: num(t[2]),
          start: num(t[3]),
          comm: str(t[4]),
          cmdline: str(t[5]),
        });
      }
      return { ...base, kind: 'new', tasks };
    }
    case 'gone':
      return { ...base, kind: 'gone', tids: arr(o.gone).filter((x): x is number => typeof x === 'number') };
    case 'all': {
      const tasks: ProbeTaskState[] = [];
      for (const e of arr(o.all)) {
        const t = tuple(e);
        if (!t || t.length < 5) continue;
        tasks.push({ tid: num(t[0]), pid: num(t[1]), ppid: num(t[2]), state: str(t[3]), ticks: num(t[4]) });
      }
      return { ...base, kind: 'all', tasks };
    }
    case 'hot':
      return {
        ...base,
        kind: 'hot',
        tid: num(o.tid),
        pid: num(o.pid),
        state: str(o.st),
        ticks: num(o.cpu),
        comm: str(o.comm),
        wchan: str(o.wchan),
        syscall: str(o.sc),
        stack: str(o.stack).split('<').filter(Boolean),
      };
    case 'fuse':
      return { ...base, kind: 'fuse', lines: arr(o.l).filter((x): x is string => typeof x === 'string') };
    case 'bye':
      return { ...base, kind: 'bye', why: str(o.why) };
    default:
      return { ...base, kind: 'other', k };
  }
}

/**
 * Recognise a probe record anywhere in one guest line. `null` when the line holds no probe record; otherwise the
 * record, or `truncated` (cut short) / `invalid` (not a JSON object despite the marker).
 */
export function parseProbeLineDetailed(text: string): ProbeParseResult | null {
  const at = text.indexOf(PROBE_MARKER);
  if (at < 0) return null;
  let prefix = text.slice(0, at);
  const json = text.slice(at).replace(/[\s\r]+$/, '');
  let hostTime: number | undefined;
  const hs = parseHostStamp(prefix);
  if (hs) {
    hostTime = hs.ms;
    prefix = prefix.slice(hs.length);
  }
  prefix = stripControl(prefix);
  const ks = KERNEL_STAMP_RE.exec(prefix);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { status: json.endsWith('}') ? 'invalid' : 'truncated', text };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { status: 'invalid', text };
  const rec = toRecord(value as Obj);
  if (hostTime !== undefined) rec.hostTime = hostTime;
  if (ks) rec.kernelTime = Number(ks[1]);
  return { status: 'ok', record: rec };
}

/** The probe record in a guest line (console, journal MESSAGE, debug port), or null (none, or cut short). */
export function parseProbeLine(text: string): ProbeRecord | null {
  const r = parseProbeLineDetailed(text);
  return r?.status === 'ok' ? r.record : null;
}

export interface ProbeParserStats {
  /** Lines pushed. */
  lines: number;
  records: number;
  truncated: number;
  invalid: number;
  byKind: Partial<Record<ProbeRecord['kind'], number>>;
  /** A few truncated/invalid lines for the report. */
  samples: { line: number; text: string }[];
}

/** Incremental probe-record scanner with counts, for whole guest inputs. */
export class ProbeParser {
  readonly stats: ProbeParserStats = {
    lines: 0,
    records: 0,
    truncated: 0,
    invalid: 0,
    byKind: {},
    samples: [],
  };

  push(text: string, lineNo = this.stats.lines + 1): ProbeRecord | null {
    this.stats.lines++;
    const r = parseProbeLineDetailed(text);
    if (!r) return null;
    if (r.status !== 'ok') {
      this.stats[r.status]++;
      if (this.stats.samples.length < 5) this.stats.samples.push({ line: lineNo, text: text.slice(0, 200) });
      return null;
    }
    this.stats.records++;
    const k = r.record.kind;
    this.stats.byKind[k] = (this.stats.byKind[k] ?? 0) + 1;
    return r.record;
  }
}
