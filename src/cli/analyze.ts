/**
 * `vfs-analyze [LOG...]`: the post-mortem command. Wiring only: options → io → analysis → renderers. This module
 * stays light (yargs options, the argument checks): the analysis worker gets its job before the session, the
 * verdict engine and the renderers load (analyze-run.ts).
 */

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { primeLogWorker } from '../io/analysis-worker.js';
import type { InputOptions } from '../io/analyze-input.js';
import type { ForcedFormat } from '../parse/virtiofsd.js';

export interface AnalyzeArgs {
  logs: string[];
  json: boolean;
  format: ForcedFormat;
  top: number;
  recent: number;
  color?: boolean;
  year?: number;
  threads?: number;
  console: string[];
  debugPort: string[];
  journal: string[];
  runDir?: string;
  guestOffset?: string;
  progressPattern: string[];
  verdict: boolean;
  failOn: string[];
  threshold: string[];
  config?: string;
  stillRunning: boolean;
  stoppedAtEnd: boolean;
  report: string[];
}

const DEFAULT_FORMAT = 'auto' as const;
const DEFAULT_TOP = 15;
const DEFAULT_RECENT = 20;

/**
 * The arguments yargs would give for the commonest command line, `vfs-analyze LOG` with flags that take no value
 * (--json, --color / --no-color, --stopped-at-end, --still-running), read without loading yargs (~0.1 s of start-up
 * here: cli/main.ts runs the post-mortem straight away). Null for anything else (an option with a value, help, two
 * logs, stdin, a flag given twice), which yargs reads; cli/main.ts also leaves it a sub-command's name.
 * test/cli/analyze.test.ts checks these are yargs's own arguments, defaults included.
 */
export function plainAnalyzeArgs(argv: readonly string[]): AnalyzeArgs | null {
  const args: AnalyzeArgs = {
    logs: [],
    json: false,
    format: DEFAULT_FORMAT,
    top: DEFAULT_TOP,
    recent: DEFAULT_RECENT,
    console: [],
    debugPort: [],
    journal: [],
    progressPattern: [],
    verdict: true,
    failOn: [],
    threshold: [],
    stillRunning: false,
    stoppedAtEnd: false,
    report: [],
  };
  const seen = new Set<string>();
  for (const a of argv) {
    if (!a.startsWith('-')) {
      if (args.logs.length > 0) return null;
      args.logs.push(a);
      continue;
    }
    const flag = a === '--no-color' ? '--color' : a;
    if (seen.has(flag)) return null;
    seen.add(flag);
    if (a === '--json') args.json = true;
    else if (a === '--color') args.color = true;
    else if (a === '--no-color') args.color = false;
    else if (a === '--stopped-at-end') args.stoppedAtEnd = true;
    else if (a === '--still-running') args.stillRunning = true;
    else return null;
  }
  return args.logs.length === 1 ? args : null;
}

export function analyzeOptions<T>(y: Argv<T>) {
  return y
    .positional('logs', {
      describe: 'virtiofsd debug log(s): plain or .gz, "-" for stdin',
      type: 'string',
      array: true,
      default: [] as string[],
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print one JSON document (schema in README)',
    })
    .option('format', {
      choices: ['auto', 'rust', 'rust-legacy', 'c', 'libfuse'] as const,
      default: DEFAULT_FORMAT,
      describe:
        'force the daemon format instead of detecting it per line (libfuse: the -d output of any libfuse 2.9/3.x file system)',
    })
    .option('console', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest serial console (console.txt; raw or host-stamped)',
    })
    .option('debug-port', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest virtio-serial debug port log (raw or host-stamped)',
    })
    .option('journal', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'guest journal stream (journalctl -o json lines: journal.json)',
    })
    .option('run-dir', {
      type: 'string',
      describe:
        'a run folder: picks up virtiofsd.log[.gz], console.txt, journal.json, journal-initrd.json, *.host-stamped.log, probe.txt',
    })
    .option('guest-offset', {
      type: 'string',
      describe:
        'host UTC time of guest uptime 0 (ISO 8601 or epoch seconds): overrides the automatic clock alignment',
    })
    .option('progress-pattern', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'regular expression for guest lines that count as progress (and as the goal)',
    })
    .option('verdict', {
      type: 'boolean',
      default: true,
      describe:
        'judge the run (livelock, deadlock, stall, busy, healthy); --no-verdict skips it (and may use threads)',
    })
    .option('fail-on', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'exit 1 when a verdict is one of these kinds (comma-separated: livelock,deadlock,stall,busy,inconclusive), or long-episode: a loop episode lasted ≥ longEpisodeSec',
    })
    .option('threshold', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'verdict threshold NAME=VALUE (repeatable; names and defaults in README)',
    })
    .option('config', {
      type: 'string',
      describe: 'JSON config file: {"thresholds": {...}, "failOn": [...], "progressPatterns": [...]}',
    })
    .option('stopped-at-end', {
      type: 'boolean',
      default: false,
      describe:
        'virtiofsd stopped answering where its log ends (frozen or killed): the end of the log counts as "traffic stopped" (default: it does not — a log copied while virtiofsd ran ends mid-traffic)',
    })
    .option('still-running', {
      type: 'boolean',
      default: false,
      hidden: true,
      describe:
        'accepted for compatibility: a log that ends mid-traffic is read as captured while running by default',
    })
    .option('top', { type: 'number', default: DEFAULT_TOP, describe: 'rows in the top-N tables' })
    .option('recent', {
      type: 'number',
      default: DEFAULT_RECENT,
      describe: 'requests in the recent-activity table',
    })
    .option('threads', {
      type: 'number',
      describe:
        'threads for logs of 48 MB+ (default: cores, max 4; 1 = one pass): with the verdict, one parsing worker; --no-verdict: one byte range per thread',
    })
    .option('color', {
      type: 'boolean',
      describe: 'force colour on or off (default: on for a TTY; NO_COLOR honoured)',
    })
    .option('year', { type: 'number', describe: 'year for syslog/journal timestamps that carry none' })
    .option('report', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'also write a report FORMAT[=PATH]: html, md, junit, json (repeatable; default reports/<name>.<ext>; md → $GITHUB_STEP_SUMMARY when set)',
    });
}

/** The analysis options the command gives every log (the same for the worker started early and the reader). */
export function inputOptions(
  args: Pick<AnalyzeArgs, 'format' | 'top' | 'recent' | 'year' | 'threads'>,
): InputOptions {
  return {
    format: args.format,
    top: Math.max(args.top, 15),
    recent: Math.max(args.recent, 1),
    assumeYear: args.year,
    threads: args.threads,
  };
}

export async function runAnalyze(args: AnalyzeArgs): Promise<number> {
  if (!Number.isInteger(args.top) || args.top < 1) throw new UsageError('--top must be a positive integer');
  if (!Number.isInteger(args.recent) || args.recent < 0) throw new UsageError('--recent must be 0 or more');
  if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1))
    throw new UsageError('--threads must be a positive integer');
  // One large plain log with the verdict: its worker starts on it now, while the rest of the command loads
  // (~50 ms here); the reader adopts it when it asks for the same job, and starts another if not.
  if (args.verdict && args.logs.length === 1 && args.runDir === undefined)
    await primeLogWorker(args.logs[0], inputOptions(args));
  const { runAnalyzeLoaded } = await import('./analyze-run.js');
  return runAnalyzeLoaded(args);
}
