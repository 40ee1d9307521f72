/**
 * What the guest probe saw, indexed for the analysis: task id → name over time (ids are reused), CPU share per
 * sample interval, state / syscall / wchan of the hottest tasks, the probe's own overhead, and the exact
 * FUSE `unique` → task join from `fuse_request_send` tracepoint lines.
 *
 * Times. Probe records carry the guest uptime (`up`, 10 ms) and realtime (`t`, whole seconds). Everything is kept
 * on the uptime axis; host times given to the queries are converted with {@link ProbeFacts.hostMsToUptime}, which
 * uses (in order) the caller's converter, host stamps seen on the records' lines, or the guest's realtime clock
 * (second-accurate: the largest `t - up` seen is the best lower bound of the offset).
 *
 * virtiofsd logs the FUSE request's pid, which is the guest TASK id: lookups are by task id, and a process's
 * main thread has tid = pid.
 */

import { median as sampleMedian } from '../compare/stats.js';
import type { ProbeRecord, ProbeTopEntry } from '../parse/probe.js';

/** Linux TASK_COMM_LEN - 1. */
const COMM_MAX = 15;

/** x86_64 syscall numbers of the calls that reach a filesystem (and a few common waits). */
export const X86_64_SYSCALLS: Readonly<Record<number, string>> = {
  0: 'read',
  1: 'write',
  2: 'open',
  3: 'close',
  4: 'stat',
  5: 'fstat',
  6: 'lstat',
  7: 'poll',
  8: 'lseek',
  9: 'mmap',
  16: 'ioctl',
  17: 'pread64',
  18: 'pwrite64',
  19: 'readv',
  20: 'writev',
  21: 'access',
  23: 'select',
  35: 'nanosleep',
  40: 'sendfile',
  59: 'execve',
  61: 'wait4',
  72: 'fcntl',
  73: 'flock',
  74: 'fsync',
  75: 'fdatasync',
  76: 'truncate',
  77: 'ftruncate',
  78: 'getdents',
  79: 'getcwd',
  80: 'chdir',
  81: 'fchdir',
  82: 'rename',
  83: 'mkdir',
  84: 'rmdir',
  85: 'creat',
  86: 'link',
  87: 'unlink',
  88: 'symlink',
  89: 'readlink',
  90: 'chmod',
  91: 'fchmod',
  92: 'chown',
  93: 'fchown',
  94: 'lchown',
  132: 'utime',
  133: 'mknod',
  137: 'statfs',
  138: 'fstatfs',
  161: 'chroot',
  162: 'sync',
  165: 'mount',
  166: 'umount2',
  187: 'readahead',
  188: 'setxattr',
  189: 'lsetxattr',
  190: 'fsetxattr',
  191: 'getxattr',
  192: 'lgetxattr',
  193: 'fgetxattr',
  194: 'listxattr',
  195: 'llistxattr',
  196: 'flistxattr',
  197: 'removexattr',
  202: 'futex',
  217: 'getdents64',
  221: 'fadvise64',
  230: 'clock_nanosleep',
  232: 'epoll_wait',
  254: 'inotify_add_watch',
  257: 'openat',
  258: 'mkdirat',
  259: 'mknodat',
  260: 'fchownat',
  262: 'newfstatat',
  263: 'unlinkat',
  264: 'renameat',
  265: 'linkat',
  266: 'symlinkat',
  267: 'readlinkat',
  268: 'fchmodat',
  269: 'faccessat',
  270: 'pselect6',
  271: 'ppoll',
  280: 'utimensat',
  281: 'epoll_pwait',
  285: 'fallocate',
  301: 'fanotify_mark',
  303: 'name_to_handle_at',
  304: 'open_by_handle_at',
  306: 'syncfs',
  316: 'renameat2',
  326: 'copy_file_range',
  332: 'statx',
  437: 'openat2',
  439: 'faccessat2',
  441: 'epoll_pwait2',
};

/** Syscall number → name (x86_64), `syscall N` when not in the table. */
export function syscallName(nr: number): string {
  return X86_64_SYSCALLS[nr] ?? `syscall ${nr}`;
}

