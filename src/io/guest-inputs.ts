/** Read the guest-side inputs (console, debug port, journal) into one GuestSession, streaming. */
import { GuestSession } from '../analyze/guest-session.js';
import { describeError, ExitCode, VfsError } from '../errors.js';
import type { GuestSource } from '../parse/guest-events.js';
import { readConsole, readJournal } from './guest-sources.js';

export interface GuestInputSpec {
  file: string;
  source: GuestSource;
}

export interface GuestReadOptions {
  progressPatterns?: RegExp[];
}

export async function readGuestInputs(
  specs: GuestInputSpec[],
  opts: GuestReadOptions = {},
): Promise<{ session: GuestSession; errors: { file: string; error: VfsError }[] }> {
  const session = new GuestSession({ goalPatterns: opts.progressPatterns });
  const errors: { file: string; error: VfsError }[] = [];
  for (const spec of specs) {
    const reader =
      spec.source === 'journal'
        ? readJournal(spec.file, { progressPatterns: opts.progressPatterns })
        : readConsole(spec.file, { progressPatterns: opts.progressPatterns, source: spec.source });
    let events = 0;
    try {
      for await (const ev of reader) {
        events++;
        session.feed(ev);
      }
      session.addInput({ file: spec.file, source: spec.source, events, stats: reader.stats });
    } catch (err) {
      errors.push({
        file: spec.file,
        error: err instanceof VfsError ? err : new VfsError(describeError(err).message, ExitCode.internal),
      });
    }
  }
  return { session, errors };
}
