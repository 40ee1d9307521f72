/** Run records (src/launch/run-record.ts) → the renderers' comparison input. Pure. */
import type { RunRecord } from '../launch/run-record.js';
import type { VerdictKind } from '../verdict/types.js';
import type { ComparisonResult, ComparisonVariant } from './model.js';

/** Group run records by variant (first-seen order), one {@link ComparisonResult} run per record. */
export function comparisonResultFromRuns(
  records: readonly RunRecord[],
  opts: { title?: string; outcome?: VerdictKind | 'problem' } = {},
): ComparisonResult {
  const byVariant = new Map<string, ComparisonVariant>();
  for (const r of records) {
    const name = r.variant.name || 'bcvk defaults';
    let v = byVariant.get(name);
    if (!v) {
      v = { name, description: r.variant.notes?.join(' '), runs: [] };
      byVariant.set(name, v);
    }
    const kind = r.outcome.kind;
    v.runs.push({
      id: r.id,
      outcome: kind,
      title: r.outcome.title,
      requests: r.totals.requests,
      ratePerSec: r.totals.ratePerSec,
      bootSec: kind === 'healthy' ? r.timeToOutcomeSec : null,
      ...(kind === 'error'
        ? {
            error: `${r.stopReason}${r.exitCode !== undefined && r.exitCode !== null ? `, exit ${r.exitCode}` : ''}${r.notes?.length ? `: ${r.notes.join('; ')}` : ''}`,
          }
        : {}),
    });
  }
  return { title: opts.title, outcome: opts.outcome ?? 'problem', variants: [...byVariant.values()] };
}
