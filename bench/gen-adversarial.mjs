#!/usr/bin/env node

// Deterministic adversarial Rust virtiofsd 1.13 logs for the memory benchmark (issue: memory grows with
// distinct PIDs). Same env_logger format as gen-rust-log.mjs, every request answered OK, 5,000 requests/s.
//
//   node bench/gen-adversarial.mjs --shape pids|inodes --requests N --out PATH
//
//   pids:   every request from a new PID (1000 + i), except every 10th from PID 7 (a busy process): the shape
//           of a build or test suite forking all day. N distinct PIDs ≈ 0.9·N.
//   inodes: every request on a new nodeid (2, 3, …, N+1, so past 2^22 for N > 4.2 M) from 50 PIDs.

import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADV_VERSION = 1;
const START_MS = Date.UTC(2026, 10, 27, 3, 10, 29);

export async function generateAdversarial({ shape, requests, out }) {
  if (shape !== 'pids' && shape !== 'inodes') throw new Error(`unknown shape ${shape}`);
  mkdirSync(dirname(out), { recursive: true });
  const stream = createWriteStream(out, { highWaterMark: 8 * 1024 * 1024 });
  let buf = '';
  let ts = '';
  for (let i = 0; i < requests; i++) {
    if (i % 5000 === 0)
      ts = `[${new Date(START_MS + (i / 5000) * 1000).toISOString().slice(0, 19)}Z DEBUG virtiofsd::server] `;
    const unique = 2 * i + 2;
    const pid = shape === 'pids' ? (i % 10 === 0 ? 7 : 1000 + i) : 100 + (i % 50);
    const inode = shape === 'pids' ? 1 + (i % 97) : 2 + i;
    buf += `${ts}Received request: opcode=Getattr (3), inode=${inode}, unique=${unique}, pid=${pid}\n`;
    buf += `${ts}Replying OK, header: OutHeader { len: 120, error: 0, unique: ${unique} }\n`;
    if (buf.length > 4 << 20) {
      if (!stream.write(buf, 'latin1')) await once(stream, 'drain');
      buf = '';
    }
  }
  stream.end(buf, 'latin1');
  await once(stream, 'finish');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const get = (k) => a[a.indexOf(k) + 1];
  await generateAdversarial({
    shape: get('--shape'),
    requests: Number(get('--requests')),
    out: get('--out'),
  });
}
