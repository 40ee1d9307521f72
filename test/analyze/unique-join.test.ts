/**
 * The FUSE unique join on a real capture: a guest kernel with the fuse tracepoints (trixie-backports 7.3), the probe
 * forwarding fuse_request_send lines, and the real Rust virtiofsd 1.13.2 log of the same run.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ProbeFacts } from '../../src/analyze/probe-facts.js';
import { joinUniques, type UniqueHit, UniqueWatch } from '../../src/analyze/unique-join.js';
import { VirtiofsdAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import { readGuestInputs } from '../../src/io/guest-inputs.js';
import { runCli } from '../support/cli.js';
import { parseProbeText } from '../support/probe.js';

const DIR = 'fixtures/probe/rust-1.13.2-silentloop-4s-fusetrace';
const truth = JSON.parse(readFileSync(`${DIR}/truth.json`, 'utf8'));
const log = gunzipSync(readFileSync(`${DIR}/virtiofsd.log.gz`));
const probeText = readFileSync(`${DIR}/probe.txt`, 'utf8');

function facts(): ProbeFacts {
  return parseProbeText(probeText).facts;
}

/** Independent of the parsers: `req N opcode K` in the probe's lines, `unique=N, pid=P` in the log (regexes). */
function independent() {
  const sends = new Map<number, { opcode: number; tid: number }>();
  for (const m of probeText.matchAll(
    /-(\d+)\s+\[\d+\][^"]*?fuse_request_send: connection \d+ req (\d+) opcode (\d+)/g,
  ))
    if (!sends.has(Number(m[2]))) sends.set(Number(m[2]), { tid: Number(m[1]), opcode: Number(m[3]) });
  const host = new Map<number, { opcode: number; pid: number }>();
  for (const m of log
    .toString('latin1')
    .matchAll(/opcode=\w+ \((\d+)\), inode=\d+, unique=(\d+), pid=(\d+)/g)) {
    const u = Number(m[2]);
    if (sends.has(u) && !host.has(u)) host.set(u, { opcode: Number(m[1]), pid: Number(m[3]) });
  }
  return { sends, host };
}

describe('FUSE unique join (real capture, fuse tracepoints on)', () => {
  it('finds every traced guest request in the log, under the same opcode and the sending task', () => {
    const f = facts();
    expect(f.fuseStatus).toBe('on');
    expect(f.traceClock).toBe('boot');
    const watch = new UniqueWatch(f.fuseUniques());
    const a = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: watch });
    a.push(log);
    a.end();
    const j = joinUniques(f.fuseSendsFirst(), watch.hits, {
      hostResolutionMs: 1000,
      traceClock: f.traceClock,
    });
    const ind = independent();
    expect(ind.sends.size).toBeGreaterThanOrEqual(48);
    expect(j.guestSends).toBe(ind.sends.size);
    expect(j.matched).toBe(ind.host.size);
    expect(j.matched).toBe(j.guestSends);
    for (const [u, s] of ind.sends) {
      expect(ind.host.get(u)?.opcode).toBe(s.opcode);
      expect(ind.host.get(u)?.pid).toBe(s.tid);
      expect(s.tid).toBe(truth.hammerPid);
    }
    expect(j.samePid).toBe(j.matched);
    expect(j.pidRemap).toEqual([]);
    expect(j.anchors.length).toBe(j.matched);
  });

  it('fixes the guest clock from the join, within the host-stamped console estimate', () => {
    const withProbe = runCli(['--json', '--run-dir', DIR]);
    expect(withProbe.code).toBe(0);
    const doc = JSON.parse(withProbe.stdout);
    const clock = doc.guest.clock;
    expect(clock.method).toBe('fuse-unique');
    expect(clock.detail).toMatch(/^\d+ requests joined by FUSE unique$/);
    // whole-second Rust stamps, but the anchors straddle second boundaries: tens of ms
    expect(clock.uncertaintyMs).toBeLessThan(100);
    // the same run's console, stamped by the host as it arrived, gives an independent estimate
    const stamped = runCli([
      '--json',
      `${DIR}/virtiofsd.log.gz`,
      '--console',
      `${DIR}/console.host-stamped.log`,
    ]);
    const sc = JSON.parse(stamped.stdout).guest.clock;
    expect(sc.method).toBe('host-stamped');
    expect(Math.abs(clock.offsetMs - sc.offsetMs)).toBeLessThan(clock.uncertaintyMs + sc.uncertaintyMs);
    expect(doc.guest.probe.fuseJoin).toMatchObject({ opcodeMismatch: 0, pidRemap: [] });
    expect(doc.guest.probe.fuseJoin.matched).toBe(doc.guest.probe.fuseJoin.guestSends);
    // and the looper (an episode: /init killed it and powered off) is named from the probe
    expect(doc.inputs[0].verdict.episodes[0].summary).toContain(`pid ${truth.hammerPid} (fs-hammer)`);
  });

  it('prints the join and the clock it gave in the terminal output', () => {
    const r = runCli(['--run-dir', DIR], { env: { NO_COLOR: '1' } });
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/fuse-unique: \d+ requests joined by FUSE unique/);
    expect(text).toMatch(
      /fuse tracepoints on; (\d+) of \1 traced guest requests found in the log by FUSE unique \(100% under the sending task's PID\)/,
    );
  });

  it('a join whose anchors disagree does not override the host-stamped console', async () => {
    const { session } = await readGuestInputs([
      { file: `${DIR}/probe.txt`, source: 'debug-port' },
      { file: `${DIR}/console.host-stamped.log`, source: 'console' },
    ]);
    const watch = new UniqueWatch(session.fuseUniques());
    const a = new VirtiofsdAnalysis('virtiofsd.log', { extraSink: watch });
    a.push(log);
    a.end();
    const host = { initTs: null, resolutionMs: 1000 };
    // consistent: the join wins
    session.joinFuse(watch.hits, 1000);
    expect(session.clock(host)?.method).toBe('fuse-unique');
    // every other request 3 s late on the host (as if another session's uniques matched): no common offset
    const skewed = new Map<number, UniqueHit>();
    let i = 0;
    for (const [u, h] of watch.hits) skewed.set(u, i++ % 2 ? { ...h, hostMs: h.hostMs + 3000 } : h);
    session.joinFuse(skewed, 1000);
    const c = session.clock(host);
    expect(c?.method).toBe('host-stamped');
  });
});
