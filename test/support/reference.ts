/** Independent counts from test/support/count.awk (mawk/awk), the ground truth the analyzer must equal exactly. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const AWK_SCRIPT = fileURLToPath(new URL('./count.awk', import.meta.url));

export interface ReferenceCounts {
  total: number;
  ok: number;
  bad: number;
  byOpcode: Map<number, number>;
  byPid: Map<number, number>;
  byInode: Map<number, number>;
  byErrno: Map<number, number>;
}

export function awkCounts(file: string): ReferenceCounts {
  const awk = ['mawk', 'gawk', 'awk'].find((a) => {
    try {
      execFileSync('sh', ['-c', `command -v ${a}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!awk) throw new Error('no awk on this machine');
  const out = execFileSync('sh', ['-c', `zcat -f -- "$1" | ${awk} -f "$2"`, 'sh', file, AWK_SCRIPT], {
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  const r: ReferenceCounts = {
    total: 0,
    ok: 0,
    bad: 0,
    byOpcode: new Map(),
    byPid: new Map(),
    byInode: new Map(),
    byErrno: new Map(),
  };
  for (const line of out.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'total') r.total = Number(f[1]);
    else if (f[0] === 'ok') r.ok = Number(f[1]);
    else if (f[0] === 'bad') r.bad = Number(f[1]);
    else if (f[0] === 'op') r.byOpcode.set(Number(f[1]), Number(f[2]));
    else if (f[0] === 'pid') r.byPid.set(Number(f[1]), Number(f[2]));
    else if (f[0] === 'inode') r.byInode.set(Number(f[1]), Number(f[2]));
    else if (f[0] === 'errno') r.byErrno.set(Number(f[1]), Number(f[2]));
  }
  return r;
}
