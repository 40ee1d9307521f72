/**
 * Pure, incremental handler for a bcvk-style `journalctl -f --since=@0 -o json` stream (one JSON object per line,
 * `journalctl`'s own stderr lines possibly mixed in, records repeated after a journalctl restart).
 *
 * journal JSON conventions (journalctl(1), systemd.journal-fields(7)):
 * - every value is a string; numbers too (`"_PID":"173"`, `"__REALTIME_TIMESTAMP":"1795749045243482"` µs);
 * - a value that is not valid UTF-8 (or has control characters) is an array of byte values;
 * - a field present several times in one record is an array of values; an oversized value is `null`.
 *
 * Times. For ordinary records `uptime` is `__MONOTONIC_TIMESTAMP` and `hostTime` `__REALTIME_TIMESTAMP`, both taken
 * by journald on reception. Kernel (`_TRANSPORT=kernel`) records are read from /dev/kmsg when journald starts,
 * so their reception time can be many seconds after the event (in the systemd fixture, `Linux version ...` at
 * uptime 0 is received at 15.0 s). For them `uptime` is `_SOURCE_MONOTONIC_TIMESTAMP` (the printk stamp) and
 * `hostTime` is shifted by the same amount, so `hostTime - uptime*1000` always equals the record's
 * `__REALTIME_TIMESTAMP - __MONOTONIC_TIMESTAMP` (what `src/analyze/clock.ts` uses). `hostTime` is the GUEST's
 * wall clock (QEMU sets the RTC from the host at boot).
 */

import { anchorOf, classifySystemdMessage, stripControl } from './console.js';
import type { GuestLine, ProgressBeacon, ProgressKind } from './guest-events.js';

export interface JournalParserOptions {
  /** Extra progress patterns, tested against MESSAGE when no built-in beacon matched. */
  progressPatterns?: RegExp[];
}

export interface JournalStats {
  /** Lines given to {@link JournalParser.pushLine} (including blank and non-JSON ones). */
  lines: number;
  /** Blank lines. */
  blank: number;
  /** Lines that are not JSON (journalctl stderr, torn writes). */
  nonJson: number;
  /** The first few non-JSON lines, for the report. */
  nonJsonSamples: { line: number; text: string }[];
  /** JSON values that are not journal records (not an object). */
  invalid: number;
  /** Records skipped because their `__CURSOR` was already seen. */
  duplicates: number;
  /** Records turned into events. */
  records: number;
  /** Records without MESSAGE (still turned into events, with empty text). */
  noMessage: number;
  /** Distinct `_BOOT_ID`s in order of first appearance. */
  bootIds: string[];
  beacons: Partial<Record<ProgressKind, number>>;
}

export interface JournalParser {
  /** Parse one line of the stream: JSON.parse + {@link pushRecord}; counts blank and non-JSON lines. */
  pushLine(line: string, lineNo: number): GuestLine | null;
  /** Handle one already-parsed JSON value. Returns null for duplicates and non-records. */
  pushRecord(obj: unknown, lineNo: number): GuestLine | null;
  readonly stats: JournalStats;
}

const MAX_NON_JSON_SAMPLES = 5;
const utf8 = new TextDecoder('utf-8', { fatal: false });

function isByteArray(v: unknown[]): v is number[] {
  return v.length > 0 && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255);
}

/** Decode a journal JSON field value: string, byte array, multi-valued array (first value), null. */
export function fieldText(v: unknown): string | undefined {
  // Iterative, and only a few levels deep: a record nested 10,000 levels must not overflow the stack.
  let x = v;
  for (let depth = 0; depth < 4; depth++) {
    if (typeof x === 'string') return x;
    if (typeof x === 'number') return String(x);
    if (!Array.isArray(x)) return undefined;
    if (x.length === 0) return '';
    if (isByteArray(x)) return utf8.decode(Uint8Array.from(x));
    x = x[0];
  }
  return undefined;
}

function fieldInt(v: unknown): number | undefined {
  const s = fieldText(v);
  if (s === undefined || !/^\d{1,16}$/.test(s)) return undefined;
  return Number(s);
}

function cleanMessage(s: string): string {
  // Keep embedded newlines (multi-line messages) but no CR or terminal control.
  return s
    .split('\n')
    .map((l) => stripControl(l.replace(/\r/g, '')))
    .join('\n')
    .trim();
}

/**
 * Records already seen, by `__CURSOR`. A journald cursor carries the journal's sequence-number id (`s=`) and the
 * record's sequence number (`i=`, hex, consecutive from 1): one bit per sequence number per id keeps the memory at
 * 1/8 byte per record instead of one string per record. Cursors without them fall back to a capped string set.
 */
export class CursorSet {
  private readonly bits = new Map<string, Uint8Array>();
  private readonly other = new Set<string>();

  has(cursor: string): boolean {
    const k = parseCursor(cursor);
    if (k === null) return this.other.has(cursor);
    const b = this.bits.get(k.id);
    return b !== undefined && k.seq >> 3 < b.length && (b[k.seq >> 3] & (1 << (k.seq & 7))) !== 0;
  }

  add(cursor: string): void {
    const k = parseCursor(cursor);
    if (k === null) {
      if (this.other.size >= 1_000_000) this.other.delete(this.other.values().next().value as string);
      this.other.add(cursor);
      return;
    }
    let b = this.bits.get(k.id);
    const need = (k.seq >> 3) + 1;
    if (b === undefined || b.length < need) {
      const grown = new Uint8Array(Math.max(need, (b?.length ?? 64) * 2));
      if (b) grown.set(b);
      b = grown;
      this.bits.set(k.id, b);
    }
    b[k.seq >> 3] |= 1 << (k.seq & 7);
  }
}

