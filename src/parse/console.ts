/**
 * Pure, incremental parser for guest serial-console lines (raw `console.txt`, host-stamped copies, the lab's debug
 * port). One call per physical line (split on `\n` only; CRs are handled here).
 *
 * What real consoles contain (systemd 252 on ttyS0, see fixtures/lab/*systemd-boot*):
 * - lines end in `\r\r\n` (systemd status) or `\r\n` (kernel); the host-stamped copy has one CR less;
 * - ANSI SGR colour (`\x1b[0;32m`), erase-line `\x1b[K`, reverse index `\x1bM` (spinner rewrite: the line after a
 *   spinner frame starts with `\x1bM\r\x1b[K`);
 * - a kernel message can land in the middle of a status line after a bare `\r`:
 *   `[  OK  ] Stopped target ... Remote File Systems.\r[   50.024864] ata3.00: LPM support broken...`;
 * - `…` (UTF-8) inside truncated unit names.
 *
 * `\r` handling: the line is split on `\r` and every segment that still has visible text after removing control
 * sequences becomes its own {@link GuestLine} (same line number). On a terminal the last segment would overwrite
 * the earlier ones, but the earlier ones were real output (a status line, a spinner frame) and dropping them would
 * lose e.g. a `Reached target` that a kernel message happened to overwrite. Consumers wanting "what the terminal
 * showed" take the last element of the array `push` returns.
 */

import type {
  ClockAnchorKind,
  GuestLine,
  GuestSource,
  ProgressBeacon,
  ProgressKind,
} from './guest-events.js';

export interface ConsoleParserOptions {
  /** Extra progress patterns, tested against the cleaned text when no built-in beacon matched. */
  progressPatterns?: RegExp[];
  /** Source tag for produced events (default `console`). */
  source?: Extract<GuestSource, 'console' | 'debug-port'>;
}

export interface ConsoleStats {
  /** Physical lines pushed. */
  lines: number;
  /** Events produced (a line with a mid-line `\r` rewrite can give more than one). */
  events: number;
  /** Lines with no visible text. */
  blank: number;
  /** Lines carrying a host time stamp prefix. */
  hostStamped: number;
  /** Events with a kernel `[  1.234567]` stamp. */
  kernelStamped: number;
  /** Events with a lab `[guest 1.23]` stamp. */
  labStamped: number;
  /** Lines that held more than one visible `\r`-separated segment. */
  crSplit: number;
  /** Events with a progress beacon, by kind. */
  beacons: Partial<Record<ProgressKind, number>>;
}

export interface ConsoleParser {
  /** Parse one physical line (without its `\n`). Returns zero or more events, in order of appearance. */
  push(line: string, lineNo: number): GuestLine[];
  readonly stats: ConsoleStats;
}

// ---------------------------------------------------------------------------------------------------------------
// Text cleaning

const CSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const OSC_RE = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
const ESC_RE = /\x1b[ -/]*[0-~]?/g;
const C0_RE = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * systemd ellipsizes unit names on the console byte-wise, and the cut can swallow the ESC of a colour sequence:
 * `modprobe@dm_mod.s…[0m - Load Kernel Module dm_mod...` (real bytes, systemd 252). Drop such remnants after `…`.
 */