/** One lifetime of a task id: from its start (or first sighting) to its exit (or last sighting). */
export interface ProbeTask {
  tid: number;
  pid: number;
  ppid: number;
  /** Start, uptime seconds (from the task's start time in ticks). */
  startUp: number;
  /** Uptime of the last sample that saw it alive, and of the sample that saw it gone. */
  lastSeenUp: number;
  goneUp?: number;
  /** comm history (exec, prctl renames): [from uptime, comm]. */
  names: { fromUp: number; comm: string }[];
  cmdline: string;
}

export interface ProbeSampleFacts {
  seq: number;
  uptime: number;
  realtime: number;
  /** Interval closed by this sample, seconds. */
  dtSec: number;
  /** tid → [ticks in the interval, state]. */
  cpu: Map<number, { ticks: number; state: string }>;
  selfTicks: number;
  tasks: number;
}

export interface ProbeHotFacts {
  seq: number;
  uptime: number;
  tid: number;
  pid: number;
  state: string;
  ticks: number;
  wchan: string;
  /** Syscall number from /proc/PID/syscall, or null (user mode, running, unreadable). */
  syscallNr: number | null;
  /** Syscall name: from the number, else from a `__do_sys_X`/`__x64_sys_X` frame of the kernel stack. */
  syscall?: string;
  stack: string[];
}

export interface FuseSend {
  unique: number;
  tid: number;
  comm: string;
  opcode: number;
  opname: string;
  /** Trace clock (normally uptime) of the send, seconds. */
  ts: number;
  connection: number;
}

export interface ProbeOverhead {
  samples: number;
  /** What the shares are computed from: `ns` = schedstat run time (exact), `ticks` = utime+stime (1/100 s). */
  basis: 'ns' | 'ticks';
  /** Probe CPU (its process and reaped helpers) / elapsed uptime since it started, 0..1. */
  share: number;
  /** Mean CPU time per sample, milliseconds. */
  msPerSample: number;
  /** Per-sample shares: median and maximum. */
  medianShare: number;
  maxShare: number;
  selfTicks: number;
  spanSec: number;
}

export interface ProbeFactsOptions {
  /** Converts host time (ms since epoch) to guest uptime (s); overrides the built-in clock estimate. */
  hostMsToUptime?: (hostMs: number) => number;
}

export interface ProbeWindow {
  /** Host times (ms since epoch) bounding the period of interest; both optional. */
  fromMs?: number;
  toMs?: number;
}

/** `fuse_request_send` trace line: `  comm-123  [000] .....  12.345678: fuse_request_send: connection 45 req 6 opcode 1 (FUSE_LOOKUP) len 54` */
const FUSE_SEND_RE =
  /^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+\S*\s*(\d+\.\d+):\s+fuse_request_send:\s+connection\s+(\d+)\s+req\s+(\d+)\s+opcode\s+(\d+)\s+\((\w+)\)/;

export function parseFuseSendLine(line: string): FuseSend | null {
  const m = FUSE_SEND_RE.exec(line);
  if (!m) return null;
  return {
    comm: m[1].trim(),
    tid: Number(m[2]),
    ts: Number(m[3]),
    connection: Number(m[4]),
    unique: Number(m[5]),
    opcode: Number(m[6]),
    opname: m[7],
  };
}

const SYS_FRAME_RE = /^__(?:do|x64|se|ia32|arm64)_sys_(\w+)$/;

/** Median, 0 for no values (a share column). */
function median(xs: number[]): number {
  return xs.length === 0 ? 0 : sampleMedian(xs);
}

function mode<T>(xs: T[]): T | undefined {
  const c = new Map<T, number>();
  let best: T | undefined;
  let bestN = 0;
  for (const x of xs) {
    const n = (c.get(x) ?? 0) + 1;
    c.set(x, n);
    if (n > bestN) {
      best = x;
      bestN = n;
    }
  }
  return best;
}

