/**
 * Terminal rendering of a post-mortem: cli-table3 tables coloured with chalk, readable at 80 columns.
 * Pure: (analysis, style) → string. Colour is decided by the caller through the chalk instance passed in.
 */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Correlation } from '../analyze/correlate.js';
import type { GuestResult } from '../analyze/guest-session.js';
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';
import type { Verdict } from '../verdict/types.js';
import { clip, duration, int, pct, rate, shortenSignatures, sparkline, utc, wrap } from './format.js';
import { inferredUnitText, waitingText } from './model.js';

export interface TerminalOptions {
  chalk: ChalkInstance;
  /** Rows per table. */
  top: number;
  /** Rows of the recent-activity table (0 hides it). */
  recent: number;
  width: number;
  /** Optional PID → label (e.g. "1180 (systemd-journald)"). */
  pidLabel?: (pid: number) => string;
  guest?: GuestResult | null;
  correlation?: Correlation | null;
  verdict?: Verdict | null;
}

const VERDICT_STYLE: Record<Verdict['kind'], 'red' | 'yellow' | 'green' | 'cyan'> = {
  livelock: 'red',
  deadlock: 'red',
  stall: 'red',
  busy: 'cyan',
  healthy: 'green',
  inconclusive: 'yellow',
};

/** Loop episodes listed under the verdict (the rest is in --json). */
const EPISODES_SHOWN = 3;
/** Tokens of an episode's signature shown in the terminal (--json has them all). */
const EPISODE_TOKENS = 8;

/** The verdict first: kind, title, why, who, what the guest waits on, and the loop episodes of the run. */
function verdictLines(v: Verdict, o: TerminalOptions, day: number | null): string[] {
  const c = o.chalk;
  const paint = c[VERDICT_STYLE[v.kind]].bold;
  const w = Math.max(40, Math.min(o.width, 100) - 9);
  const pad = (lines: string[]) => lines.map((l) => `         ${l}`);
  const out = [
    `${paint(`Verdict  ${v.kind.toUpperCase()}`)} ${c.dim(`(confidence ${Math.round(v.confidence * 100)}%${v.hostOnly ? ', virtiofsd log only' : ''})`)}`,
    ...pad(wrap(v.title, w)).map((l) => paint(l)),
    ...pad(wrap(v.reason, w)),
  ];
  for (const cu of v.culprits.slice(0, 3)) {
    const who = cu.name ? `${cu.pid} (${cu.name})` : (o.pidLabel?.(cu.pid) ?? String(cu.pid));
    const inferred = inferredUnitText(cu);
    out.push(
      ...field(
        'Culprit',
        `pid ${who}${inferred ? ` (${inferred})` : ''}: ${int(cu.requests)} requests, ${pct(cu.share)} of the window${cu.detail ? `, ${cu.detail}` : ''}`,
        o,
      ),
    );
  }
  if (v.loop) {
    out.push(
      ...field(
        'Loop',
        `${v.loop.tokens.join(' → ')} (period ${v.loop.period}) ×${int(v.loop.repetitions)} at ${rate(v.loop.ratePerSec)}/s`,
        o,
      ),
    );
  }
  const lp = v.criticalTransition?.lastProgress;
  if (lp)
    out.push(
      ...field(
        'Before',
        `last guest progress ${lp.time === null ? '' : `at ${utc(lp.time)} `}— ${lp.text}`,
        o,
      ),
    );
  for (const w of (v.waitingOn ?? []).slice(0, 3))
    out.push(...field('Waiting', waitingText(w, day), o).map((l) => c.yellow(l)));
  out.push(...episodeLines(v, o, day));
  return out;
}

