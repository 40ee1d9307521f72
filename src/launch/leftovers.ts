/**
 * What a run started, found again and ended: by its process group, by an environment marker every descendant
 * inherits (so a descendant that left the group — `setsid`, a double fork reparented to init — is found too), and by
 * its container name. Used twice:
 *
 * - after a run (runner.ts): whatever is still alive once bcvk has exited or been SIGKILLed is a leftover; it is
 *   SIGKILLed and reported (one stderr line, `launch.stop.leftovers` in the record);
 * - at the start of the next `run` (the sweep): every run writes an "active run" file into the reports folder
 *   (`<reports>/.active-runs/<container>.json`: its own PID, bcvk's process group, the marker, the container, the
 *   work folder) and removes it when its cleanup is done. A file whose owner is gone was left by a run that was
 *   killed (SIGKILL cannot be handled): the sweep ends that run's processes, removes its container and work folder,
 *   and says so in one line.
 *
 * Linux only (/proc). PIDs are matched with their start time (field 22 of /proc/PID/stat), never by number alone:
 * a PID may have been reused by the time the sweep runs.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';

/** The environment variable every process a run starts inherits; its value is the run's container name. */
export const RUN_TAG_ENV = 'VFS_ANALYZE_RUN_TAG';
export const ACTIVE_DIR = '.active-runs';
export const ACTIVE_SCHEMA = 'vfs-analyze.active-run';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Start time in clock ticks since boot (stable for the life of the process). */
  start: number;
  state: string;
  comm: string;
}

/** /proc/PID/stat, parsed; null when the process is gone (or not Linux). */
export function procInfo(pid: number, procRoot = '/proc'): ProcInfo | null {
  let s: string;
  try {
    s = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const f = s.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field N is f[N - 3]
  return {
    pid,
    comm: s.slice(open + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    start: Number(f[19]),
  };
}

/** Every process visible in /proc. */
export function listProcesses(procRoot = '/proc'): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const p = procInfo(Number(n), procRoot);
    if (p) out.push(p);
  }
  return out;
}

/** Whether the process carries `RUN_TAG_ENV=tag` in its (initial) environment. Unreadable: false. */
export function hasTag(pid: number, tag: string, procRoot = '/proc'): boolean {
  let env: Buffer;
  try {
    env = readFileSync(`${procRoot}/${pid}/environ`);
  } catch {
    return false;
  }
  const entry = Buffer.from(`${RUN_TAG_ENV}=${tag}`);
  for (let i = env.indexOf(entry); i >= 0; i = env.indexOf(entry, i + 1)) {
    const startsEntry = i === 0 || env[i - 1] === 0;
    const end = i + entry.length;
    if (startsEntry && (end === env.length || env[end] === 0)) return true;
  }
  return false;
}

export interface RunMarks {
  /** bcvk's process group (= its PID: it is started as a group leader). */
  pgid: number | null;
  /** bcvk's start time (ticks): members of the group started no earlier. */
  start: number | null;
  /** The environment marker's value. */
  tag: string;
}

export interface Leftover {
  pid: number;
  comm: string;
  /** How it was found: still in bcvk's process group, or only by the environment marker (it left the group). */
  by: 'group' | 'marker';
}

