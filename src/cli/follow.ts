/**
 * `vfs-analyze --follow LOG [--console FILE] [--journal FILE] [--timeout S] [--json]`: the live view and verdicts
 * on a virtiofsd debug log someone else is writing (tail-follow from the start of the file, byte offsets, partial
 * last lines held back). A status line on stderr when it is a terminal; one line on stdout each time the verdict
 * changes kind; at the end (Ctrl-C, the daemon's session ending, or --timeout) the final verdict, or with --json
 * the analysis document. Exit 0 when the session ended or the timeout hit, 130 on Ctrl-C (after the summary).
 */

import { UsageError } from '../errors.js';
import { FileFollower } from '../io/follow.js';
import { writeStdout } from '../io/stdout.js';
import { InterruptScope } from '../launch/supervise.js';
import { renderJson } from '../report/json.js';
import { AnalysisSession, type LiveStatus } from '../session/analysis-session.js';
import { compactCount, hhmmss } from '../verdict/format.js';
import type { Verdict } from '../verdict/types.js';
import { version } from '../version.js';
import { parsePatterns } from './verdict-options.js';

export interface FollowArgs {
  log: string;
  console?: string[] | string;
  journal?: string[] | string;
  timeout?: number;
  json?: boolean;
  progressPattern?: string[];
  /** Polling interval of the files (ms). */
  followIntervalMs?: number;
  /** Verdict interval (ms). */
  verdictIntervalMs?: number;
}

function first(v: string[] | string | undefined): string | undefined {
  if (Array.isArray(v)) {
    if (v.length > 1) throw new UsageError('--follow: one --console and one --journal at most');
    return v[0];
  }
  return v;
}

function statusLine(st: LiveStatus, elapsedMs: number): string {
  const v = st.verdict;
  const last = st.lastMilestone ? ` · ${st.lastMilestone.text.slice(0, 40)}` : '';
  return `${(elapsedMs / 1000).toFixed(0)} s · ${compactCount(st.requests)} req · ${compactCount(
    Math.round(st.ratePerSec),
  )} req/s${last} · ${v.kind} (${Math.round(v.confidence * 100)}%)`;
}

function verdictLine(v: Verdict, now: number): string {
  return `${hhmmss(now)} ${v.title} (confidence ${Math.round(v.confidence * 100)}%)\n`;
}

/** Follow until the session ends, the timeout, or Ctrl-C. Returns the exit code. */
export async function runFollow(args: FollowArgs): Promise<number> {
  if (!args.log) throw new UsageError('--follow: a log file is required');
  if (args.timeout !== undefined && !(args.timeout > 0)) throw new UsageError('--timeout must be positive');
  const patterns = parsePatterns(args.progressPattern ?? []);
  const consoleFile = first(args.console);
  const journalFile = first(args.journal);
  const monitor = new AnalysisSession({
    progressPatterns: patterns,
    files: { virtiofsd: args.log, console: consoleFile, journal: journalFile },
  });
  const interval = args.followIntervalMs ?? 200;
  const followers = [
    new FileFollower(
      args.log,
      { data: (b) => monitor.virtiofsd(b), truncated: () => monitor.virtiofsdTruncated() },
      { intervalMs: interval },
    ),
  ];
  if (consoleFile) {
    followers.push(
      new FileFollower(
        consoleFile,
        { data: (b) => monitor.console(b), truncated: () => monitor.consoleTruncated() },
        { intervalMs: interval },
      ),
    );
  }
  if (journalFile) {
    followers.push(
      new FileFollower(
        journalFile,
        { data: (b) => monitor.journal(b), truncated: () => monitor.journalTruncated() },
        { intervalMs: interval },
      ),
    );
  }
  const tty = process.stderr.isTTY === true && !args.json;
  let wake = () => {};
  const scope = new InterruptScope(() => wake()).install();
  const started = Date.now();
  let lastKind = '';
  let code = 0;
  let shown = false;
  try {
    for (const f of followers) f.start();
    for (;;) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, args.verdictIntervalMs ?? 1000);
        if (scope.signal) r();
      });
      await Promise.all(followers.map((f) => f.poll()));
      const now = Date.now();
      const st = monitor.status(now);
      if (st.verdict.kind !== lastKind && !args.json && st.requests + st.guestLines > 0) {
        if (shown) process.stderr.write('\r\x1b[K');
        shown = false;
        await writeStdout(verdictLine(st.verdict, now));
        lastKind = st.verdict.kind;
      }
      if (tty) {
        const w = process.stderr.columns || 100;
        process.stderr.write(`\r\x1b[K${statusLine(st, now - started).slice(0, w - 1)}`);
        shown = true;
      }
      if (scope.signal) {
        code = 130;
        break;
      }
      if (st.sessionEnded) break;
      if (args.timeout !== undefined && now - started >= args.timeout * 1000) break;
    }
  } finally {
    for (const f of followers) await f.stop();
    scope.dispose();
    if (shown) process.stderr.write('\r\x1b[K');
  }
  monitor.end();
  const st = monitor.status(Date.now());
  const final = monitor.session.annotate(monitor.engine.finish());
  if (args.json) await writeStdout(renderJson(monitor.document(version(), final)));
  else
    await writeStdout(
      `${st.sessionEnded ? 'session ended' : code === 130 ? 'stopped (Ctrl-C)' : 'stopped (timeout)'}: ` +
        `${st.requests} requests; verdict: ${final.title}\n  ${final.reason}\n`,
    );
  return code;
}