/** `Episodes 2 loops seen in the run, longest first:` then one wrapped line per episode (its summary). */
function episodeLines(v: Verdict, o: TerminalOptions, day: number | null): string[] {
  const eps = v.episodes ?? [];
  if (eps.length === 0) return [];
  const c = o.chalk;
  const w = Math.max(40, Math.min(o.width, 100) - 9);
  const out = field(
    'Episodes',
    `${eps.length} loop episode${eps.length === 1 ? '' : 's'} in the run${eps.length > 1 ? ', longest first' : ''}:`,
    o,
  );
  for (const e of eps.slice(0, EPISODES_SHOWN)) {
    const text = `${utc(e.start, day)}–${utc(e.end, day)} ${shortenSignatures(e.summary, EPISODE_TOKENS)}`;
    const lines = wrap(`- ${text}`, w).map((l, i) => `         ${i === 0 ? '' : '  '}${l}`);
    out.push(...(e.outcome === 'running' ? lines.map((l) => c.yellow(l)) : lines));
  }
  if (eps.length > EPISODES_SHOWN)
    out.push(c.dim(`         … ${eps.length - EPISODES_SHOWN} more (see --json)`));
  return out;
}

const DAEMON: Record<string, string> = {
  rust: 'Rust virtiofsd ≥ 1.2',
  'rust-legacy': 'Rust virtiofsd 1.0/1.1',
  c: 'C virtiofsd (QEMU)',
  libfuse: 'libfuse -d (a FUSE file system)',
  unknown: 'unknown format',
};

function table(head: string[], c: ChalkInstance, align?: ('left' | 'right')[]): Table.Table {
  return new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
    colAligns: align,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: ' ',
    },
  });
}

/** `Label    text`, wrapped with the text column kept (labels are 8 characters + a space). */
function field(label: string, text: string, o: TerminalOptions): string[] {
  const w = Math.max(40, Math.min(o.width, 100) - 9);
  return wrap(text, w).map((l, i) => `${i === 0 ? label.padEnd(8) : '        '} ${l}`);
}

function section(title: string, c: ChalkInstance): string {
  return `\n${c.bold.underline(title)}`;
}

