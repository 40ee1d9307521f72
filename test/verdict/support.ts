/** Helpers for the verdict tests: run the engine over a lab fixture, with or without its guest inputs. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { createConsoleParser } from '../../src/parse/console.js';
import type { GuestLine } from '../../src/parse/guest-events.js';
import { createJournalParser } from '../../src/parse/journal.js';
import { type FinishOptions, VerdictEngine, type VerdictEngineOptions } from '../../src/verdict/engine.js';
import type { Verdict } from '../../src/verdict/types.js';
import { readLog } from '../support/analyze.js';

export const LAB = new URL('../../fixtures/lab/', import.meta.url).pathname;

/**
 * The lab workloads' own progress lines (`unpack: 100/2000 files written`, `<workload>: done`). Heartbeats
 * (`livelock: still looping, n=600`) are deliberately NOT progress: a looping guest is alive but not progressing.
 */
export const LAB_PROGRESS = [/^\w+: \d+\/\d+ files written/, /^\w+: done\b/];

export interface Truth {
  expected: string;
  loopStartHost: string | null;
  stallSigstopHost: string | null;
  /** systemd captures: the blocking unit's start, the goal, and the image booted. */
  blockStartHost?: string | null;
  goalReachedHost?: string | null;
  image?: string;
  loopEpisode?: boolean;
}

export function fixtureDirs(): string[] {
  return readdirSync(LAB, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(LAB, d.name, 'virtiofsd.log.gz')))
    .map((d) => d.name)
    .sort();
}

export function truthOf(name: string): Truth | undefined {
  const p = join(LAB, name, 'truth.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Truth) : undefined;
}

export function guestLines(name: string): GuestLine[] {
  const out: GuestLine[] = [];
  for (const [file, source] of [
    ['console.host-stamped.log', 'console'],
    ['debug-port.host-stamped.log', 'debug-port'],
  ] as const) {
    const p = join(LAB, name, file);
    if (!existsSync(p)) continue;
    const parser = createConsoleParser({ source, progressPatterns: LAB_PROGRESS });
    readFileSync(p, 'utf8')
      .split('\n')
      .forEach((l, i) => {
        if (l.length > 0) out.push(...parser.push(l, i + 1));
      });
  }
  const journal = join(LAB, name, 'journal.json');
  if (existsSync(journal)) {
    const parser = createJournalParser({ progressPatterns: LAB_PROGRESS });
    readFileSync(journal, 'utf8')
      .split('\n')
      .forEach((l, i) => {
        const ev = l.length > 0 ? parser.pushLine(l, i + 1) : null;
        if (ev) out.push(ev);
      });
  }
  return out;
}

export interface RunOptions extends VerdictEngineOptions {
  guest?: boolean;
  finish?: FinishOptions;
}

export function engineFor(
  name: string,
  opts: RunOptions = {},
): { engine: VerdictEngine; log: Buffer; feed: VirtiofsdAnalysis } {
  const engine = new VerdictEngine(opts);
  const feed = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: engine, assumeYear: 2026 });
  return { engine, feed, log: readLog(join(LAB, name, 'virtiofsd.log.gz')) };
}

export function runFixture(name: string, opts: RunOptions = {}): Verdict {
  const { engine, feed, log } = engineFor(name, opts);
  for (let i = 0; i < log.length; i += 1 << 20)
    feed.push(log.subarray(i, Math.min(log.length, i + (1 << 20))));
  feed.end();
  if (opts.guest) for (const g of guestLines(name)) engine.guest(g);
  return engine.finish(opts.finish);
}