/** `s=<id>;i=<hex seqnum>;...` → id and seqnum, or null (unknown layout, or a seqnum too large for a bitmap). */
function parseCursor(cursor: string): { id: string; seq: number } | null {
  const m = /(?:^|;)s=([0-9a-f]+);i=([0-9a-f]+)(?:;|$)/.exec(cursor);
  if (!m) return null;
  const seq = Number.parseInt(m[2], 16);
  return Number.isSafeInteger(seq) && seq < 2 ** 31 ? { id: m[1], seq } : null;
}

export function createJournalParser(opts: JournalParserOptions = {}): JournalParser {
  const patterns = opts.progressPatterns ?? [];
  const seen = new CursorSet();
  const boots = new Set<string>();
  const stats: JournalStats = {
    lines: 0,
    blank: 0,
    nonJson: 0,
    nonJsonSamples: [],
    invalid: 0,
    duplicates: 0,
    records: 0,
    noMessage: 0,
    bootIds: [],
    beacons: {},
  };

  function pushRecord(obj: unknown, lineNo: number): GuestLine | null {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      stats.invalid++;
      return null;
    }
    const r = obj as Record<string, unknown>;
    const cursor = fieldText(r['__CURSOR']);
    if (cursor !== undefined) {
      if (seen.has(cursor)) {
        stats.duplicates++;
        return null;
      }
      seen.add(cursor);
    }
    stats.records++;
    const rawMsg = fieldText(r['MESSAGE']);
    if (rawMsg === undefined) stats.noMessage++;
    const text = rawMsg === undefined ? '' : cleanMessage(rawMsg);
    const ev: GuestLine = { source: 'journal', line: lineNo, text };

    const realtimeUs = fieldInt(r['__REALTIME_TIMESTAMP']);
    const monoUs = fieldInt(r['__MONOTONIC_TIMESTAMP']);
    const transport = fieldText(r['_TRANSPORT']);
    const sourceMonoUs = transport === 'kernel' ? fieldInt(r['_SOURCE_MONOTONIC_TIMESTAMP']) : undefined;
    if (monoUs !== undefined) {
      const eventMono = sourceMonoUs ?? monoUs;
      ev.uptime = eventMono / 1e6;
      if (realtimeUs !== undefined) ev.hostTime = (realtimeUs - (monoUs - eventMono)) / 1000;
    } else if (realtimeUs !== undefined) {
      ev.hostTime = realtimeUs / 1000;
    }

    const pid = fieldInt(r['_PID']) ?? fieldInt(r['SYSLOG_PID']);
    if (pid !== undefined) ev.pid = pid;
    const comm = fieldText(r['_COMM']) ?? fieldText(r['SYSLOG_IDENTIFIER']);
    if (comm !== undefined) ev.comm = comm;
    const unit = fieldText(r['UNIT']) ?? fieldText(r['USER_UNIT']) ?? fieldText(r['_SYSTEMD_UNIT']);
    if (unit !== undefined) ev.unit = unit;
    const boot = fieldText(r['_BOOT_ID']);
    if (boot !== undefined) {
      ev.bootId = boot;
      if (!boots.has(boot)) {
        boots.add(boot);
        stats.bootIds.push(boot);
      }
    }
    const prio = fieldInt(r['PRIORITY']);
    if (prio !== undefined) ev.priority = prio;

    const ident = fieldText(r['SYSLOG_IDENTIFIER']);
    if (ident !== undefined) ev.ident = ident;
    let progress: ProgressBeacon | undefined;
    if (pid === 1 && (ident === 'systemd' || comm === 'systemd')) {
      progress = classifySystemdMessage(text);
      const u = fieldText(r['UNIT']);
      if (progress && u && !progress.unit) progress.unit = u;
    } else if (transport === 'kernel') {
      if (/^reboot: (Power down|Restarting system|System halted)$/.test(text)) {
        progress = { kind: 'poweroff', subject: text, isProgress: true };
      }
    }
    const anchor = anchorOf(text);
    if (anchor) ev.anchor = anchor;
    if (!progress && patterns.length) {
      for (const re of patterns) {
        re.lastIndex = 0;
        const m = re.exec(text);
        if (m) {
          progress = { kind: 'pattern', subject: (m[1] ?? m[0]).trim(), isProgress: true };
          break;
        }
      }
    }
    if (progress) {
      ev.progress = progress;
      if (progress.unit) ev.unit = progress.unit;
      stats.beacons[progress.kind] = (stats.beacons[progress.kind] ?? 0) + 1;
    }
    return ev;
  }

  function pushLine(line: string, lineNo: number): GuestLine | null {
    stats.lines++;
    const t = line.trim();
    if (t === '') {
      stats.blank++;
      return null;
    }
    let obj: unknown;
    // Cheap pre-check: journal records always start with `{`; avoids throwing for most stderr lines.
    if (t.charCodeAt(0) === 0x7b) {
      try {
        obj = JSON.parse(t);
      } catch {
        obj = undefined;
      }
    }
    if (obj === undefined) {
      stats.nonJson++;
      if (stats.nonJsonSamples.length < MAX_NON_JSON_SAMPLES) {
        stats.nonJsonSamples.push({ line: lineNo, text: stripControl(t).slice(0, 200) });
      }
      return null;
    }
    return pushRecord(obj, lineNo);
  }

  return { pushLine, pushRecord, stats };
}