export function renderTerminal(a: InputAnalysis, o: TerminalOptions): string {
  const c = o.chalk;
  const pidLabel = o.pidLabel ?? ((p: number) => String(p));
  const out: string[] = [];
  const k = a.lines.byKind;
  const noise =
    k.queue + k.lifecycle + k.transport + k.passthrough + k.init + k.warning + k.crash + k.other + k.blank;
  const t = a.totals;
  const day = a.time.first;
  out.push(
    c.bold(`${a.file}`) +
      c.dim(` — ${DAEMON[a.format.detected]}${a.format.forced !== 'auto' ? ' (forced)' : ''}`),
  );
  if (o.verdict) out.push(...verdictLines(o.verdict, o, day));
  out.push(
    `Lines    ${int(a.lines.total)}: ${int(k.request)} requests, ${int(k.reply)} replies, ${int(noise)} known noise, ` +
      (k.unrecognized > 0 ? c.yellow(`${int(k.unrecognized)} unrecognized`) : '0 unrecognized') +
      (a.lines.overlong > 0 ? c.yellow(`, ${int(a.lines.overlong)} overlong`) : ''),
  );
  if (a.time.first !== null) {
    const clock = a.clock.kind === 'monotonic' ? ' (monotonic clock)' : ' UTC';
    out.push(
      `Time     ${utc(a.time.first)} → ${utc(a.time.last, day)}${clock}, ${duration(a.time.durationSec)} at ${a.clock.resolution} resolution`,
    );
    out.push(
      `Rate     mean ${rate(a.rate.meanPerSec)} req/s, peak ${int(a.rate.peakPerSec)} req/s at ${utc(a.rate.peakAt, day)}`,
    );
  } else if (a.lines.total > 0) {
    out.push(
      'Time     no time stamps in this log: no rates, timeline or onsets (counts and pairing are exact)',
    );
  }
  const unanswered =
    t.unanswered > 0 ? c.red.bold(`${int(t.unanswered)} unanswered`) : c.green('0 unanswered');
  out.push(
    `Requests ${int(t.requests)}: ${int(t.repliesOk)} OK, ` +
      (t.repliesError > 0 ? c.yellow(`${int(t.repliesError)} errors`) : '0 errors') +
      `, ${int(t.noReply)} need no reply, ${unanswered}` +
      (t.orphanReplies > 0 ? `, ${int(t.orphanReplies)} replies without request` : ''),
  );
  out.push(
    `Spread   ${int(t.distinctPids)} PIDs, ${int(t.distinctInodes)} inodes; inode 1 (root) got ${pct(a.byInode.rootShare)} of requests` +
      (t.inits > 1 ? `; ${t.inits} INITs (guest reboots)` : ''),
  );
  for (const w of a.warnings) out.push(c.yellow(`warning: ${w}`));
  if (o.guest && o.correlation) out.push(...guestSection(o.guest, o.correlation, o));

  if (a.timeline.buckets.length > 1) {
    const width = Math.max(20, Math.min(o.width - 12, 100));
    const vals = a.timeline.buckets.map((b) => b.requests);
    out.push(
      section(`Requests over time (${a.timeline.bucketSec} s buckets, peak ${int(a.rate.peakPerSec)}/s)`, c),
    );
    out.push(
      `${c.dim(utc(a.timeline.buckets[0].t, day))} ${c.cyan(sparkline(vals, width))} ${c.dim(utc(a.timeline.buckets.at(-1)!.t, day))}`,
    );
  }

  if (o.correlation && o.correlation.timeline.rows.length > 0)
    out.push(...mergedTimeline(o.correlation, o, day));

  // By opcode
  {
    out.push(section('Requests by opcode', c));
    const tb = table(['opcode', 'requests', 'share', 'OK', 'errors', 'no reply', 'unanswered'], c, [
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ]);
    for (const r of a.byOpcode.slice(0, o.top)) {
      tb.push([
        `${r.name} (${r.opcode})`,
        int(r.requests),
        pct(t.requests ? r.requests / t.requests : 0),
        int(r.ok),
        r.errors ? c.yellow(int(r.errors)) : '0',
        int(r.noReply),
        r.unanswered ? c.red(int(r.unanswered)) : '0',
      ]);
    }
    out.push(tb.toString());
    if (a.byOpcode.length > o.top)
      out.push(c.dim(`  … ${a.byOpcode.length - o.top} more opcodes (--top, --json)`));
  }

  // By PID
  if (a.byPid.length > 0) {
    // libfuse: the callers are processes on the same machine as the file system, not a guest's.
    const who = a.format.detected === 'libfuse' ? 'caller thread ids' : 'guest thread ids';
    out.push(section(`Top PIDs (${who}; 0 = kernel)`, c));
    const tb = table(['pid', 'requests', 'share', 'errors', 'top opcodes'], c, [
      'left',
      'right',
      'right',
      'right',
      'left',
    ]);
    for (const r of a.byPid.slice(0, o.top)) {
      tb.push([
        clip(pidLabel(r.pid), 28),
        int(r.requests),
        pct(r.share),
        r.errors ? c.yellow(int(r.errors)) : '0',
        clip(r.topOpcodes.map((x) => `${x.name} ${int(x.requests)}`).join(', '), 36),
      ]);
    }
    out.push(tb.toString());
    if (a.byPid.length > o.top) out.push(c.dim(`  … ${a.byPid.length - o.top} more PIDs`));
  }

  // By inode
  {
    out.push(
      section(`Top inodes (${int(a.byInode.distinct)} distinct; root ${pct(a.byInode.rootShare)})`, c),
    );
    const withPaths = a.byInode.top.some((r) => r.paths && r.paths.length > 0);
    const head = withPaths
      ? ['inode', 'requests', 'share', 'path(s) at the time']
      : ['inode', 'requests', 'share'];
    const tb = table(head, c, ['right', 'right', 'right', 'left']);
    for (const r of a.byInode.top.slice(0, o.top)) {
      const row = [String(r.nodeid), int(r.requests), pct(r.share)];
      if (withPaths) {
        const p = r.paths ?? [];
        row.push(
          clip(p.map((x) => (p.length > 1 ? `${x.path} (${int(x.requests)})` : x.path)).join(', '), 40),
        );
      }
      tb.push(row);
    }
    out.push(tb.toString());
    if (a.format.detected === 'rust') {
      out.push(c.dim('  Rust logs a Lookup by its parent inode; the child shows up in later requests.'));
    }
  }

  // PID × opcode
  if (a.byPidOpcode.length > 0) {
    out.push(section('Top (PID, opcode) pairs', c));
    const tb = table(['pid', 'opcode', 'requests', 'share'], c, ['left', 'left', 'right', 'right']);
    for (const r of a.byPidOpcode.slice(0, Math.min(o.top, 10))) {
      tb.push([
        clip(pidLabel(r.pid), 28),
        r.name,
        int(r.requests),
        pct(t.requests ? r.requests / t.requests : 0),
      ]);
    }
    out.push(tb.toString());
  }

  // Errors
  if (a.errors.total > 0) {
    out.push(section(`Errors (${int(a.errors.total)} error replies)`, c));
    const tb = table(['opcode', 'errno', 'count'], c, ['left', 'left', 'right']);
    for (const r of a.errors.byOpcode.slice(0, o.top)) {
      tb.push([r.opcode >= 0 ? r.name : '?', `${r.errnoName} (-${r.errno})`, int(r.count)]);
    }
    out.push(tb.toString());
    out.push(c.dim(`  by errno: ${a.errors.byErrno.map((e) => `${e.name} ${int(e.count)}`).join(', ')}`));
  }

  // Unanswered
  if (t.unanswered > 0) {
    out.push(section(`Unanswered at end of log (${int(t.unanswered)}) — deadlock evidence`, c));
    const tb = table(['line', 'time', 'age', 'unique', 'opcode', 'inode', 'pid'], c, [
      'right',
      'left',
      'right',
      'right',
      'left',
      'right',
      'left',
    ]);
    for (const r of a.unanswered.slice(0, o.top)) {
      tb.push([
        String(r.line),
        utc(r.ts, day, a.clock.resolution !== 'second'),
        r.ageSec === null ? '—' : duration(r.ageSec),
        r.unique === null ? '—' : String(r.unique),
        r.name,
        String(r.nodeid),
        r.pid === null ? '—' : clip(pidLabel(r.pid), 24),
      ]);
    }
    out.push(tb.toString());
  }

  // Recent
  if (o.recent > 0 && a.recent.length > 0) {
    out.push(section(`Recent activity (last ${Math.min(o.recent, a.recent.length)} requests)`, c));
    const tb = table(['line', 'time', 'pid', 'opcode', 'inode', 'result'], c, [
      'right',
      'left',
      'left',
      'left',
      'right',
      'left',
    ]);
    for (const r of a.recent.slice(-o.recent)) {
      const res =
        r.result === 'ok'
          ? 'OK'
          : r.result === 'noreply'
            ? c.dim('no reply')
            : r.result === 'pending'
              ? c.red('pending')
              : c.yellow(r.result);
      tb.push([
        String(r.line),
        utc(r.ts, day, a.clock.resolution !== 'second'),
        r.pid === null ? '—' : clip(pidLabel(r.pid), 24),
        r.name,
        String(r.nodeid),
        res,
      ]);
    }
    out.push(tb.toString());
  }
  return `${out.join('\n')}\n`;
}

