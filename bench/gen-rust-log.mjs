#!/usr/bin/env node

// Deterministic synthetic Rust virtiofsd 1.13 debug log (env_logger format) for benchmarks.
//
//   node bench/gen-rust-log.mjs [--requests N | --size-gb G] [--out PATH] [--seed S]
//
// Modelled on fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata: a boot-like mix of opcodes from
// hundreds of PIDs (skewed), then a looping tail (last ~20 %) where one PID alternates
// Lookup inode=1 / Getattr <fresh nodeid> / Forget (bcvk issue #90 livelock). The last 3 requests get no reply,
// no Destroy is logged. Same arguments => same bytes. Bump GEN_VERSION whenever the output changes.

import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GEN_VERSION = 1;
export const DEFAULT_REQUESTS = 1_500_000;
/** Measured average file bytes per request (used only to turn --size-gb into a request count). */
export const BYTES_PER_REQUEST = 289;
const TAIL_FRACTION = 0.2;
const LOOP_PID = 1180;
const UNANSWERED = 3;
const UNKNOWN_REQUESTS = 5;
const CHUNK_CHARS = 4 * 1024 * 1024;
const START_MS = Date.UTC(2026, 10, 27, 3, 10, 29);

/** mulberry32: tiny seeded PRNG returning floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** O(1) weighted choice: a 64 Ki-slot table filled in proportion to the weights. */
function weightedTable(items, weights) {
  const size = 65536;
  const sum = weights.reduce((s, w) => s + w, 0);
  const table = new Array(size);
  let slot = 0;
  let acc = 0;
  for (let i = 0; i < items.length; i++) {
    acc += weights[i];
    const end = i === items.length - 1 ? size : Math.round((acc / sum) * size);
    while (slot < end) table[slot++] = items[i];
  }
  return (r) => table[(r * size) | 0];
}

// [name, number, weight, pid0 probability, reply len (number or function of rand), error]
const OPS = [
  ['Read', 15, 26, 0, (r) => 16 + ((r * 32) | 0) * 4096],
  ['Ioctl', 39, 11, 0, 0, 'ENOSYS'],
  ['Readlink', 5, 8, 0, (r) => 17 + ((r * 60) | 0)],
  ['Lookup', 1, 11, 0, 144],
  ['Getattr', 3, 9, 0, 120],
  ['Open', 14, 6, 0, 32],
  ['Release', 18, 6, 1, 16],
  ['Flush', 25, 5, 0.2, 16],
  ['Write', 16, 4, 1, 24],
  ['Forget', 2, 3, 1, -1],
  ['BatchForget', 42, 0.4, 1, -1],
  ['Statfs', 17, 0.8, 0, 96],
  ['Opendir', 27, 0.7, 0, 32],
  ['Readdirplus', 44, 0.5, 0, (r) => 16 + ((r * 40) | 0) * 152],
  ['Readdir', 28, 0.2, 0, 16],
  ['Releasedir', 29, 0.7, 1, 16],
  ['Setattr', 4, 0.2, 0, 120],
  ['Mkdir', 9, 0.05, 0, 144],
  ['Create', 35, 0.05, 0, 160],
  ['Fsync', 20, 0.04, 0, 16],
  ['Rmdir', 11, 0.03, 0, 16],
  ['Getxattr', 22, 0.01, 0, 0, 'ENOSYS'],
];
const ERR = {
  ENOENT: '-2 (No such file or directory)',
  ENOSYS: '-38 (Function not implemented)',
};

