// Preload for bench/run.mjs: `node --import ./bench/rss-reporter.mjs app.js`. On exit, writes the process's
// peak resident set size in KB to the file named by VFS_BENCH_RSS_FILE.
//
// Uses VmHWM from /proc/self/status where available: Linux carries ru_maxrss (process.resourceUsage().maxRSS)
// across fork+exec, so a child spawned by a big parent inherits the parent's RSS as its "peak". VmHWM belongs
// to the new address space and starts from zero at exec. Falls back to maxRSS elsewhere.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.VFS_BENCH_RSS_FILE;
if (out) {
  process.on('exit', () => {
    let kb = process.resourceUsage().maxRSS;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) kb = Number(m[1]);
    } catch {}
    writeFileSync(out, String(kb));
  });
}