export class ProbeFacts {
  private readonly tasks = new Map<number, ProbeTask[]>();
  private readonly samplesBySeq = new Map<number, ProbeSampleFacts>();
  private readonly hots: ProbeHotFacts[] = [];
  private readonly fuseByUnique = new Map<number, FuseSend[]>();
  private readonly opts: ProbeFactsOptions;
  /** Largest (realtime - uptime) seen, seconds. */
  private rtOffset = Number.NEGATIVE_INFINITY;
  /** Smallest (host stamp - uptime) seen, ms: the line arrived at the host after it was written. */
  private hostOffsetMs = Number.POSITIVE_INFINITY;
  private probePid?: number;
  private lastSample?: ProbeSampleFacts;
  /** Status of the fuse tracepoints as reported by the probe (`on`, `absent`, ...); undefined before `hello`. */
  fuseStatus?: string;
  /** Trace clock of the fuse lines (`boot` agrees with uptime; others may be off by a fraction of a second). */
  traceClock?: string;
  kernel?: string;
  intervalCs?: number;
  records = 0;
  private readonly overheadSamples: {
    selfTicks: number;
    dtCs: number;
    total: number;
    span: number;
    ns?: number;
    nsTotal?: number;
  }[] = [];

  constructor(opts: ProbeFactsOptions = {}) {
    this.opts = opts;
  }

  /** Feed one record (any order within a sample; samples in time order). `hostMs` overrides the line's host stamp. */
  feed(rec: ProbeRecord, hostMs?: number): void {
    this.records++;
    const up = rec.uptime;
    if (rec.realtime > 0) this.rtOffset = Math.max(this.rtOffset, rec.realtime - up);
    const hm = hostMs ?? rec.hostTime;
    if (hm !== undefined) this.hostOffsetMs = Math.min(this.hostOffsetMs, hm - up * 1000);
    switch (rec.kind) {
      case 'hello':
        this.probePid = rec.pid;
        this.fuseStatus = rec.fuse;
        this.traceClock = rec.traceClock;
        this.kernel = rec.kernel;
        this.intervalCs = rec.intervalCs;
        break;
      case 'new':
        for (const t of rec.tasks) this.addTask(t.tid, t.pid, t.ppid, t.start / 100, up, t.comm, t.cmdline);
        break;
      case 'gone':
        for (const tid of rec.tids) {
          const cur = this.current(tid);
          if (cur && cur.goneUp === undefined) cur.goneUp = up;
        }
        break;
      case 'all':
        for (const t of rec.tasks) {
          const cur = this.current(t.tid);
          if (cur && cur.goneUp === undefined) cur.lastSeenUp = Math.max(cur.lastSeenUp, up);
        }
        break;
      case 'sample': {
        const s = this.sample(rec.seq, up, rec.realtime);
        s.dtSec = rec.dtCs / 100;
        s.selfTicks = rec.selfTicks;
        s.tasks = rec.tasks;
        if (rec.top) this.addTop(s, rec.top, up);
        // the first interval (probe start-up, first listing of every task) is not representative
        if (rec.dtCs > 0 && rec.seq > 1) {
          this.overheadSamples.push({
            selfTicks: rec.selfTicks,
            dtCs: rec.dtCs,
            total: rec.selfTicksTotal,
            span: rec.selfSpanCs,
            ns: rec.selfNs,
            nsTotal: rec.selfNsTotal,
          });
        }
        break;
      }
      case 'top':
        this.addTop(this.sample(rec.seq, up, rec.realtime), rec.top, up);
        break;
      case 'hot': {
        const nr = /^-?\d+/.exec(rec.syscall);
        // kernel threads read as `0 0x0 ... 0x0` (no user stack pointer or pc): no syscall
        const f = rec.syscall.trim().split(/\s+/);
        const kthread = f.length >= 3 && f[f.length - 1] === '0x0' && f[f.length - 2] === '0x0';
        const syscallNr = nr && Number(nr[0]) >= 0 && !kthread ? Number(nr[0]) : null;
        let syscall = syscallNr !== null ? syscallName(syscallNr) : undefined;
        if (!syscall) {
          for (const f of rec.stack) {
            const m = SYS_FRAME_RE.exec(f);
            if (m) {
              syscall = m[1];
              break;
            }
          }
        }
        this.hots.push({
          seq: rec.seq,
          uptime: up,
          tid: rec.tid,
          pid: rec.pid,
          state: rec.state,
          ticks: rec.ticks,
          wchan: rec.wchan === '0' ? '' : rec.wchan,
          syscallNr,
          syscall,
          stack: rec.stack,
        });
        const cur = this.current(rec.tid);
        if (!cur && rec.comm) this.addTask(rec.tid, rec.pid, 0, up, up, rec.comm, '');
        break;
      }
      case 'fuse':
        for (const l of rec.lines) {
          const f = parseFuseSendLine(l);
          if (!f) continue;
          let list = this.fuseByUnique.get(f.unique);
          if (!list) {
            list = [];
            this.fuseByUnique.set(f.unique, list);
          }
          list.push(f);
        }
        break;
      default:
        break;
    }
  }

