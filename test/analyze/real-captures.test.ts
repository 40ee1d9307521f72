/**
 * Every real capture in fixtures/: the analyzer's totals, per-opcode, per-PID, per-inode and error counts must
 * equal an independent awk count exactly.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../support/analyze.js';
import { awkCounts } from '../support/reference.js';

const ROOT = new URL('../../fixtures/', import.meta.url).pathname;

function findLogs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findLogs(p));
    else if (/^virtiofsd\.log(\.gz)?$/.test(name) || (dir.endsWith('harness') && name.endsWith('.log')))
      out.push(p);
  }
  return out.sort();
}

const logs = findLogs(ROOT);

describe('real captures match an independent awk count', () => {
  it('finds the captures', () => {
    expect(logs.length).toBeGreaterThanOrEqual(12);
  });

  for (const file of logs) {
    it(file.slice(ROOT.length), () => {
      const ref = awkCounts(file);
      const a = analyzeFile(file, { top: 1_000_000 });
      expect(ref.total).toBeGreaterThan(0);
      expect(a.totals.requests).toBe(ref.total);
      expect(a.lines.byKind.request).toBe(ref.total);
      expect(a.totals.repliesOk).toBe(ref.ok);
      expect(a.totals.repliesError).toBe(ref.bad);
      expect(a.errors.total).toBe(ref.bad);

      const ops = new Map(a.byOpcode.map((r) => [r.opcode, r.requests]));
      expect(ops).toEqual(ref.byOpcode);
      const pids = new Map(a.byPid.map((r) => [r.pid, r.requests]));
      expect(pids).toEqual(ref.byPid);
      expect(a.byInode.distinct).toBe(ref.byInode.size);
      const inodes = new Map(a.byInode.top.map((r) => [r.nodeid, r.requests]));
      expect(inodes).toEqual(ref.byInode);
      expect(a.byInode.rootRequests).toBe(ref.byInode.get(1) ?? 0);
      const errnos = new Map(a.errors.byErrno.map((r) => [-r.errno, r.count]));
      expect(errnos).toEqual(ref.byErrno);

      // Every line is accounted for, and none is unrecognized in these real logs.
      const kinds = Object.values(a.lines.byKind).reduce((x, y) => x + y, 0);
      expect(kinds + a.lines.overlong).toBe(a.lines.total);
      expect(a.lines.byKind.unrecognized).toBe(0);
      // Replies pair up: every reply found its request.
      expect(a.totals.orphanReplies).toBe(file.includes('interrupt-assert') ? 1 : 0);
      // Each request is answered, needs no reply, or is listed as unanswered.
      const perOp = a.byOpcode.reduce((s, r) => s + r.ok + r.errors + r.noReply + r.unanswered, 0);
      expect(perOp).toBe(a.totals.requests);
    });
  }
});