const ORPHAN_SGR_RE = /…\[[0-9;]*m/g;

/** Remove ANSI/VT100 control sequences and C0 control characters (tab becomes a space). */
export function stripControl(s: string): string {
  let t = s;
  if (/[\x00-\x1f\x7f]/.test(t)) {
    t = t.replace(OSC_RE, '').replace(CSI_RE, '').replace(ESC_RE, '').replace(/\t/g, ' ').replace(C0_RE, '');
  }
  return t.includes('…[') ? t.replace(ORPHAN_SGR_RE, '…') : t;
}

// ---------------------------------------------------------------------------------------------------------------
// Time stamps

const HOST_BRACKET_RE =
  /^\[(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?\] ?/;
const HOST_ISO_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d) /;

function hostMs(m: RegExpExecArray): number {
  const base = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  let tz = 0;
  const z = m[8];
  if (z && z !== 'Z') {
    const digits = z.replace(':', '');
    const sign = digits[0] === '-' ? -1 : 1;
    tz = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000;
  }
  return base + frac - tz;
}

/**
 * Parse a host time stamp prefix: `[2026-11-27 02:50:39.886243+0000] ` (lab stamper, C virtiofsd format) or
 * `2026-11-27T02:50:39.886243Z ` (ISO). Returns ms since the epoch (fractional) and the prefix length.
 */
export function parseHostStamp(line: string): { ms: number; length: number } | undefined {
  if (line.length < 20) return undefined;
  const c = line.charCodeAt(0);
  if (c === 0x5b /* [ */) {
    const m = HOST_BRACKET_RE.exec(line);
    if (m) return { ms: hostMs(m), length: m[0].length };
  } else if (c >= 0x30 && c <= 0x39) {
    const m = HOST_ISO_RE.exec(line);
    if (m) return { ms: hostMs(m), length: m[0].length };
  }
  return undefined;
}

const KERNEL_STAMP_RE = /^\[\s*(\d+\.\d+)\](?:\[\s*[TC]\d+\])? ?/;
const LAB_STAMP_RE = /^\[([A-Za-z][\w-]*) (\d+(?:\.\d+)?)\] ?/;
const NAME_PID_RE = /^([^\s[\]:]{1,64})\[(\d{1,10})\]: ?(.*)$/s;

// ---------------------------------------------------------------------------------------------------------------
// systemd status classification

const UNIT_SUFFIXES = 'service|target|mount|socket|device|path|timer|slice|scope|swap|automount';
const UNIT_RE = new RegExp(`^([^\\s…]+?\\.(?:${UNIT_SUFFIXES}))(?: - |$)`);

/** The full unit name at the start of a status subject (`multi-user.target - Multi-User System`), if untruncated. */
export function unitOf(subject: string): string | undefined {
  const m = UNIT_RE.exec(subject);
  return m ? m[1] : undefined;
}

function cutSubject(s: string): string {
  return s.replace(/(?:\.\.\.|…|\.)$/, '').trim();
}

const OK_VERBS: [RegExp, ProgressKind][] = [
  [/^Started (.+)$/, 'unit-started'],
  [/^Finished (.+)$/, 'unit-finished'],
  [/^Reached target (.+)$/, 'target-reached'],
  [/^Stopped target (.+)$/, 'unit-stopped'],
  [/^Stopped (.+)$/, 'unit-stopped'],
  [/^(?:Unmounted|Closed|Removed slice|Unset automount|Deactivated swap) (.+)$/, 'unit-stopped'],
  [
    /^(?:Mounted|Listening on|Created slice|Set up automount|Found device|Activated swap|Reloaded) (.+)$/,
    'unit-ok',
  ],
];
const STARTING_RE =
  /^(?:Starting|Mounting|Expecting device|Activating swap|Reloading|Setting up automount) (.+?)(?:\.\.\.|…)$/;
const STOPPING_RE = /^(?:Stopping|Unmounting|Deactivating swap|Closing|Removing slice) (.+?)(?:\.\.\.|…)$/;
const FAILED_VERBS_RE =
  /^(?:Failed to (?:start|mount|listen on|activate|stop|set up automount|create slice) |Dependency failed for |Timed out waiting for (?:device )?|Failed unmounting )(.+)$/;
const SPINNER_RE = /^\[[ *]{6}\] (.+)$/;
const JOB_RUNNING_RE =
  /^(?:\(\d+ of \d+\) )?(?:A (start|stop|reload|restart|verify-active) job is running for (.+)|Job (.+)\/(start|stop|reload|restart|verify-active) running) \(([^/()]+?) \/ ([^()]+?)\)$/;
const LOGIN_RE = /^[\w.-]+ login: ?$/;

const DURATION_UNITS: Record<string, number> = {
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  month: 2629800,
  y: 31557600,
};

/** Parse a systemd timespan as printed by the spinner (`1min 30s`, `13s`, `10min 1s`); `no limit` → null. */
export function parseSystemdTimespan(s: string): number | null | undefined {
  const t = s.trim();
  if (t === 'no limit' || t === 'infinity') return null;
  let total = 0;
  let matched = false;
  let rest = t;
  const re = /^(\d+(?:\.\d+)?)(us|µs|ms|s|min|h|d|w|month|y) ?/;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = true;
    rest = rest.slice(m[0].length);
  }
  return matched ? total : undefined;
}

