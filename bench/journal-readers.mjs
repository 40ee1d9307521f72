// Guest journal readers: split2 + JSON.parse (what vfs-analyze uses) against stream-json's JSON-lines parser, on a
// real-shaped ~100 MB `journalctl -o json` stream (the systemd boot fixture's 640 records repeated with fresh
// cursors, plus one non-JSON journalctl line and one blank line per copy, as a restarted journalctl leaves them).
//
//   node bench/journal-readers.mjs [--mb 100] [--runs 5]     build if needed, time each reader in a fresh process
//   node bench/journal-readers.mjs --reader NAME FILE         one timed run (used by the above)
//
// Readers: `split2` and `stream-json` parse every line and feed the project's journal parser (src/parse/journal.ts,
// from dist/); `split2-raw` and `stream-json-raw` only parse. stream-json is no longer a dependency of the project
// (README, "Guest journal"): to run its rows, `npm install --no-save stream-json@1.9.1`; without it they are skipped.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import split2 from 'split2';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(HERE, '../fixtures/lab/rust-1.13.2-systemd-boot-k6.12-cache-metadata/journal.json');
const GEN_VERSION = 1;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

/** The fixture's records repeated until `mb` MB, each copy's `__CURSOR` sequence numbers shifted (no duplicates). */
function build(mb) {
  const out = join(HERE, '.data', `journal-${mb}mb-v${GEN_VERSION}.json`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const lines = readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);
  const parts = [];
  let size = 0;
  for (let copy = 0; size < mb * 1e6; copy++) {
    const shift = copy * lines.length;
    for (const line of lines) {
      const s = line.replace(
        /;i=([0-9a-f]+);/,
        (_m, hex) => `;i=${(Number.parseInt(hex, 16) + shift).toString(16)};`,
      );
      parts.push(s);
      size += s.length + 1;
    }
    parts.push('Failed to get journal fields: Bad message', '');
    size += 43;
  }
  writeFileSync(out, `${parts.join('\n')}\n`);
  return out;
}

async function streamJson() {
  try {
    const m = await import('stream-json/jsonl/Parser.js');
    return m.default ?? m;
  } catch {
    return null;
  }
}

async function runReader(name, file) {
  const { createJournalParser } = await import('../dist/parse/journal.js');
  const parser = createJournalParser();
  const raw = name.endsWith('-raw');
  let values = 0;
  let lastLine = 0;
  const t0 = process.hrtime.bigint();
  if (name.startsWith('split2')) {
    let n = 0;
    for await (const line of createReadStream(file, { highWaterMark: 1 << 16 }).pipe(split2())) {
      n++;
      if (raw) {
        try {
          JSON.parse(line);
          values++;
        } catch {}
      } else if (parser.pushLine(line, n)) values++;
      lastLine = n;
    }
  } else {
    const Parser = await streamJson();
    // errorIndicator: a non-JSON line becomes this marker instead of an error; blank lines are dropped silently.
    const bad = Symbol('bad');
    const p = new Parser({ errorIndicator: () => bad });
    for await (const { key, value } of createReadStream(file, { highWaterMark: 1 << 16 }).pipe(p)) {
      lastLine = key + 1; // its only line number: parsed values and markers, not lines
      if (value === bad) continue;
      if (raw) values++;
      else if (parser.pushRecord(value, key + 1)) values++;
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ name, ms, rss, values, lastLine }));
}

async function main() {
  if (process.argv.includes('--reader'))
    return runReader(arg('reader'), process.argv[process.argv.length - 1]);
  if (!existsSync(join(HERE, '../dist/parse/journal.js'))) execFileSync('npm', ['run', 'build', '--silent']);
  const file = build(Number(arg('mb', 100)));
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  const runs = Number(arg('runs', 5));
  const names = ['split2', 'split2-raw'];
  if (await streamJson()) names.push('stream-json', 'stream-json-raw');
  else
    console.log('stream-json not installed: its rows are skipped (npm install --no-save stream-json@1.9.1)');
  const res = new Map(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const n of names) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--reader', n, file], {
        encoding: 'utf8',
      });
      res.get(n).push(JSON.parse(out));
    }
  }
  console.log(
    `${file}: ${(statSync(file).size / 1e6).toFixed(1)} MB, ${lines} lines; ${runs} runs each, alternating`,
  );
  console.log('reader            min ms  median ms  max ms  peak RSS MB  values  last line number');
  for (const [n, rs] of res) {
    const ms = rs.map((x) => x.ms).sort((a, b) => a - b);
    const med = ms[Math.floor(ms.length / 2)];
    const rss = Math.max(...rs.map((x) => x.rss));
    console.log(
      `${n.padEnd(16)} ${ms[0].toFixed(0).padStart(7)} ${med.toFixed(0).padStart(10)} ${ms[ms.length - 1].toFixed(0).padStart(7)} ${rss.toFixed(0).padStart(12)} ${String(rs[0].values).padStart(7)}  ${rs[0].lastLine}`,
    );
  }
}

await main();
