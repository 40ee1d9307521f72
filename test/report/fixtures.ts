/** Report inputs for the renderer tests: real captures with hand-made verdicts/milestones (until the engine exists). */
import { existsSync, readFileSync } from 'node:fs';
import type { InputAnalysis } from '../../src/analyze/virtiofsd-analysis.js';
import type { RunRecord } from '../../src/launch/run-record.js';
import { parseCompare, type Variant } from '../../src/launch/variants.js';
import { analysisDocument } from '../../src/report/json.js';
import type {
  ComparisonResult,
  ComparisonRun,
  ComparisonVariant,
  GuestMilestone,
  ReportDocument,
  ReportInput,
} from '../../src/report/model.js';
import type { Verdict, VerdictKind } from '../../src/verdict/types.js';
import { analyzeFile } from '../support/analyze.js';

export const LAB = new URL('../../fixtures/lab/', import.meta.url).pathname;
export const LIVELOCK_DIR = `${LAB}rust-1.13.2-loop2-10s-cache-never/`;

/** Markup that must never become live: if it executed it would set window.__pwned. */
export const XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

const cache = new Map<string, InputAnalysis>();
export function analyzed(dir: string): InputAnalysis {
  let a = cache.get(dir);
  if (!a) {
    a = analyzeFile(`${dir}virtiofsd.log.gz`);
    cache.set(dir, a);
  }
  return structuredClone(a);
}

/** `[2026-11-27 03:02:10.143691+0000] text` lines of a host-stamped guest log. */
export function stampedLines(file: string): { time: number; text: string }[] {
  if (!existsSync(file)) return [];
  const out: { time: number; text: string }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\+0000\] (.*)$/.exec(line);
    if (m) out.push({ time: Date.parse(`${m[1]}T${m[2].slice(0, 12)}Z`), text: m[3] });
  }
  return out;
}

function milestoneKind(text: string): string {
  if (/poweroff/.test(text)) return 'poweroff';
  if (/mounted virtiofs/.test(text)) return 'unit-ok';
  if (/: start|alternately stat/.test(text)) return 'pattern';
  return 'progress';
}

/** Guest milestones from the lab's debug port plus two console lines, one carrying injected markup. */
export function labMilestones(dir: string): GuestMilestone[] {
  const port = stampedLines(`${dir}debug-port.host-stamped.log`).map((l) => ({
    time: l.time,
    text: l.text,
    kind: milestoneKind(l.text),
  }));
  const consoleLines = stampedLines(`${dir}console.host-stamped.log`);
  const runInit = consoleLines.find((l) => l.text.includes('Run /init'));
  const ms: GuestMilestone[] = [...port];
  if (runInit) ms.push({ time: runInit.time, text: runInit.text, kind: 'unit-started' });
  if (port[0]) ms.push({ time: port[0].time + 50, text: `echo ${XSS}`, kind: 'pattern' });
  return ms.sort((a, b) => a.time - b.time);
}

export function livelockVerdict(a: InputAnalysis, milestones: GuestMilestone[]): Verdict {
  const loopStart = milestones.find((m) => m.text.includes('alternately stat'))?.time ?? a.time.first ?? 0;
  const end = a.time.last ?? loopStart;
  const pid = a.byPid[0];
  return {
    kind: 'livelock',
    confidence: 0.93,
    title: `livelock: pid ${pid.pid} (sh) Lookup(1)→Getattr→Forget ×7.6k since 03:02:10`,
    reason:
      'Requests kept arriving at ~8,000/s, every one answered OK, while the guest console made no progress.',
    onset: loopStart,
    onsetMethod: 'last guest progress',
    durationSec: (end - loopStart) / 1000,
    culprits: [{ pid: pid.pid, name: 'sh', requests: pid.requests, share: pid.share }],
    loop: {
      tokens: ['Lookup(1)', 'Getattr(new)', 'Lookup(new)', 'Getattr(new)', 'Forget(new)'],
      period: 11,
      repetitions: 7600,
      ratePerSec: 760,
      share: 0.99,
    },
    criticalTransition: {
      lastProgress: { time: loopStart, text: 'livelock: alternately stat /mnt/a and /mnt/dir/b for 10s' },
    },
    evidence: [{ input: 'virtiofsd', file: 'virtiofsd.log', line: 12, lineEnd: 220469, what: 'loop body' }],
    hostOnly: false,
    window: { start: loopStart, end: end + 1000 },
  };
}

