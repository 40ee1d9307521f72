/**
 * The run record: one VM launch, as saved under `reports/runs/<id>/run.json` and read back by
 * `vfs-analyze compare`. Plain data; ISO-8601 UTC strings for wall-clock times.
 */

import type { Mitigation, Variant } from './variants.js';

export const RUN_RECORD_SCHEMA = 'vfs-analyze.run';
export const RUN_RECORD_SCHEMA_VERSION = 1;

/** Why the launcher stopped the run. */
export type StopReason = 'goal' | 'livelock' | 'deadlock' | 'stall' | 'timeout' | 'error' | 'interrupted';
export const STOP_REASONS: readonly StopReason[] = [
  'goal',
  'livelock',
  'deadlock',
  'stall',
  'timeout',
  'error',
  'interrupted',
];

/**
 * What the run amounted to. `healthy`: the boot reached its goal. `livelock`/`deadlock`/`stall`: a confirmed verdict.
 * `busy`/`inconclusive`: the timeout hit without a confirmed verdict (from the verdict engine's last word).
 * `error`: infrastructure failure (bcvk/virtiofsd/QEMU failed) and `interrupted`: the user stopped it — both are
 * left out of outcome rates.
 */
export type OutcomeKind =
  | 'healthy'
  | 'livelock'
  | 'deadlock'
  | 'stall'
  | 'busy'
  | 'inconclusive'
  | 'error'
  | 'interrupted';
export const OUTCOME_KINDS: readonly OutcomeKind[] = [
  'healthy',
  'livelock',
  'deadlock',
  'stall',
  'busy',
  'inconclusive',
  'error',
  'interrupted',
];
/** Outcomes that say nothing about the variant (excluded from rates and tests). */
export const INVALID_OUTCOMES: ReadonlySet<OutcomeKind> = new Set<OutcomeKind>(['error', 'interrupted']);

export interface RunRecord {
  schema: typeof RUN_RECORD_SCHEMA;
  schemaVersion: typeof RUN_RECORD_SCHEMA_VERSION;
  /** Unique, filesystem-safe; also the folder name under reports/runs/. */
  id: string;
  variant: Variant;
  /** Position in the experiment: repetition k of N of this variant, and the global order (interleaving). */
  schedule?: { run: number; runs: number; order: number; experiment?: string };
  /** The exact argv, program first (never a shell string). */
  command: string[];
  versions: {
    tool: string;
    bcvk?: string | null;
    virtiofsd?: string | null;
    kernel?: string | null;
    qemu?: string | null;
  };
  host: {
    /** `systemd-detect-virt` output ("none", "kvm", ...), null when unknown. */
    detectVirt?: string | null;
    /** True when the host itself is a VM (nested virtualization). */
    nested?: boolean | null;
    hostname?: string;
    kernel?: string;
    cpus?: number;
  };
  startedAt: string;
  stoppedAt: string;
  stopReason: StopReason;
  outcome: { kind: OutcomeKind; title?: string; confidence?: number };
  /** Seconds from start to the outcome (goal reached or verdict confirmed); null when none was reached. */
  timeToOutcomeSec: number | null;
  totals: { requests: number; durationSec: number; ratePerSec: number };
  /** The looping PID named by the verdict (livelock), else the busiest PID; null when none. */
  topLoopingPid: { pid: number; name?: string; requests: number; share: number } | null;
  /** Path of the full analysis JSON, relative to the run folder (or absolute). */
  analysisPath: string | null;
  /** Captured logs, relative to the run folder. */
  logs?: { virtiofsd?: string; console?: string; journal?: string; bcvkStderr?: string };
  /** bcvk's exit code (null when killed by a signal). */
  exitCode?: number | null;
  notes?: string[];
}

/** Thrown by {@link parseRunRecord}: the message names the first problem. */
export class RunRecordError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function mitigationOk(m: unknown): m is Mitigation {
  if (!isObj(m)) return false;
  switch (m.kind) {
    case 'cache':
      return typeof m.mode === 'string';
    case 'threads':
      return isNum(m.n);
    case 'karg':
    case 'bcvk':
      return typeof m.arg === 'string';
    case 'journal':
      return m.mode === 'volatile';
    default:
      return false;
  }
}

/** Validate a parsed run.json (shape and enums, not every optional field); throws RunRecordError. */
export function parseRunRecord(v: unknown): RunRecord {
  const fail = (what: string): never => {
    throw new RunRecordError(`not a vfs-analyze run record: ${what}`);
  };
  if (!isObj(v)) return fail('not an object');
  if (v.schema !== RUN_RECORD_SCHEMA) fail(`schema is ${JSON.stringify(v.schema)}`);
  if (v.schemaVersion !== RUN_RECORD_SCHEMA_VERSION)
    fail(`unsupported schemaVersion ${String(v.schemaVersion)}`);
  if (typeof v.id !== 'string' || v.id === '') fail('id');
  const variant = v.variant;
  if (!isObj(variant) || typeof variant.name !== 'string' || !Array.isArray(variant.mitigations))
    fail('variant');
  if (!(variant as Obj & { mitigations: unknown[] }).mitigations.every(mitigationOk))
    fail('variant.mitigations');
  if (!Array.isArray(v.command) || !v.command.every((a) => typeof a === 'string')) fail('command');
  if (!isObj(v.versions) || typeof v.versions.tool !== 'string') fail('versions');
  if (!isObj(v.host)) fail('host');
  for (const k of ['startedAt', 'stoppedAt'] as const) {
    if (typeof v[k] !== 'string' || Number.isNaN(Date.parse(v[k] as string))) fail(k);
  }
  if (!STOP_REASONS.includes(v.stopReason as StopReason)) fail(`stopReason ${String(v.stopReason)}`);
  if (!isObj(v.outcome) || !OUTCOME_KINDS.includes(v.outcome.kind as OutcomeKind)) fail('outcome.kind');
  if (v.timeToOutcomeSec !== null && !isNum(v.timeToOutcomeSec)) fail('timeToOutcomeSec');
  const t = v.totals;
  if (!isObj(t) || !isNum(t.requests) || !isNum(t.durationSec) || !isNum(t.ratePerSec)) fail('totals');
  const top = v.topLoopingPid;
  if (top !== null && (!isObj(top) || !isNum(top.pid) || !isNum(top.requests) || !isNum(top.share))) {
    fail('topLoopingPid');
  }
  if (v.analysisPath !== null && typeof v.analysisPath !== 'string') fail('analysisPath');
  return v as unknown as RunRecord;
}