/** Live (non-zombie) processes that belong to the run, never `exclude` (ourselves). */
export function findRunProcesses(
  marks: RunMarks,
  opts: { procRoot?: string; exclude?: ReadonlySet<number> } = {},
): Leftover[] {
  const root = opts.procRoot ?? '/proc';
  const out: Leftover[] = [];
  for (const p of listProcesses(root)) {
    if (p.pid === process.pid || opts.exclude?.has(p.pid) || p.state === 'Z' || p.state === 'X') continue;
    const inGroup =
      marks.pgid !== null && p.pgrp === marks.pgid && (marks.start === null || p.start >= marks.start);
    if (inGroup) out.push({ pid: p.pid, comm: p.comm, by: 'group' });
    else if (hasTag(p.pid, marks.tag, root)) out.push({ pid: p.pid, comm: p.comm, by: 'marker' });
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * SIGKILL every process of the run still alive, then wait (at most `waitMs`) for them to be gone. Returns what was
 * killed and what survived (a process in uninterruptible sleep can outlive SIGKILL for a while).
 */
export async function killRunProcesses(
  marks: RunMarks,
  opts: { waitMs?: number; procRoot?: string } = {},
): Promise<{ killed: Leftover[]; survivors: Leftover[] }> {
  const found = findRunProcesses(marks, opts);
  const starts = new Map<number, number>();
  for (const l of found) {
    const info = procInfo(l.pid, opts.procRoot);
    if (info) starts.set(l.pid, info.start);
    try {
      process.kill(l.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const alive = (l: Leftover) => {
    const i = procInfo(l.pid, opts.procRoot);
    return i !== null && i.start === starts.get(l.pid) && i.state !== 'Z' && i.state !== 'X';
  };
  const deadline = Date.now() + (opts.waitMs ?? 3000);
  let left = found.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(alive);
  }
  return { killed: found, survivors: left };
}

/** "3 processes (sleep 1234, qemu-system-x86 1240, …)", for one stderr line. */
export function describeLeftovers(ls: readonly Leftover[], max = 6): string {
  const shown = ls
    .slice(0, max)
    .map((l) => `${l.comm} ${l.pid}${l.by === 'marker' ? ' (left the group)' : ''}`);
  const more = ls.length > max ? `, +${ls.length - max} more` : '';
  return `${ls.length} process${ls.length === 1 ? '' : 'es'} (${shown.join(', ')}${more})`;
}

/** What an active run leaves in the reports folder while it runs. */
export interface ActiveRun {
  schema: typeof ACTIVE_SCHEMA;
  /** The `vfs-analyze run` process and its start time (ticks). */
  owner: { pid: number; start: number | null };
  id: string;
  container: string;
  podman: string;
  bcvk: { pid: number | null; pgid: number | null; start: number | null };
  tag: string;
  /** The run's work folder (wrapper, logs) in --work-dir. */
  work: string;
  startedAt: string;
}

/** A temporary file writeFileAtomic leaves when its process is killed mid-write: `.NAME.json.PID.HEX.tmp`. */
const TEMP_NAME = /^\..+\.json\.(\d+)\.[0-9a-f]+\.tmp$/;

export function activeFile(reportsDir: string, container: string): string {
  return join(reportsDir, ACTIVE_DIR, `${container}.json`);
}

export async function writeActive(reportsDir: string, a: ActiveRun): Promise<string> {
  const dir = join(reportsDir, ACTIVE_DIR);
  await mkdir(dir, { recursive: true });
  const p = activeFile(reportsDir, a.container);
  // Replaced whole (a temporary file renamed over it): the file is rewritten once bcvk runs, and a run SIGKILLed
  // in the middle of an in-place rewrite left a torn file, which the sweep does not act on (its container and work
  // folder stayed for ever).
  await writeFileAtomic(p, `${JSON.stringify(a, null, 2)}\n`);
  return p;
}

export async function removeActive(reportsDir: string, container: string): Promise<void> {
  await unlink(activeFile(reportsDir, container)).catch(() => {});
}

/** Whether the owner of an active-run file is this very process or another live `vfs-analyze run`. */
function ownerAlive(a: ActiveRun, procRoot?: string): boolean {
  const i = procInfo(a.owner.pid, procRoot);
  if (!i || i.state === 'Z') return false;
  return a.owner.start === null || i.start === a.owner.start;
}

export interface SweptRun {
  file: string;
  id: string;
  ownerPid: number;
  container: string;
  startedAt: string;
  killed: Leftover[];
  survivors: Leftover[];
  /** `podman rm -f` result (null when not run). */
  containerRemoved: { ok: boolean; output: string } | null;
  workRemoved: boolean;
}

export interface SweepOptions {
  procRoot?: string;
  /** Remove a container (`podman rm -f NAME`); returns whether it succeeded and what it printed. */
  removeContainer: (podman: string, name: string) => Promise<{ ok: boolean; output: string }>;
  waitMs?: number;
}

/**
 * Find active-run files left by runs whose `vfs-analyze` is gone (killed), and remove what those runs left: their
 * processes (group + marker), their container, their work folder; then the file. Files of live runs (a concurrent
 * `vfs-analyze run` on the same reports folder) are left alone.
 */
export async function sweepKilledRuns(reportsDir: string, opts: SweepOptions): Promise<SweptRun[]> {
  const dir = join(reportsDir, ACTIVE_DIR);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  // the temporary file of a write its run was killed in the middle of (see writeActive): its pid is in its name
  for (const n of (await readdir(dir)).filter((x) => TEMP_NAME.test(x))) {
    const pid = Number(TEMP_NAME.exec(n)?.[1]);
    const writer = procInfo(pid, opts.procRoot);
    if (pid !== process.pid && (writer === null || writer.state === 'Z'))
      await unlink(join(dir, n)).catch(() => {});
  }
  const out: SweptRun[] = [];
  for (const n of names.sort()) {
    const file = join(dir, n);
    let a: ActiveRun;
    try {
      a = JSON.parse(await readFile(file, 'utf8')) as ActiveRun;
      if (a.schema !== ACTIVE_SCHEMA || typeof a.tag !== 'string' || typeof a.owner?.pid !== 'number')
        throw new Error('not an active-run file');
    } catch {
      continue; // torn or foreign: not ours to act on
    }
    if (ownerAlive(a, opts.procRoot)) continue;
    const { killed, survivors } = await killRunProcesses(
      { pgid: a.bcvk?.pgid ?? null, start: a.bcvk?.start ?? null, tag: a.tag },
      { procRoot: opts.procRoot, waitMs: opts.waitMs },
    );
    let containerRemoved: SweptRun['containerRemoved'] = null;
    if (a.container && a.podman) containerRemoved = await opts.removeContainer(a.podman, a.container);
    let workRemoved = false;
    if (a.work && /\/vfs-analyze-[^/]+$/.test(a.work)) {
      await rm(a.work, { recursive: true, force: true }).then(
        () => {
          workRemoved = true;
        },
        () => {},
      );
    }
    if (survivors.length === 0) await unlink(file).catch(() => {});
    out.push({
      file,
      id: a.id,
      ownerPid: a.owner.pid,
      container: a.container,
      startedAt: a.startedAt,
      killed,
      survivors,
      containerRemoved,
      workRemoved,
    });
  }
  return out;
}

/** One stderr line about a swept run. */
export function describeSwept(s: SweptRun): string {
  const what: string[] = [];
  if (s.killed.length > 0) what.push(`killed ${describeLeftovers(s.killed)}`);
  if (s.containerRemoved) {
    what.push(
      s.containerRemoved.ok
        ? `container ${s.container} gone (podman rm -f)`
        : `could not remove container ${s.container} (${s.containerRemoved.output.trim().split('\n').pop() ?? ''})`,
    );
  }
  if (s.workRemoved) what.push('removed its work folder');
  if (s.survivors.length > 0) what.push(`still alive after SIGKILL: ${describeLeftovers(s.survivors)}`);
  const did = s.killed.length === 0 ? 'no process of it was left' : '';
  return (
    `an earlier run (${s.id}, vfs-analyze pid ${s.ownerPid}, started ${s.startedAt}) was killed before it cleaned up: ` +
    `${[did, ...what].filter((x) => x !== '').join('; ')}`
  );
}

/** Owner facts of this process (for {@link ActiveRun.owner}). */
export function selfOwner(): ActiveRun['owner'] {
  return { pid: process.pid, start: procInfo(process.pid)?.start ?? null };
}
