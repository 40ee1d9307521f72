import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadRunRecords, writeRunDir } from '../../src/launch/records.js';
import { fakeRecord } from './record-fixture.js';

describe('run folders', () => {
  it('writes every file atomically (no temporaries left) and reads the record back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-rec-'));
    const log = join(dir, 'v.log');
    writeFileSync(log, 'line\n'.repeat(1000));
    const rec = fakeRecord('r1', 'cache=never', 'livelock', 100);
    const out = await writeRunDir(join(dir, 'runs'), {
      record: rec,
      analysis: { schema: 'x' },
      gzip: { 'virtiofsd.log': log, 'console.txt': join(dir, 'missing.txt') },
      copy: {},
    });
    expect(readdirSync(join(dir, 'runs'))).toEqual(['r1']);
    expect(readdirSync(out).sort()).toEqual(['analysis.json', 'record.json', 'virtiofsd.log.gz']);
    expect(gunzipSync(readFileSync(join(out, 'virtiofsd.log.gz'))).toString()).toBe('line\n'.repeat(1000));
    const loaded = await loadRunRecords([dir]);
    expect(loaded.records.map((r) => r.record.id)).toEqual(['r1']);
  });

  it('finds records in run folders, runs/, reports/ and files; skips hidden folders; reports broken ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-rec-'));
    const runs = join(dir, 'runs');
    const put = (name: string, body: string, file = 'record.json') => {
      mkdirSync(join(runs, name), { recursive: true });
      writeFileSync(join(runs, name, file), body);
    };
    put('b', JSON.stringify(fakeRecord('b', 'cache=metadata', 'healthy', 5, 1)));
    put('a', JSON.stringify(fakeRecord('a', 'cache=never', 'livelock', 100, 0)));
    put('old', JSON.stringify(fakeRecord('old', 'cache=never', 'livelock', 90, 2)), 'run.json');
    put('.b.123.tmp', JSON.stringify(fakeRecord('tmp', 'cache=never', 'livelock', 1)));
    put('broken', '{"schema":"vfs-analyze.run"}');
    for (const p of [dir, runs]) {
      const l = await loadRunRecords([p]);
      expect(l.records.map((r) => r.record.id)).toEqual(['a', 'b', 'old']);
      expect(l.problems).toHaveLength(1);
      expect(l.problems[0].message).toMatch(/not a vfs-analyze run record/);
    }
    const one = await loadRunRecords([join(runs, 'b'), join(runs, 'a', 'record.json')]);
    expect(one.records.map((r) => r.record.id)).toEqual(['a', 'b']);
    await expect(loadRunRecords([join(dir, 'nope')])).rejects.toThrow(/ENOENT/);
  });
});