function beacon(kind: ProgressKind, subject: string, unit?: string): ProgressBeacon {
  const b: ProgressBeacon = {
    kind,
    subject,
    isProgress: kind !== 'start-job-waiting' && kind !== 'stop-job-waiting',
  };
  if (unit) b.unit = unit;
  if (kind === 'unit-failed') b.isFailure = true;
  return b;
}

function spinnerBeacon(rest: string): ProgressBeacon | undefined {
  const m = JOB_RUNNING_RE.exec(rest);
  if (!m) return undefined;
  const jobType = m[1] ?? m[4];
  const subject = (m[2] ?? m[3]).trim();
  const b = beacon(
    jobType === 'stop' ? 'stop-job-waiting' : 'start-job-waiting',
    subject,
    m[3] ? unitOf(m[3]) : undefined,
  );
  const waited = parseSystemdTimespan(m[5]);
  if (typeof waited === 'number') b.waitedS = waited;
  const limit = parseSystemdTimespan(m[6]);
  if (limit !== undefined) b.limitS = limit;
  return b;
}

/**
 * Classify a systemd manager message as written to the journal or kmsg by PID 1 (`Started X - D.`, `Reached
 * target X - D.`, `Starting X - D...`, `Failed to start X - D.`), or a job spinner text.
 */
export function classifySystemdMessage(text: string): ProgressBeacon | undefined {
  const t = text.trim();
  for (const [re, kind] of OK_VERBS) {
    const m = re.exec(t);
    if (m) {
      const subject = cutSubject(m[1]);
      return beacon(kind, subject, unitOf(subject));
    }
  }
  let m = STARTING_RE.exec(t);
  if (m) return beacon('unit-starting', m[1].trim(), unitOf(m[1].trim()));
  m = STOPPING_RE.exec(t);
  if (m) return beacon('unit-stopping', m[1].trim(), unitOf(m[1].trim()));
  m = FAILED_VERBS_RE.exec(t);
  if (m) {
    const subject = cutSubject(m[1]);
    return beacon('unit-failed', subject, unitOf(subject));
  }
  return spinnerBeacon(t);
}