export async function generate({ requests = DEFAULT_REQUESTS, out, seed = 1 }) {
  const rand = prng(seed);
  const pickOp = weightedTable(
    OPS,
    OPS.map((o) => o[2]),
  );
  // ~400 PIDs: pid 1 plus systemd-era pids, Zipf-like weights (rank^-1.1) in shuffled order.
  const pids = [1];
  for (let p = 150; pids.length < 400; p += 1 + ((rand() * 6) | 0)) pids.push(p);
  const pidWeights = pids.map((_, i) => 1 / (i + 1) ** 1.1);
  for (let i = pids.length - 1; i > 1; i--) {
    const j = 1 + ((rand() * i) | 0);
    [pids[i], pids[j]] = [pids[j], pids[i]];
  }
  const pickPid = weightedTable(pids, pidWeights);

  mkdirSync(dirname(out), { recursive: true });
  const stream = createWriteStream(out, { highWaterMark: 8 * 1024 * 1024 });
  let buf = '';
  let bytes = 0;
  const flush = async () => {
    bytes += buf.length; // latin1/ASCII only: chars == bytes
    if (!stream.write(buf, 'latin1')) await once(stream, 'drain');
    buf = '';
  };

  // Time: whole seconds, a few thousand requests per second.
  let ms = START_MS;
  let inSecond = 0;
  let perSecond = 0;
  let ts = '';
  let srv = '';
  let vu = '';
  const setSecond = () => {
    ts = `[${new Date(ms).toISOString().slice(0, 19)}Z `;
    srv = `${ts}DEBUG virtiofsd::server] `;
    vu = `${ts}DEBUG virtiofsd::vhost_user] `;
    inSecond = 0;
  };
  const tick = (lo, hi) => {
    if (++inSecond >= perSecond) {
      ms += 1000;
      perSecond = lo + ((rand() * (hi - lo)) | 0);
      setSecond();
    }
  };
  setSecond();

  let unique = 0;
  let emitted = 0;
  const request = (name, num, ino, pid) => {
    unique += 2;
    emitted++;
    buf += `${srv}Received request: opcode=${name} (${num}), inode=${ino}, unique=${unique}, pid=${pid}\n`;
  };
  const ok = (len) => {
    buf += `${srv}Replying OK, header: OutHeader { len: ${len}, error: 0, unique: ${unique} }\n`;
  };
  const err = (code) => {
    buf += `${srv}Replying ERROR, header: OutHeader { error: ${ERR[code]}, unique: ${unique}, len: 16 }\n`;
  };

  // Prologue, then Init (pid 0) and the unprefixed submount warning.
  buf += `${ts}WARN  virtiofsd::limits] Failure when trying to set the limit to 1000000, the hard limit (20000) of open file descriptors is used instead.\n`;
  buf += `${ts}INFO  virtiofsd] Waiting for vhost-user socket connection...\n`;
  buf += `${ts}INFO  virtiofsd] Client connected, servicing requests\n`;
  ms += 2000;
  setSecond();
  perSecond = 3000;
  buf += `${vu}HIPRIO_QUEUE_EVENT\n${vu}QUEUE_EVENT\n${vu}QUEUE_EVENT\n`;
  request('Init', 26, 0, 0);
  buf += 'Warning: Cannot announce submounts, client does not support it\n';
  ok(80);

  // Nodeids are never recycled (Rust): known[] grows as lookups succeed; picks favour early (hot) entries.
  const known = [1];
  let nextNodeid = 2;
  const pickInode = () => known[(known.length * rand() ** 3) | 0];

  const bootEnd = requests - Math.round(requests * TAIL_FRACTION);
  const unknownEvery = Math.floor(bootEnd / (UNKNOWN_REQUESTS + 1));
  let nextUnknown = unknownEvery;

  while (emitted < bootEnd) {
    if (emitted >= nextUnknown) {
      nextUnknown += unknownEvery;
      buf += `${vu}QUEUE_EVENT\n${srv}Received unknown request: opcode=52, inode=1\n`;
      unique += 2;
      emitted++;
      err('ENOSYS');
      tick(2000, 5000);
      continue;
    }
    const [name, num, , pid0, len, error] = pickOp(rand());
    const pid = rand() < pid0 ? 0 : pickPid(rand());
    if (len < 0) {
      // Forget / BatchForget: hiprio queue, no reply.
      buf += `${vu}HIPRIO_QUEUE_EVENT\n`;
      request(name, num, num === 42 ? 0 : pickInode(), 0);
    } else {
      if (rand() < 0.93) buf += `${vu}QUEUE_EVENT\n`; // several requests may share one wake-up
      if (num === 1) {
        const parent = rand() < 0.4 ? 1 : pickInode();
        request(name, num, parent, pid);
        if (rand() < 0.55) err('ENOENT');
        else {
          if (rand() < 0.6) known.push(nextNodeid++);
          ok(144);
        }
      } else {
        request(name, num, num === 3 && rand() < 0.2 ? 1 : pickInode(), pid);
        if (error) err(error);
        else ok(typeof len === 'function' ? len(rand()) : len);
      }
    }
    tick(2000, 5000);
    if (buf.length > CHUNK_CHARS) await flush();
  }

  // Looping tail: PID 1180 re-looks up the same name forever, each time under a fresh nodeid.
  const lastAnswered = requests - UNANSWERED;
  while (emitted < lastAnswered) {
    if (rand() < 0.04) {
      // stray background traffic from the rest of the system
      buf += `${vu}QUEUE_EVENT\n`;
      request('Getattr', 3, pickInode(), pickPid(rand()));
      ok(120);
      tick(4000, 7000);
      continue;
    }
    const fresh = nextNodeid++;
    buf += `${vu}QUEUE_EVENT\n`;
    request('Lookup', 1, 1, LOOP_PID);
    ok(144);
    tick(4000, 7000);
    if (emitted >= lastAnswered) break;
    buf += `${vu}QUEUE_EVENT\n`;
    request('Getattr', 3, fresh, LOOP_PID);
    ok(120);
    tick(4000, 7000);
    if (emitted >= lastAnswered) break;
    buf += `${vu}HIPRIO_QUEUE_EVENT\n`;
    request('Forget', 2, fresh, 0);
    tick(4000, 7000);
    if (buf.length > CHUNK_CHARS) await flush();
  }

  // The last requests never get a reply; the VM is killed, no Destroy.
  buf += `${vu}QUEUE_EVENT\n`;
  const stuck = [
    ['Lookup', 1, 1, LOOP_PID],
    ['Getattr', 3, 1, 1],
    ['Statfs', 17, 1, pids[1]],
  ];
  for (let i = 0; emitted < requests; i++) request(...stuck[i % stuck.length]);
  ms += 30000;
  setSecond();
  buf += `${ts}INFO  virtiofsd] Client disconnected, shutting down\n`;
  await flush();
  stream.end();
  await once(stream, 'finish');
  return { requests: emitted, bytes, distinctNodeids: nextNodeid - 1 };
}

function parseArgs(argv) {
  const opts = { out: 'bench/.data/rust-debug.log', seed: 1, requests: DEFAULT_REQUESTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--requests') opts.requests = Number.parseInt(v, 10);
    else if (a === '--size-gb') opts.requests = Math.round((Number(v) * 1e9) / BYTES_PER_REQUEST);
    else if (a === '--out') opts.out = v;
    else if (a === '--seed') opts.seed = Number.parseInt(v, 10);
    else {
      console.error(
        `usage: gen-rust-log.mjs [--requests N | --size-gb G] [--out PATH] [--seed S]  (bad: ${a})`,
      );
      process.exit(2);
    }
    i++;
  }
  if (!(opts.requests >= 10)) throw new Error('--requests must be >= 10');
  return opts;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const res = await generate(opts);
  const s = (performance.now() - t0) / 1000;
  console.error(
    `wrote ${opts.out}: ${res.requests} requests, ${(res.bytes / 1e6).toFixed(1)} MB, ` +
      `${(res.bytes / res.requests).toFixed(0)} B/request, ${s.toFixed(2)} s`,
  );
}
