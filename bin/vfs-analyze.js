#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that goes away (`vfs-analyze --json big.log | head`) is not an error: stop quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.on('SIGINT', () => {
  process.exitCode = 130;
  process.exit(130);
});
main().then((code) => {
  process.exitCode = code;
});
