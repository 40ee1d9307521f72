/**
 * Live following keeps up with 10,000 requests/s of log growth on one core: a separate process appends Rust
 * virtiofsd debug lines (request + reply + queue event per request, current time stamps) at that rate while this
 * process follows the file through the AnalysisSession (parsers, post-mortem reducer, verdict engine) as `--follow`
 * and `run` do. Prints the lag and the CPU time per request.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileFollower } from '../../src/io/follow.js';
import { AnalysisSession } from '../../src/session/analysis-session.js';

const RATE = 10_000;
const SECONDS = 4;

const WRITER = `
const fs = require('node:fs');
const [path, rate, secs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const fd = fs.openSync(path, 'a');
const t0 = Date.now();
let n = 0, ino = 2;
function tick() {
  const due = Math.min(rate * secs, Math.floor(((Date.now() - t0) / 1000) * rate));
  let out = '';
  const ts = new Date().toISOString().replace(/\\.\\d+Z$/, 'Z');
  for (; n < due; n++) {
    const u = 2 * n + 2;
    const op = n % 2 === 0 ? 'Lookup (1), inode=1' : 'Getattr (3), inode=' + (ino++);
    out += '[' + ts + ' DEBUG virtiofsd::server] Received request: opcode=' + op + ', unique=' + u + ', pid=1\\n' +
      '[' + ts + ' DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 144, error: 0, unique: ' + u + ' }\\n' +
      '[' + ts + ' DEBUG virtiofsd::vhost_user] QUEUE_EVENT\\n';
  }
  if (out) fs.writeSync(fd, out);
  if (n >= rate * secs) { fs.closeSync(fd); process.exit(0); }
  setTimeout(tick, 20);
}
tick();
`;

describe('live following throughput', () => {
  it(`keeps up with ${RATE} requests/s of log growth`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-rate-'));
    const path = join(dir, 'virtiofsd.log');
    writeFileSync(path, '');
    const monitor = new AnalysisSession();
    const follower = new FileFollower(
      path,
      { data: (b) => monitor.virtiofsd(b) },
      { intervalMs: 200 },
    ).start();
    const cpu0 = process.cpuUsage();
    const writer = spawn(process.execPath, ['-e', WRITER, path, String(RATE), String(SECONDS)], {
      stdio: 'ignore',
    });
    const done = new Promise<number>((r) => writer.on('exit', () => r(Date.now())));
    let maxLagBytes = 0;
    let finished = 0;
    const t0 = Date.now();
    while (finished === 0) {
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), done]);
      // lag left by the follower's own 200 ms polling, before this loop's read
      maxLagBytes = Math.max(maxLagBytes, statSync(path).size - follower.offset);
      await follower.poll();
      monitor.status(Date.now()); // the once-a-second verdict, as in run/--follow
      if (writer.exitCode !== null) finished = await done;
    }
    // after the writer stops, the follower must be done within one poll
    await follower.poll();
    const caughtUpMs = Date.now() - finished;
    await follower.stop();
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const requests = monitor.requests;
    const bytes = statSync(path).size;
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(
      `[follow-rate] ${requests} requests (${(bytes / 1e6).toFixed(1)} MB) in ${((finished - t0) / 1000).toFixed(1)} s; ` +
        `max lag ${(maxLagBytes / 1024).toFixed(0)} KiB (~${((maxLagBytes / bytes) * SECONDS).toFixed(2)} s of growth); ` +
        `caught up ${caughtUpMs} ms after the writer stopped; CPU ${cpuMs.toFixed(0)} ms ` +
        `(${((cpuMs / 1000 / SECONDS) * 100).toFixed(0)}% of one core at ${RATE} req/s)\n`,
    );
    expect(requests).toBe(RATE * SECONDS);
    expect(follower.offset).toBe(bytes);
    expect(caughtUpMs).toBeLessThan(1000);
    // one core: following must use well under the time it follows
    expect(cpuMs / 1000).toBeLessThan(SECONDS * 0.8);
    // never more than ~1 s of growth behind (the follower polls every 200 ms)
    expect(maxLagBytes / bytes).toBeLessThan(1 / SECONDS);
  }, 30_000);
});