/** The real livelock capture, enriched with a hand-made verdict, milestones, PID names and injected markup. */
export function livelockInput(): ReportInput {
  const a = analyzed(LIVELOCK_DIR);
  const milestones = labMilestones(LIVELOCK_DIR);
  a.lines.unrecognizedSamples.push({ line: 99, text: `garbage ${XSS} & "quotes" 'single'` });
  return {
    ...a,
    file: 'rust-1.13.2-loop2-10s-cache-never/virtiofsd.log.gz',
    verdict: livelockVerdict(a, milestones),
    milestones,
    pidNames: { '1': `sh ${XSS}`, '0': 'kernel (forget)' },
  };
}

export function livelockDocument(): ReportDocument {
  return analysisDocument('0.1.0-test', [livelockInput()], []);
}

/**
 * Outcomes of the captures in the comparison and run-record fixtures, fixed here: the renderer tests need some
 * livelock runs, and truth.json follows the verdict's semantics (the 4 s loops that ended before a clean poweroff
 * are now healthy runs with a loop episode).
 */
const RUN_OUTCOME: Record<string, VerdictKind> = {
  'rust-1.13.2-loop2-4s-cache-never': 'livelock',
  'rust-1.13.2-loop3-4s-cache-never': 'livelock',
  'rust-1.13.2-unpack-cache-never': 'busy',
  'rust-1.13.2-loop2-4s-cache-metadata': 'healthy',
  'rust-1.13.2-walk-cache-metadata': 'healthy',
};

function runOutcome(dir: string): VerdictKind {
  const kind = RUN_OUTCOME[dir];
  if (!kind) throw new Error(`no fixed outcome for ${dir}`);
  return kind;
}

function expected(dir: string): VerdictKind {
  const truth = JSON.parse(readFileSync(`${dir}truth.json`, 'utf8')) as { expected: VerdictKind };
  return truth.expected;
}

/** A real comparison: cache=never vs cache=metadata captures, outcomes from {@link RUN_OUTCOME}. */
export function labComparison(): ComparisonResult {
  const variant = (name: string, description: string, dirs: string[]): ComparisonVariant => ({
    name,
    description,
    runs: dirs.map((d): ComparisonRun => {
      const a = analyzed(`${LAB}${d}/`);
      const kind = runOutcome(d);
      return {
        id: d,
        outcome: kind,
        title: `${kind}: ${d}`,
        requests: a.totals.requests,
        ratePerSec: a.rate.meanPerSec,
        bootSec: null,
      };
    }),
  });
  const never = variant('rust 1.13.2 cache=never', 'Rust virtiofsd, --cache never', [
    'rust-1.13.2-loop2-4s-cache-never',
    'rust-1.13.2-loop3-4s-cache-never',
    'rust-1.13.2-unpack-cache-never',
  ]);
  const metadata = variant('rust 1.13.2 cache=metadata', 'Rust virtiofsd, --cache metadata', [
    'rust-1.13.2-loop2-4s-cache-metadata',
    'rust-1.13.2-walk-cache-metadata',
  ]);
  metadata.runs.push({ id: 'run-3', outcome: 'error', error: `qemu exited 1 before boot: ${XSS}` });
  return {
    title: 'cache=never vs cache=metadata (lab captures)',
    outcome: 'livelock',
    variants: [never, metadata, { name: `variant ${XSS}`, runs: [] }],
  };
}

export function healthyInput(dir: string): ReportInput {
  const a = analyzed(`${LAB}${dir}/`);
  const kind = expected(`${LAB}${dir}/`);
  return {
    ...a,
    file: `${dir}/virtiofsd.log.gz`,
    verdict: {
      kind,
      confidence: 0.9,
      title: `${kind}: ${dir}`,
      reason: 'hand-made test verdict',
      onset: null,
      durationSec: null,
      culprits: [],
      evidence: [],
      hostOnly: true,
    },
  };
}