function guestSection(g: GuestResult, cor: Correlation, o: TerminalOptions): string[] {
  const c = o.chalk;
  const out: string[] = [];
  const inputs = g.inputs.map((i) => `${i.file.split('/').pop()} (${int(i.events)} events)`).join(', ');
  out.push(...field('Guest', inputs || 'no readable guest input', o));
  if (g.clock) {
    const zero = new Date(g.clock.offsetMs).toISOString().replace('T', ' ').slice(0, 23);
    out.push(
      ...field(
        'Clock',
        `guest uptime 0 = ${zero} UTC ±${duration(g.clock.uncertaintyMs / 1000)} (${g.clock.method}${g.clock.detail ? `: ${g.clock.detail}` : ''})`,
        o,
      ),
    );
  } else {
    out.push(
      c.yellow(
        'Clock    guest and host clocks not aligned (no journal, host stamps or mount anchor); --guest-offset sets it',
      ),
    );
  }
  const stalled = cor.afterLastProgress !== null && cor.afterLastProgress.requests > 0;
  const said = field(stalled ? 'Stall' : 'Progress', cor.summary, o);
  said[0] = (stalled ? c.red.bold(said[0].slice(0, 8)) : c.green(said[0].slice(0, 8))) + said[0].slice(8);
  out.push(...said);
  // The verdict's own "what the guest waits on" is printed with the verdict; don't say it twice.
  const waitingShown = (o.verdict?.waitingOn?.length ?? 0) > 0;
  for (const w of waitingShown ? [] : g.progress.waitingNow.slice(0, 3)) {
    out.push(
      c.yellow(
        `Waiting  ${w.subject}${w.maxWaitedS !== undefined ? ` (waited ${duration(w.maxWaitedS)})` : ''}`,
      ),
    );
  }
  const named = Object.keys(g.pidNames).filter((pid) => pid !== '0').length;
  if (named > 0) {
    const how = g.probe ? 'guest probe, journal, console' : 'journal _PID/_COMM, console name[pid]:';
    out.push(c.dim(`Names    ${named} PIDs named from the guest (${how})`));
  }
  if (g.probe) {
    const ov = g.probe.overhead;
    const fj = g.probe.fuseJoin;
    const join =
      fj && fj.guestSends > 0
        ? `; ${int(fj.matched)} of ${int(fj.guestSends)} traced guest requests found in the log by FUSE unique` +
          (fj.matched > 0 ? ` (${pct(fj.samePid / fj.matched, 0)} under the sending task's PID)` : '')
        : '';
    out.push(
      ...field(
        'Probe',
        `${int(g.probe.records)} records${g.probe.truncated ? `, ${g.probe.truncated} truncated` : ''}; fuse tracepoints ${g.probe.fuseTracepoints ?? 'unknown'}${join}${ov ? `; its own CPU ${pct(ov.share, 2)} of the guest's time (${ov.msPerSample.toFixed(1)} ms per sample${ov.basis === 'ticks' ? ', from 1/100 s ticks' : ''})` : ''}`,
        o,
      ),
    );
  }
  return out;
}

function mergedTimeline(cor: Correlation, o: TerminalOptions, day: number | null): string[] {
  const c = o.chalk;
  const rows = cor.timeline.rows;
  const out = [section(`Host and guest over time (${cor.timeline.rowSec} s rows)`, c)];
  const tb = table(['time', 'req/s', 'top opcode', 'top PID', 'guest'], c, [
    'left',
    'right',
    'left',
    'left',
    'left',
  ]);
  const lastT = cor.lastProgress?.time ?? null;
  for (const r of rows) {
    const g = r.guest.map((x) => (x.isProgress ? x.text : c.yellow(x.text)));
    let guest = g.length > 0 ? clip(g[0], Math.max(16, Math.min(o.width, 100) - 58)) : '';
    if (r.guestCount > 1) guest += c.dim(` +${r.guestCount - 1}`);
    const afterStall = lastT !== null && r.t > lastT && r.requests > 0;
    tb.push([
      utc(r.t, day),
      afterStall ? c.red(rate(r.perSec)) : rate(r.perSec),
      r.topOpcode ?? '',
      r.topPidLabel ? clip(r.topPidLabel, 20) : '',
      guest,
    ]);
  }
  out.push(tb.toString());
  return out;
}
