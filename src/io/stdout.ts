import { outputError } from '../errors.js';

/** Write to stdout and wait until it is flushed, so an exit code never cuts output short. */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      if (!err) resolve();
      // A reader that went away (| head) is handled by bin/vfs-analyze.js: stop quietly.
      else if ((err as NodeJS.ErrnoException).code === 'EPIPE') resolve();
      else reject(outputError('stdout', err));
    });
  });
}
