import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runFollow } from '../../src/cli/follow.js';

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
function requests(from: number, n: number): string {
  let out = '';
  for (let i = from; i < from + n; i++) {
    out += `[${stamp()} DEBUG virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=${i}, pid=7\n`;
    out += `[${stamp()} DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 120, error: 0, unique: ${i} }\n`;
  }
  return out;
}

describe('--follow', () => {
  it('follows a growing log and ends with the daemon session (exit 0), printing verdict changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-followcli-'));
    const log = join(dir, 'virtiofsd.log');
    writeFileSync(log, '');
    const out: string[] = [];
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        out.push(String(chunk));
        const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        cb?.();
        return true;
      });
    try {
      const writer = (async () => {
        for (let k = 0; k < 3; k++) {
          appendFileSync(log, requests(k * 10 + 2, 10));
          await new Promise((r) => setTimeout(r, 150));
        }
        appendFileSync(
          log,
          `[${stamp()} DEBUG virtiofsd::server] Received request: opcode=Destroy (38), inode=0, unique=99, pid=0\n`,
        );
        appendFileSync(log, `[${stamp()} INFO  virtiofsd] Client disconnected, shutting down\n`);
      })();
      const code = await runFollow({ log, timeout: 20, followIntervalMs: 50, verdictIntervalMs: 200 });
      await writer;
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = out.join('');
    expect(text).toMatch(/session ended: 31 requests; verdict: healthy/);
  });

  it('stops at --timeout on a log that does not end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-followcli-'));
    const log = join(dir, 'virtiofsd.log');
    writeFileSync(log, requests(2, 5));
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((_c: string | Uint8Array, ...rest: unknown[]) => {
        (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
        return true;
      });
    const t0 = Date.now();
    try {
      expect(await runFollow({ log, timeout: 1, verdictIntervalMs: 200 })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
