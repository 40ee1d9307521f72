/** A minimal valid RunRecord for tests. */
import type { OutcomeKind, RunRecord } from '../../src/launch/run-record.js';

export function fakeRecord(
  id: string,
  variant: string,
  kind: OutcomeKind,
  requests: number,
  order = 0,
): RunRecord {
  return {
    schema: 'vfs-analyze.run',
    schemaVersion: 1,
    id,
    variant: {
      name: variant,
      mitigations: [{ kind: 'cache', mode: variant.endsWith('never') ? 'never' : 'metadata' }],
    },
    schedule: { run: 1, runs: 1, order },
    command: ['bcvk', 'ephemeral', 'run', 'img'],
    versions: { tool: '0.1.0' },
    host: {},
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, order)).toISOString(),
    stoppedAt: new Date(Date.UTC(2026, 0, 1, 0, 1, order)).toISOString(),
    stopReason: kind === 'healthy' ? 'goal' : kind === 'livelock' ? 'livelock' : 'error',
    outcome: { kind },
    timeToOutcomeSec: 5,
    totals: { requests, durationSec: 10, ratePerSec: requests / 10 },
    topLoopingPid: null,
    analysisPath: 'analysis.json',
  };
}