  private sample(seq: number, up: number, realtime: number): ProbeSampleFacts {
    let s = this.samplesBySeq.get(seq);
    if (!s) {
      s = { seq, uptime: up, realtime, dtSec: 0, cpu: new Map(), selfTicks: 0, tasks: 0 };
      this.samplesBySeq.set(seq, s);
      this.lastSample = s;
    }
    return s;
  }

  private addTop(s: ProbeSampleFacts, top: ProbeTopEntry[], up: number): void {
    for (const e of top) {
      s.cpu.set(e.tid, { ticks: e.ticks, state: e.state });
      const cur = this.current(e.tid);
      if (!cur && e.comm) this.addTask(e.tid, e.pid, 0, up, up, e.comm, '');
      else if (cur) cur.lastSeenUp = Math.max(cur.lastSeenUp, up);
    }
  }

  private current(tid: number): ProbeTask | undefined {
    const list = this.tasks.get(tid);
    return list?.[list.length - 1];
  }

  private addTask(
    tid: number,
    pid: number,
    ppid: number,
    startUp: number,
    up: number,
    comm: string,
    cmdline: string,
  ): void {
    let list = this.tasks.get(tid);
    if (!list) {
      list = [];
      this.tasks.set(tid, list);
    }
    const cur = list[list.length - 1];
    if (cur && Math.abs(cur.startUp - startUp) < 0.005 && cur.goneUp === undefined) {
      // same task renamed (exec / prctl): a new name from now on
      const last = cur.names[cur.names.length - 1];
      if (last.comm !== comm) cur.names.push({ fromUp: up, comm });
      if (cmdline) cur.cmdline = cmdline;
      cur.lastSeenUp = Math.max(cur.lastSeenUp, up);
      return;
    }
    if (cur && cur.goneUp === undefined) cur.goneUp = Math.min(up, Math.max(startUp, cur.lastSeenUp));
    list.push({ tid, pid, ppid, startUp, lastSeenUp: up, names: [{ fromUp: startUp, comm }], cmdline });
  }

  /** Guest uptime (s) at a host time (ms since epoch), or undefined without any clock information. */
  hostMsToUptime(hostMs: number): number | undefined {
    if (this.opts.hostMsToUptime) return this.opts.hostMsToUptime(hostMs);
    if (Number.isFinite(this.hostOffsetMs)) return (hostMs - this.hostOffsetMs) / 1000;
    if (Number.isFinite(this.rtOffset)) return hostMs / 1000 - this.rtOffset;
    return undefined;
  }

  /** Host time (ms since epoch) of a guest uptime, by the same clock information. */
  uptimeToHostMs(up: number): number | undefined {
    if (Number.isFinite(this.hostOffsetMs)) return up * 1000 + this.hostOffsetMs;
    if (Number.isFinite(this.rtOffset)) return (up + this.rtOffset) * 1000;
    return undefined;
  }

