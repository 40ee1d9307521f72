#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

process.on('SIGINT', () => {
  process.exitCode = 130;
  process.exit(130);
});
main().then((code) => {
  process.exitCode = code;
});
