/** The `--json` document: one versioned object, documented in README.md ("JSON output"). */
import type { Correlation } from '../analyze/correlate.js';
import type { GuestResult } from '../analyze/guest-session.js';
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';
import type { Verdict } from '../verdict/types.js';

export const ANALYSIS_SCHEMA = 'vfs-analyze.analysis';
export const ANALYSIS_SCHEMA_VERSION = 1;

export interface InputErrorRecord {
  file: string;
  message: string;
  exitCode: number;
}

export interface AnalysisDocument {
  schema: typeof ANALYSIS_SCHEMA;
  schemaVersion: typeof ANALYSIS_SCHEMA_VERSION;
  tool: { name: 'vfs-analyze'; version: string };
  inputs: (InputAnalysis & {
    verdict?: Verdict;
    correlation?: Correlation;
    pidNames?: Record<string, string>;
  })[];
  /** Guest-side results when --console/--journal/--debug-port/--run-dir gave any. */
  guest?: GuestResult;
  errors: InputErrorRecord[];
}

export function analysisDocument(
  version: string,
  inputs: InputAnalysis[],
  errors: InputErrorRecord[],
  guest: GuestResult | null = null,
  correlations: (Correlation | null)[] = [],
  verdicts: (Verdict | null)[] = [],
): AnalysisDocument {
  const doc: AnalysisDocument = {
    schema: ANALYSIS_SCHEMA,
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    tool: { name: 'vfs-analyze', version },
    inputs: inputs.map((a, i) => {
      const c = correlations[i];
      const v = verdicts[i];
      // The verdict comes first: it is what a reader (or a CI step) wants to see before anything else.
      return {
        ...(v ? { verdict: v } : {}),
        ...a,
        ...(c && guest ? { correlation: c, pidNames: guest.pidNames } : {}),
      };
    }),
    errors,
  };
  if (guest) doc.guest = guest;
  return doc;
}

export function renderJson(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