/** Classify a console status line (`[  OK  ] Started X.`, `         Starting X...`, spinner frames). */
export function classifyStatusLine(text: string): ProgressBeacon | undefined {
  const t = text.trim();
  if (t.startsWith('[')) {
    const tag = t.slice(0, 8);
    const rest = t.slice(8).trim();
    if (tag === '[  OK  ]') {
      for (const [re, kind] of OK_VERBS) {
        const m = re.exec(rest);
        if (m) {
          const subject = cutSubject(m[1]);
          return beacon(kind, subject, unitOf(subject));
        }
      }
      return beacon('unit-ok', cutSubject(rest), undefined);
    }
    if (tag === '[FAILED]' || tag === '[DEPEND]' || tag === '[ TIME ]') {
      const m = FAILED_VERBS_RE.exec(rest);
      const subject = cutSubject(m ? m[1] : rest);
      return beacon('unit-failed', subject, unitOf(subject));
    }
    const s = SPINNER_RE.exec(t);
    if (s) return spinnerBeacon(s[1].trim());
    return undefined;
  }
  let m = STARTING_RE.exec(t);
  if (m) return beacon('unit-starting', m[1].trim(), unitOf(m[1].trim()));
  m = STOPPING_RE.exec(t);
  if (m) return beacon('unit-stopping', m[1].trim(), unitOf(m[1].trim()));
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Anchors and other markers

const FUSE_INIT_RE = /^fuse: init \(API version \d+\.\d+\)/;
const VIRTIOFS_PROBE_RE = /^virtiofs virtio\d+: /;
const MOUNTED_RES = [
  /^mounted virtiofs\b/,
  /^virtiofs root mounted\b/,
  /^VFS: Mounted root \(virtiofs filesystem\)/,
  /^Mounted sysroot\.mount\b/,
];

export function anchorOf(body: string): ClockAnchorKind | undefined {
  if (FUSE_INIT_RE.test(body)) return 'fuse-module-init';
  if (VIRTIOFS_PROBE_RE.test(body)) return 'virtiofs-probe';
  for (const re of MOUNTED_RES) if (re.test(body)) return 'virtiofs-mounted';
  return undefined;
}

const POWEROFF_KERNEL_RE = /^reboot: (Power down|Restarting system|System halted)$/;

function matchPatterns(text: string, patterns: RegExp[]): ProgressBeacon | undefined {
  for (const re of patterns) {
    re.lastIndex = 0;
    const m = re.exec(text);
    if (m) return beacon('pattern', (m[1] ?? m[0]).trim());
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------

/** Parse one already-cleaned segment (no host stamp, no control characters). */
function parseSegment(
  seg: string,
  source: GuestSource,
  lineNo: number,
  hostTime: number | undefined,
  patterns: RegExp[],
  stats: ConsoleStats,
): GuestLine {
  let body = seg.trim();
  const ev: GuestLine = { source, line: lineNo, text: body };
  if (hostTime !== undefined) ev.hostTime = hostTime;
  let stamped: 'kernel' | 'lab' | undefined;
  let m = KERNEL_STAMP_RE.exec(body);
  if (m) {
    ev.uptime = Number(m[1]);
    body = body.slice(m[0].length).trim();
    stamped = 'kernel';
    stats.kernelStamped++;
  } else if ((m = LAB_STAMP_RE.exec(body))) {
    ev.tag = m[1];
    ev.uptime = Number(m[2]);
    body = body.slice(m[0].length).trim();
    stamped = 'lab';
    stats.labStamped++;
  }
  ev.text = body;

  let progress: ProgressBeacon | undefined;
  const np = NAME_PID_RE.exec(body);
  if (np) {
    ev.comm = np[1];
    ev.pid = Number(np[2]);
    const msg = np[3];
    if (ev.comm === 'systemd' || ev.comm === 'init') progress = classifySystemdMessage(msg);
    else if (ev.comm === 'systemd-shutdown' && /^Powering off\.?$/.test(msg))
      progress = beacon('poweroff', msg);
    ev.anchor = anchorOf(msg);
  } else if (stamped === 'kernel') {
    const pm = POWEROFF_KERNEL_RE.exec(body);
    if (pm) progress = beacon('poweroff', pm[0]);
    ev.anchor = anchorOf(body);
  } else if (stamped === 'lab') {
    if (body === 'poweroff') progress = beacon('poweroff', body);
    ev.anchor = anchorOf(body);
  } else {
    progress = classifyStatusLine(body);
    if (!progress && LOGIN_RE.test(body)) progress = beacon('login-prompt', body);
    if (
      progress?.kind === 'unit-ok' &&
      /^Mounted sysroot\.mount\b/.test(body.replace(/^\[ {2}OK {2}\] /, ''))
    ) {
      ev.anchor = 'virtiofs-mounted';
    }
  }
  if (!progress && patterns.length) progress = matchPatterns(body, patterns);
  if (progress) {
    ev.progress = progress;
    if (progress.unit) ev.unit = progress.unit;
    stats.beacons[progress.kind] = (stats.beacons[progress.kind] ?? 0) + 1;
  }
  if (!ev.anchor) delete ev.anchor;
  return ev;
}

export function createConsoleParser(opts: ConsoleParserOptions = {}): ConsoleParser {
  const source = opts.source ?? 'console';
  const patterns = opts.progressPatterns ?? [];
  const stats: ConsoleStats = {
    lines: 0,
    events: 0,
    blank: 0,
    hostStamped: 0,
    kernelStamped: 0,
    labStamped: 0,
    crSplit: 0,
    beacons: {},
  };
  return {
    stats,
    push(line: string, lineNo: number): GuestLine[] {
      stats.lines++;
      let rest = line;
      let hostTime: number | undefined;
      const hs = parseHostStamp(rest);
      if (hs) {
        hostTime = hs.ms;
        rest = rest.slice(hs.length);
        stats.hostStamped++;
      }
      const out: GuestLine[] = [];
      const segments = rest.includes('\r') ? rest.split('\r') : [rest];
      for (const raw of segments) {
        const seg = stripControl(raw);
        if (!/\S/.test(seg)) continue;
        out.push(parseSegment(seg, source, lineNo, hostTime, patterns, stats));
      }
      if (out.length === 0) stats.blank++;
      else if (out.length > 1) stats.crSplit++;
      stats.events += out.length;
      return out;
    },
  };
}
