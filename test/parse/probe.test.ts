import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ProbeParser,
  type ProbeRecord,
  parseProbeLine,
  parseProbeLineDetailed,
} from '../../src/parse/probe.js';

const FIX = 'fixtures/probe/rust-1.13.2-silentloop-8s-probe';

function records(file: string): { recs: ProbeRecord[]; parser: ProbeParser } {
  const parser = new ProbeParser();
  const recs: ProbeRecord[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      const r = parser.push(l, i + 1);
      if (r) recs.push(r);
    });
  return { recs, parser };
}

describe('probe records in the real lab console (busybox guest, kmsg -> ttyS0)', () => {
  it('finds every record of the raw console, none truncated', () => {
    const { recs, parser } = records(`${FIX}/console.txt`);
    const raw = readFileSync(`${FIX}/console.txt`, 'utf8').split('\n');
    expect(recs.length).toBe(raw.filter((l) => l.includes('{"vfsprobe":')).length);
    expect(parser.stats.truncated).toBe(0);
    expect(parser.stats.invalid).toBe(0);
    expect(parser.stats.byKind.hello).toBe(1);
    expect(parser.stats.byKind.sample).toBeGreaterThanOrEqual(6);
  });

  it('reads the hello record: probe pid, interval, fuse tracepoints absent on 6.1', () => {
    const { recs } = records(`${FIX}/console.txt`);
    const hello = recs.find((r) => r.kind === 'hello');
    expect(hello).toMatchObject({
      kind: 'hello',
      pid: 91,
      intervalCs: 100,
      fuse: 'absent',
      outputs: ['kmsg'],
    });
    expect(hello?.kernelTime).toBeCloseTo(2.355867, 6);
    expect(hello?.kernel).toBe('6.1.0-56-cloud-amd64');
  });

  it('takes the host stamp of the stamped copy, and the same records as the raw console', () => {
    const raw = records(`${FIX}/console.txt`).recs;
    const stamped = records(`${FIX}/console.host-stamped.log`).recs;
    expect(stamped.length).toBe(raw.length);
    expect(stamped.every((r) => r.hostTime !== undefined && r.hostTime > 1.7e12)).toBe(true);
    expect(stamped.map((r) => r.kind)).toEqual(raw.map((r) => r.kind));
  });

  it('reads new tasks with cmdline, samples with top lists, hot tasks with syscall and stack', () => {
    const { recs } = records(`${FIX}/console.txt`);
    const hammer = recs.flatMap((r) => (r.kind === 'new' ? r.tasks : [])).find((t) => t.comm === 'fs-hammer');
    expect(hammer).toMatchObject({ tid: 95, pid: 95, ppid: 1, cmdline: '/bin/sh /bin/fs-hammer' });
    const s = recs.find((r) => r.kind === 'sample' && r.seq === 2);
    expect(s?.kind === 'sample' && s.top?.some((t) => t.tid === 95 && t.ticks > 20)).toBe(true);
    const hot = recs.find((r) => r.kind === 'hot' && r.syscall.startsWith('262 '));
    expect(hot?.kind === 'hot' && hot.stack).toContain('__do_sys_newfstatat');
  });
});

describe('parseProbeLine', () => {
  const J = '{"vfsprobe":1,"k":"gone","n":7,"t":1795751849,"up":7.24,"gone":[97,98]}';

  it('tolerates prefixes: kernel stamp, host stamp, identifier, journal MESSAGE alone, CR', () => {
    for (const line of [
      `[    7.296682] vfs-probe: ${J}\r`,
      `[2026-11-27 03:58:50.123456+0000] [    7.296682] vfs-probe: ${J}`,
      `2026-11-27T03:58:50.123456Z vfs-probe: ${J}`,
      J,
      `vfsprobe: ${J}`,
    ]) {
      const r = parseProbeLine(line);
      expect(r).toMatchObject({ kind: 'gone', seq: 7, uptime: 7.24, realtime: 1795751849, tids: [97, 98] });
    }
    expect(parseProbeLine(`[2026-11-27 03:58:50.5+0000] ${J}`)?.hostTime).toBe(
      Date.UTC(2026, 10, 27, 3, 58, 50, 500),
    );
  });

  it('reports truncated and invalid records and ignores other lines', () => {
    expect(parseProbeLineDetailed('[    1.0] fuse: init (API version 7.38)')).toBeNull();
    expect(parseProbeLineDetailed(`[ 7.2] vfs-probe: ${J.slice(0, 40)}`)).toMatchObject({
      status: 'truncated',
    });
    expect(parseProbeLineDetailed('vfs-probe: {"vfsprobe":1,"k":}')).toMatchObject({ status: 'invalid' });
    expect(parseProbeLine(`vfs-probe: ${J.slice(0, 40)}`)).toBeNull();
    const p = new ProbeParser();
    p.push(`x ${J.slice(0, 30)}`);
    p.push(J);
    expect(p.stats).toMatchObject({ lines: 2, records: 1, truncated: 1 });
  });

  it('keeps unknown kinds as other', () => {
    expect(parseProbeLine('{"vfsprobe":1,"k":"zz","n":1,"t":1,"up":2}')).toMatchObject({
      kind: 'other',
      k: 'zz',
    });
  });
});
