/** Run the built CLI as a user would, capturing stdout, stderr and the exit code. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/vfs-analyze.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string> } = {},
): CliResult {
  // NO_COLOR and no FORCE_COLOR (Node warns when both are set), unless the test says otherwise.
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...opts.env };
  if (opts.env?.FORCE_COLOR === undefined) delete env.FORCE_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input: opts.input,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
