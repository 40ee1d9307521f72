/**
 * The sweep of what a killed `vfs-analyze run` left (src/launch/leftovers.ts): real processes, a real reports folder.
 * A "killed run" is an active-run file whose owner PID is gone; its processes are found by their environment marker
 * (a detached `sleep` in its own session stands for QEMU/virtiofsd reparented to init) and by its process group.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACTIVE_DIR,
  type ActiveRun,
  describeSwept,
  findRunProcesses,
  hasTag,
  procInfo,
  RUN_TAG_ENV,
  selfOwner,
  sweepKilledRuns,
  writeActive,
} from '../../src/launch/leftovers.js';
import { pidAlive } from './fakes-support.js';

const started: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      process.kill(c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A detached process (own session and group) carrying the marker, like a descendant that left bcvk's group. */
function tagged(tag: string): ChildProcess {
  const c = spawn('sleep', ['60'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [RUN_TAG_ENV]: tag },
  });
  c.unref();
  started.push(c);
  return c;
}

/** A PID that existed and is gone now (the killed vfs-analyze). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

function active(over: Partial<ActiveRun>): ActiveRun {
  return {
    schema: 'vfs-analyze.active-run',
    owner: { pid: deadPid(), start: null },
    id: 'run-x',
    container: 'vfs-analyze-run-x',
    podman: '/fake/podman',
    bcvk: { pid: null, pgid: null, start: null },
    tag: 'vfs-analyze-run-x',
    work: '',
    startedAt: new Date().toISOString(),
    ...over,
  };
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}

describe('leftovers of a run', () => {
  it('finds a process by its environment marker, outside any known group; not an unrelated one', async () => {
    const tag = `t-${process.pid}-${Date.now()}`;
    const c = tagged(tag);
    const other = tagged(`${tag}-other`);
    await new Promise((r) => setTimeout(r, 100));
    expect(hasTag(c.pid!, tag)).toBe(true);
    expect(hasTag(other.pid!, tag)).toBe(false); // a longer value with the same prefix is not the marker
    const found = findRunProcesses({ pgid: null, start: null, tag });
    expect(found).toEqual([{ pid: c.pid, comm: 'sleep', by: 'marker' }]);
    expect(procInfo(c.pid!)?.session).toBe(c.pid); // its own session: out of any group the run had
  });

  it('an active-run file is replaced whole when rewritten (a kill mid-write cannot leave it torn), no temporary left', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'vfs-active-'));
    dirs.push(reports);
    const p = await writeActive(reports, active({ id: 'one', container: 'vfs-analyze-r', tag: 'r' }));
    const first = statSync(p).ino;
    await writeActive(
      reports,
      active({ id: 'one', container: 'vfs-analyze-r', tag: 'r', bcvk: { pid: 7, pgid: 7, start: 1 } }),
    );
    // a new file renamed over the old one, not the old one truncated and written again
    expect(statSync(p).ino).not.toBe(first);
    expect(JSON.parse(readFileSync(p, 'utf8')).bcvk.pid).toBe(7);
    expect(readdirSync(join(reports, ACTIVE_DIR))).toEqual(['vfs-analyze-r.json']);
  });

  it('the next run sweeps a killed run: its processes SIGKILLed, container removed, work folder and file gone, one line', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'vfs-sweep-'));
    dirs.push(reports);
    const work = mkdtempSync(join(tmpdir(), 'vfs-analyze-'));
    dirs.push(work);
    writeFileSync(join(work, 'virtiofsd.log'), 'x');
    const tag = `vfs-analyze-sweep-${process.pid}-${Date.now()}`;
    const c = tagged(tag);
    await writeActive(reports, active({ id: 'killed-run', container: tag, tag, work }));
    // a live run's file (this process is its owner) is left alone
    await writeActive(reports, active({ owner: selfOwner(), container: 'vfs-analyze-live', tag: 'live' }));
    // a torn file is not acted on
    writeFileSync(join(reports, ACTIVE_DIR, 'torn.json'), '{"schema":"vfs-analyze.active-run","ow');
    // the temporary file of a rewrite whose process was killed mid-write goes; one of a live process stays
    const dead = spawnSync('true').pid as number;
    writeFileSync(join(reports, ACTIVE_DIR, `.vfs-analyze-x.json.${dead}.0a1b2c3d.tmp`), '{"sche');
    writeFileSync(join(reports, ACTIVE_DIR, '.vfs-analyze-y.json.1.0a1b2c3d.tmp'), '{"sche');

    const removed: string[] = [];
    const swept = await sweepKilledRuns(reports, {
      removeContainer: async (podman, name) => {
        removed.push(`${podman} rm -f ${name}`);
        return { ok: true, output: '' };
      },
    });
    expect(swept).toHaveLength(1);
    const [s] = swept;
    expect(s.id).toBe('killed-run');
    expect(s.killed.map((k) => k.pid)).toEqual([c.pid]);
    expect(s.survivors).toEqual([]);
    expect(await waitGone(c.pid!)).toBe(true);
    expect(removed).toEqual([`/fake/podman rm -f ${tag}`]);
    expect(existsSync(work)).toBe(false);
    expect(readdirSync(join(reports, ACTIVE_DIR)).sort()).toEqual([
      '.vfs-analyze-y.json.1.0a1b2c3d.tmp',
      'torn.json',
      'vfs-analyze-live.json',
    ]);
    const line = describeSwept(s);
    expect(line).toMatch(
      /^an earlier run \(killed-run, vfs-analyze pid \d+, started .*\) was killed before it cleaned up: /,
    );
    expect(line).toMatch(/killed 1 process \(sleep \d+ \(left the group\)\)/);
    expect(line).not.toMatch(/\n/);

    // swept once: the next sweep finds nothing
    expect(
      await sweepKilledRuns(reports, { removeContainer: async () => ({ ok: true, output: '' }) }),
    ).toEqual([]);
  });

  it('kills by process group only members started no earlier than bcvk (a reused group id is not ours)', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'vfs-sweep-'));
    dirs.push(reports);
    const leader = spawn('sh', ['-c', 'sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    leader.unref();
    started.push(leader);
    await new Promise((r) => setTimeout(r, 150));
    const start = procInfo(leader.pid!)!.start;
    const members = () =>
      findRunProcesses({ pgid: leader.pid!, start, tag: 'none' })
        .map((p) => p.comm)
        .sort();
    expect(members()).toEqual(['sh', 'sleep']);
    // recorded with a later start time: this group is someone else's
    expect(findRunProcesses({ pgid: leader.pid!, start: start + 1e9, tag: 'none' })).toEqual([]);
    await writeActive(reports, active({ bcvk: { pid: leader.pid!, pgid: leader.pid!, start }, tag: 'none' }));
    const [s] = await sweepKilledRuns(reports, { removeContainer: async () => ({ ok: true, output: '' }) });
    expect(s.killed.map((k) => k.by)).toEqual(['group', 'group']);
    expect(await waitGone(leader.pid!)).toBe(true);
    expect(members()).toEqual([]);
  });

  it('no active-run folder: nothing to sweep', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'vfs-sweep-'));
    dirs.push(reports);
    mkdirSync(join(reports, 'runs'));
    expect(
      await sweepKilledRuns(reports, { removeContainer: async () => ({ ok: true, output: '' }) }),
    ).toEqual([]);
  });
});