  private taskAt(tid: number, up: number | undefined): ProbeTask | undefined {
    const list = this.tasks.get(tid);
    if (!list || list.length === 0) return undefined;
    if (up === undefined) return list[list.length - 1];
    let best: ProbeTask | undefined;
    for (const t of list) if (t.startUp <= up + 0.01) best = t;
    return best ?? list[0];
  }

  private nameOf(t: ProbeTask, up: number | undefined): string {
    let comm = t.names[0].comm;
    for (const n of t.names) if (up === undefined || n.fromUp <= up + 0.01) comm = n.comm;
    // comm is cut at 15 characters: a longer argv[0] basename with the same prefix is the full name
    if (comm.length === COMM_MAX && t.cmdline) {
      const argv0 = t.cmdline.split(' ')[0].split('/').pop() ?? '';
      if (argv0.length > COMM_MAX && argv0.startsWith(comm)) return argv0;
    }
    return comm;
  }

  /** Name of guest task `tid` at host time `hostMs` (the task holding that id then), or its latest name. */
  nameAt(tid: number, hostMs?: number): string | undefined {
    const up = hostMs === undefined ? undefined : this.hostMsToUptime(hostMs);
    const t = this.taskAt(tid, up);
    return t ? this.nameOf(t, up) : undefined;
  }

  /** The task (lifetime) holding `tid` at `hostMs`, or the latest. */
  taskAtHost(tid: number, hostMs?: number): ProbeTask | undefined {
    return this.taskAt(tid, hostMs === undefined ? undefined : this.hostMsToUptime(hostMs));
  }

  /** All lifetimes of one task id, in order. */
  lifetimes(tid: number): ProbeTask[] {
    return [...(this.tasks.get(tid) ?? [])];
  }

  /** Distinct task ids ever seen. */
  get taskIds(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  /** Samples in uptime order. */
  samples(): ProbeSampleFacts[] {
    return [...this.samplesBySeq.values()].sort((a, b) => a.uptime - b.uptime);
  }

  private inWindow(up: number, w: ProbeWindow | undefined): boolean {
    if (!w) return true;
    if (w.fromMs !== undefined) {
      const f = this.hostMsToUptime(w.fromMs);
      if (f !== undefined && up < f) return false;
    }
    if (w.toMs !== undefined) {
      const t = this.hostMsToUptime(w.toMs);
      if (t !== undefined && up > t + 1) return false;
    }
    return true;
  }

  /**
   * CPU share (0..1 of one CPU) of task `tid` per sample interval: [{uptime, share}], for the samples in which the
   * task was alive (a live task absent from a sample's top list used no CPU in that interval).
   */
  cpuSeries(tid: number, w?: ProbeWindow): { uptime: number; share: number; state?: string }[] {
    const out: { uptime: number; share: number; state?: string }[] = [];
    for (const s of this.samples()) {
      if (s.dtSec <= 0 || !this.inWindow(s.uptime, w)) continue;
      const t = this.taskAt(tid, s.uptime);
      if (!t || t.startUp > s.uptime || (t.goneUp !== undefined && t.goneUp < s.uptime)) continue;
      const c = s.cpu.get(tid);
      out.push({ uptime: s.uptime, share: c ? c.ticks / 100 / s.dtSec : 0, state: c?.state });
    }
    return out;
  }

  /** Mean CPU share of `tid` over the samples in the window (or all samples), or undefined if never sampled alive. */
  cpuShare(tid: number, w?: ProbeWindow): number | undefined {
    const series = this.cpuSeries(tid, w);
    if (series.length === 0) return undefined;
    return series.reduce((a, s) => a + s.share, 0) / series.length;
  }

  /** Hot-task details of `tid` in the window. */
  hotOf(tid: number, w?: ProbeWindow): ProbeHotFacts[] {
    return this.hots.filter((h) => h.tid === tid && this.inWindow(h.uptime, w));
  }

  /** Tasks by CPU used over the window (ticks summed over samples), highest first. */
  hottest(w?: ProbeWindow, n = 5): { tid: number; name?: string; ticks: number; share: number }[] {
    const ticks = new Map<number, number>();
    let span = 0;
    for (const s of this.samples()) {
      if (s.dtSec <= 0 || !this.inWindow(s.uptime, w)) continue;
      span += s.dtSec;
      for (const [tid, c] of s.cpu) ticks.set(tid, (ticks.get(tid) ?? 0) + c.ticks);
    }
    return [...ticks.entries()]
      .filter(([tid]) => tid !== this.probePid)
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([tid, t]) => ({ tid, name: this.nameAt(tid), ticks: t, share: span > 0 ? t / 100 / span : 0 }));
  }

