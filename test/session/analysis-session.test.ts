import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileFollower, LineSplitter } from '../../src/io/follow.js';
import { AnalysisSession } from '../../src/session/analysis-session.js';

describe('LineSplitter', () => {
  it('holds a partial last line until its end arrives; end() hands it over', () => {
    const lines: [string, number][] = [];
    const s = new LineSplitter((l, n) => lines.push([l, n]));
    s.push(Buffer.from('a\nb'));
    expect(lines).toEqual([['a', 1]]);
    expect(s.pending).toBe(1);
    s.push(Buffer.from('c\r\n\nd'));
    expect(lines).toEqual([
      ['a', 1],
      ['bc\r', 2],
      ['', 3],
    ]);
    s.end();
    expect(lines.at(-1)).toEqual(['d', 4]);
  });

  it('cuts overlong lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 4);
    s.push(Buffer.from('abcdefgh\nxy\n'));
    expect(lines).toEqual(['abcd', 'xy']);
    expect(s.overlong).toBe(1);
  });
});

describe('FileFollower', () => {
  it('waits for the file, reads appended bytes from its offset, restarts after truncation and replacement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-follow-'));
    const path = join(dir, 'x.log');
    const got: string[] = [];
    const truncations: boolean[] = [];
    const f = new FileFollower(path, {
      data: (b) => got.push(b.toString()),
      truncated: (i) => truncations.push(i.replaced),
    });
    expect(await f.poll()).toBe(0); // not there yet
    writeFileSync(path, 'one\n');
    await f.poll();
    appendFileSync(path, 'two\nthr');
    await f.poll();
    expect(got.join('')).toBe('one\ntwo\nthr');
    expect(f.offset).toBe(11);
    writeFileSync(path, 'new\n'); // truncated and rewritten
    await f.poll();
    expect(truncations).toEqual([false]);
    expect(got.at(-1)).toBe('new\n');
    writeFileSync(join(dir, 'y'), 'other\n');
    renameSync(join(dir, 'y'), path); // replaced by another file
    await f.poll();
    expect(truncations).toEqual([false, true]);
    expect(got.at(-1)).toBe('other\n');
    await f.stop();
  });

  it('started: wakes up on its own (watch or polling)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-follow-'));
    const path = join(dir, 'x.log');
    let text = '';
    const f = new FileFollower(path, { data: (b) => (text += b.toString()) }, { intervalMs: 50 }).start();
    writeFileSync(path, 'hello\n');
    for (let i = 0; i < 100 && text === ''; i++) await new Promise((r) => setTimeout(r, 20));
    expect(text).toBe('hello\n');
    appendFileSync(path, 'world\n');
    await f.stop(); // the last read happens on stop
    expect(text).toBe('hello\nworld\n');
  });

  it('a virtiofsd log truncated mid-line (copytruncate) does not glue the half line onto the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-follow-'));
    const path = join(dir, 'virtiofsd.log');
    const req = (u: number) =>
      `[2026-12-03T10:00:00Z DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=${u}, pid=7\n`;
    const rep = (u: number) =>
      `[2026-12-03T10:00:00Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 120, error: 0, unique: ${u} }\n`;
    const monitor = new AnalysisSession({ files: { virtiofsd: path } });
    const f = new FileFollower(path, {
      data: (b) => monitor.virtiofsd(b),
      truncated: () => monitor.virtiofsdTruncated(),
    });
    writeFileSync(path, `${req(2)}${rep(2)}${req(4).slice(0, 60)}`); // the writer is cut mid-line
    await f.poll();
    writeFileSync(path, `${req(6)}${rep(6)}`); // copytruncate: the log starts again
    await f.poll();
    await f.stop();
    monitor.end();
    const a = monitor.analysis.result();
    expect(a.totals.requests).toBe(2);
    expect(a.lines.byKind.unrecognized).toBe(0);
    expect(a.totals.orphanReplies).toBe(0);
    expect(monitor.analysis.scanner.droppedPartialLines).toBe(1);
  });
});
