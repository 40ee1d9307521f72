import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProbeFacts, parseFuseSendLine, syscallName } from '../../src/analyze/probe-facts.js';
import { parseProbeLine } from '../../src/parse/probe.js';

const FIX = 'fixtures/probe/rust-1.13.2-silentloop-8s-probe';

function factsOf(file: string): ProbeFacts {
  const f = new ProbeFacts();
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const r = parseProbeLine(l);
    if (r) f.feed(r);
  }
  return f;
}

const rec = (o: Record<string, unknown>) => {
  const r = parseProbeLine(JSON.stringify({ vfsprobe: 1, t: 1000, ...o }));
  if (!r) throw new Error('not a record');
  return r;
};

describe('ProbeFacts on the real silentloop capture', () => {
  const truth = JSON.parse(readFileSync(`${FIX}/truth.json`, 'utf8')) as {
    hammerPid: number;
    probePid: number;
  };
  const f = factsOf(`${FIX}/console.host-stamped.log`);

  it('names the silent looping process from probe data alone', () => {
    expect(f.nameAt(truth.hammerPid)).toBe('fs-hammer');
    expect(f.nameAt(1)).toBe('init');
    expect(f.nameAt(truth.probePid)).toBe('vfs-probe');
    expect(f.nameAt(4242)).toBeUndefined();
  });

  it('finds it as the hottest task, with its CPU share, state, syscall and wchan', () => {
    const top = f.hottest(undefined, 3);
    expect(top[0].tid).toBe(truth.hammerPid);
    const share = f.cpuShare(truth.hammerPid) ?? 0;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(1);
    const d = f.describe(truth.hammerPid) ?? '';
    expect(d).toMatch(/^state [RS], \d+% CPU, in syscall newfstatat \(262\), wchan request_wait_answer$/);
  });

  it('names at a host time inside the loop, and converts clocks with the host stamps', () => {
    const s = f.samples()[3];
    const hostMs = f.uptimeToHostMs(s.uptime) ?? 0;
    expect(hostMs).toBeGreaterThan(Date.UTC(2026, 10, 27, 3, 58));
    expect(f.nameAt(truth.hammerPid, hostMs)).toBe('fs-hammer');
    expect(f.hostMsToUptime(hostMs)).toBeCloseTo(s.uptime, 6);
  });

  it('reports the fuse tracepoints as absent and the probe overhead', () => {
    expect(f.fuseStatus).toBe('absent');
    const o = f.overhead();
    expect(o?.samples).toBeGreaterThanOrEqual(6);
    expect(o?.share).toBeGreaterThan(0);
    expect(o?.share).toBeLessThan(0.5);
  });
});

describe('ProbeFacts edge cases', () => {
  it('follows PID reuse: a tid names different tasks over time', () => {
    const f = new ProbeFacts();
    f.feed(rec({ k: 'new', n: 1, up: 10, new: [[300, 300, 1, 900, 'first', '/bin/first']] }));
    f.feed(rec({ k: 'gone', n: 5, up: 14, gone: [300] }));
    f.feed(rec({ k: 'new', n: 8, up: 17, new: [[300, 300, 1, 1650, 'second', '']] }));
    expect(f.lifetimes(300).map((t) => t.names[0].comm)).toEqual(['first', 'second']);
    const at = (up: number) => f.nameAt(300, (up + (1000 - 10)) * 1000);
    expect(at(12)).toBe('first');
    expect(at(18)).toBe('second');
    expect(f.nameAt(300)).toBe('second');
  });

  it('follows exec renames and completes 15-character comms from the command line', () => {
    const f = new ProbeFacts();
    f.feed(
      rec({
        k: 'new',
        n: 1,
        up: 5,
        new: [[180, 180, 1, 400, 'systemd-journal', '/usr/lib/systemd/systemd-journald']],
      }),
    );
    f.feed(rec({ k: 'new', n: 1, up: 5, new: [[181, 181, 1, 400, 'sh', '/bin/sh -c x']] }));
    f.feed(rec({ k: 'new', n: 3, up: 7, new: [[181, 181, 1, 400, 'mount', '']] }));
    expect(f.nameAt(180)).toBe('systemd-journald');
    expect(f.nameAt(181)).toBe('mount');
    expect(f.nameAt(181, (6 + 995) * 1000)).toBe('sh');
  });

  it('computes CPU share per interval and describes R tasks with the syscall from the stack when needed', () => {
    const f = new ProbeFacts();
    f.feed(rec({ k: 'new', n: 1, up: 1, new: [[1180, 1180, 1, 50, 'systemd-journal', '']] }));
    f.feed(rec({ k: 's', n: 1, up: 1, dt: 0, self: 0, selfc: 0, selfup: 0 }));
    for (let n = 2; n <= 4; n++) {
      f.feed(
        rec({
          k: 's',
          n,
          up: n,
          dt: 100,
          self: 0,
          selfc: n - 1,
          selfup: (n - 1) * 100,
          top: [[1180, 1180, 'R', 99, 'systemd-journal']],
        }),
      );
      f.feed(
        rec({
          k: 'hot',
          n,
          up: n,
          tid: 1180,
          pid: 1180,
          st: 'R',
          cpu: 99,
          comm: 'systemd-journal',
          wchan: '0',
          sc: 'running',
          stack: 'path_lookupat<filename_lookup<vfs_statx<vfs_fstatat<__do_sys_newfstatat<do_syscall_64',
        }),
      );
    }
    expect(f.cpuShare(1180)).toBeCloseTo(0.99, 5);
    expect(f.describe(1180)).toBe('state R, 99% CPU, in syscall newfstatat');
    expect(f.overhead()).toMatchObject({ samples: 3, share: 0.01 });
  });

  it('ignores the syscall of kernel threads and maps common numbers', () => {
    const f = new ProbeFacts();
    f.feed(
      rec({
        k: 'hot',
        n: 2,
        up: 2,
        tid: 45,
        pid: 45,
        st: 'I',
        cpu: 9,
        comm: 'kworker/0:2',
        wchan: 'worker_thread',
        sc: '0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0',
        stack: 'worker_thread<kthread',
      }),
    );
    expect(f.describe(45)).toBe('state I, wchan worker_thread');
    expect([262, 332, 257, 217, 0, 89, 21, 439].map(syscallName)).toEqual([
      'newfstatat',
      'statx',
      'openat',
      'getdents64',
      'read',
      'readlink',
      'access',
      'faccessat2',
    ]);
    expect(syscallName(9999)).toBe('syscall 9999');
  });

  it('joins FUSE uniques to guest tasks through fuse_request_send lines', () => {
    const line =
      '       fs-hammer-95      [000] .....    12.345678: fuse_request_send: connection 45 req 6 opcode 1 (FUSE_LOOKUP) len 54';
    expect(parseFuseSendLine(line)).toMatchObject({
      comm: 'fs-hammer',
      tid: 95,
      unique: 6,
      opcode: 1,
      opname: 'FUSE_LOOKUP',
      ts: 12.345678,
    });
    const f = new ProbeFacts();
    f.feed(rec({ k: 'hello', n: 0, up: 1, pid: 91, iv: 100, fuse: 'on' }));
    f.feed(rec({ k: 'fuse', n: 3, up: 12.4, l: [line, 'garbage'] }));
    expect(f.fuseStatus).toBe('on');
    expect(f.fuseSends).toBe(1);
    expect(f.fuseSender(6)?.tid).toBe(95);
    expect(f.fuseSender(7)).toBeUndefined();
  });
});