  /**
   * One line on what the probe saw of task `tid`: `state R, 99% CPU, in syscall newfstatat (262), wchan
   * request_wait_answer`. State, syscall and wchan are the most frequent values among the task's hot-task details
   * in the window (state from the top lists otherwise). Undefined when the probe never saw the task.
   */
  describe(tid: number, w?: ProbeWindow): string | undefined {
    const series = this.cpuSeries(tid, w);
    const hots = this.hotOf(tid, w);
    if (series.length === 0 && hots.length === 0) return undefined;
    const parts: string[] = [];
    const state =
      mode(hots.map((h) => h.state)) ?? mode(series.map((s) => s.state).filter((s) => s !== undefined));
    if (state) parts.push(`state ${state}`);
    const share = this.cpuShare(tid, w);
    if (share !== undefined) parts.push(`${Math.round(share * 100)}% CPU`);
    const sc = mode(hots.map((h) => h.syscall).filter((s): s is string => s !== undefined));
    if (sc) {
      const nr = hots.find((h) => h.syscall === sc && h.syscallNr !== null)?.syscallNr;
      parts.push(nr !== undefined && nr !== null ? `in syscall ${sc} (${nr})` : `in syscall ${sc}`);
    }
    const wchan = mode(hots.map((h) => h.wchan).filter(Boolean));
    if (wchan) parts.push(`wchan ${wchan}`);
    return parts.join(', ');
  }

  /** The guest task that sent FUSE request `unique` (tracepoint join), the latest one if uniques were reused. */
  fuseSender(unique: number): FuseSend | undefined {
    const l = this.fuseByUnique.get(unique);
    return l?.[l.length - 1];
  }

  /** The first captured send of every unique (for the join with virtiofsd's log). */
  *fuseSendsFirst(): Iterable<FuseSend> {
    for (const l of this.fuseByUnique.values()) if (l.length > 0) yield l[0];
  }

  /** The uniques seen in fuse_request_send lines. */
  fuseUniques(): Set<number> {
    return new Set(this.fuseByUnique.keys());
  }

  /** Number of FUSE sends captured from tracepoints. */
  get fuseSends(): number {
    let n = 0;
    for (const l of this.fuseByUnique.values()) n += l.length;
    return n;
  }

  /** The probe's own CPU use (from its records). */
  overhead(): ProbeOverhead | undefined {
    const o = this.overheadSamples;
    if (o.length === 0) return undefined;
    const last = o[o.length - 1];
    // schedstat nanoseconds when every sample has them (awk sampler): exact, unlike 1/100 s ticks
    const ns = o.every((s) => s.ns !== undefined);
    const shares = o.map((s) => (ns ? (s.ns ?? 0) / (s.dtCs * 1e7) : s.selfTicks / s.dtCs));
    const cpuMs = ns
      ? o.reduce((a, s) => a + (s.ns ?? 0), 0) / 1e6
      : o.reduce((a, s) => a + s.selfTicks, 0) * 10;
    return {
      samples: o.length,
      basis: ns ? 'ns' : 'ticks',
      share: ns
        ? cpuMs / (o.reduce((a, s) => a + s.dtCs, 0) * 10)
        : last.span > 0
          ? last.total / last.span
          : 0,
      msPerSample: cpuMs / o.length,
      medianShare: median(shares),
      maxShare: Math.max(...shares),
      selfTicks: last.total,
      spanSec: last.span / 100,
    };
  }

  /** The latest sample (for "what is running now"). */
  get latestSample(): ProbeSampleFacts | undefined {
    return this.lastSample;
  }
}