/** Run records (as the launcher writes them) built from the lab captures: cache=never vs cache=metadata. */
export function labRunRecords(): RunRecord[] {
  const [never, metadata] = parseCompare(['cache=never,metadata']);
  const rec = (variant: Variant, dir: string, i: number): RunRecord => {
    const a = analyzed(`${LAB}${dir}/`);
    const kind = runOutcome(dir);
    const pid = a.byPid[0];
    return {
      schema: 'vfs-analyze.run',
      schemaVersion: 1,
      id: `${dir}-${i}`,
      variant,
      command: ['bcvk', 'ephemeral', 'run', 'img'],
      versions: { tool: '0.1.0', virtiofsd: '1.13.2' },
      host: { detectVirt: 'none', nested: false },
      startedAt: '2026-11-27T03:00:00Z',
      stoppedAt: '2026-11-27T03:01:00Z',
      stopReason: kind === 'livelock' ? 'livelock' : 'goal',
      outcome: { kind: kind === 'livelock' ? 'livelock' : 'healthy', title: `${kind}: ${dir}` },
      timeToOutcomeSec: a.time.durationSec,
      totals: { requests: a.totals.requests, durationSec: a.time.durationSec, ratePerSec: a.rate.meanPerSec },
      topLoopingPid: pid
        ? { pid: pid.pid, name: `sh ${XSS}`, requests: pid.requests, share: pid.share }
        : null,
      analysisPath: null,
    };
  };
  const out: RunRecord[] = [];
  for (let i = 0; i < 4; i++) {
    out.push(rec(never, i % 2 ? 'rust-1.13.2-loop2-4s-cache-never' : 'rust-1.13.2-loop3-4s-cache-never', i));
    out.push(
      rec(metadata, i % 2 ? 'rust-1.13.2-loop2-4s-cache-metadata' : 'rust-1.13.2-walk-cache-metadata', i),
    );
  }
  const failed = rec(metadata, 'rust-1.13.2-walk-cache-metadata', 9);
  out.push({
    ...failed,
    outcome: { kind: 'error' },
    stopReason: 'error',
    exitCode: 1,
    notes: [`qemu failed: ${XSS}`],
  });
  return out;
}

/** A 20-token loop signature: long enough that headlines must shorten it. */
export const LONG_SIGNATURE = Array.from({ length: 20 }, (_, i) =>
  i % 2 ? `Getattr(${i})` : `Lookup(${i})`,
);

/**
 * A verdict with two loop episodes (one still running at the end with a 20-token signature, one transient loop
 * followed by progress), what the guest waits on, and a culprit whose unit is inferred.
 */
export function episodeVerdict(kind: VerdictKind, base: number): Verdict {
  const sig = LONG_SIGNATURE.join('→');
  const ptr = (line: number, what: string) => ({ input: 'virtiofsd' as const, line, what });
  return {
    kind,
    confidence: 0.8,
    title: `${kind}: pid 1 (systemd) ${sig} ×12k since 03:02:10`,
    reason: 'hand-made test verdict with loop episodes',
    onset: base + 20_000,
    durationSec: 40,
    culprits: [
      { pid: 1, name: 'systemd', requests: 12_000, share: 0.9, inferredUnit: 'vfs-lab-loop.service' },
    ],
    evidence: [],
    hostOnly: false,
    episodes: [
      {
        pid: 1,
        name: 'systemd',
        tokens: LONG_SIGNATURE,
        period: 20,
        repetitions: 12_000,
        requests: 240_000,
        start: base + 20_000,
        end: base + 60_000,
        durationSec: 40,
        ratePerSec: 6000,
        longestNoProgressSec: 40,
        outcome: 'running',
        summary: `loop still running at the end: pid 1 (systemd) ${sig} ×12k for 40 s`,
        evidence: [ptr(100, 'first looping request (pid 1)')],
      },
      {
        pid: 417,
        tokens: ['Getattr(1)', 'Lookup(1)'],
        period: 2,
        repetitions: 2600,
        requests: 5200,
        start: base + 2_000,
        end: base + 5_000,
        durationSec: 3,
        ratePerSec: 1733,
        longestNoProgressSec: 3,
        outcome: 'progress',
        after: {
          time: base + 5_500,
          text: 'Started udev Coldplug all Devices.',
          pointer: { input: 'console', line: 42, what: 'guest progress after the loop' },
        },
        summary:
          'transient loop: pid 417 Getattr(1)→Lookup(1) ×2.6k for 3 s, then progress (Started udev Coldplug all Devices.)',
        evidence: [ptr(10, 'first looping request (pid 417)')],
      },
    ],
    waitingOn: [
      {
        subject: 'vfs-lab-loop.service',
        unit: 'vfs-lab-loop.service',
        job: 'start',
        waitedSec: 114,
        limitSec: null,
        firstSeen: base + 25_000,
        lastSeen: base + 59_000,
        pointer: { input: 'console', line: 77, what: 'guest waiting: vfs-lab-loop.service' },
      },
    ],
  };
}

/** A real capture carrying {@link episodeVerdict}. */
export function episodeInput(kind: VerdictKind = 'livelock'): ReportInput {
  const a = analyzed(`${LAB}rust-1.13.2-walk-cache-metadata/`);
  return {
    ...a,
    file: 'episodes/virtiofsd.log.gz',
    verdict: episodeVerdict(kind, a.time.first ?? Date.UTC(2026, 10, 27, 3, 2, 0)),
  };
}
