#!/bin/sh
':' //; exec node --max-semi-space-size=1 "$0" "$@"
// The line above is sh and JavaScript at once: sh runs node with its flags, JavaScript sees a string and a comment.
// --max-semi-space-size=1 (MB): V8 grows the young generation to 16–32 MB per thread under this tool's allocation
// rate; 1 MB costs no time here and keeps peak memory ~20–35 MB lower (and ~10 MB on a .gz, whose inflated chunks
// then die young instead of waiting for a full collection). Run as `node bin/vfs-analyze.js`, V8's defaults apply
// to this thread (worker threads get their own limit either way, see dist/io/early-worker.js).
import { prewarmAnalysisWorker } from '../dist/io/early-worker.js';

// The analysis worker starts loading now, alongside the rest of the program (see dist/io/early-worker.js, which
// loads nothing else first).
prewarmAnalysisWorker(process.argv.slice(2));
const { stopEarlyWorkers } = await import('../dist/io/analysis-worker.js');
const { main } = await import('../dist/cli/main.js');
const { describeError, outputError } = await import('../dist/errors.js');

// A reader that goes away (`vfs-analyze --json big.log | head`) is not an error: stop quietly. Any other error on
// stdout (`> /dev/full`: ENOSPC) is the user's environment: one line, exit 6.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  const { code, message } = describeError(outputError('stdout', err));
  process.stderr.write(`vfs-analyze: ${message}\n`);
  process.exit(code);
});
process.on('SIGINT', () => {
  process.exitCode = 130;
  process.exit(130);
});
main().then((code) => {
  // 4 (internal error) if a bug ever produced no valid code: never a crash while exiting.
  process.exitCode = Number.isInteger(code) ? code : 4;
  // an early worker the command never took (it failed before reading the log) must not keep the process alive
  stopEarlyWorkers();
});
