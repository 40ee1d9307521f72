/** The `--json` document: one versioned object, documented in README.md ("JSON output"). */
import type { InputAnalysis } from '../analyze/virtiofsd-analysis.js';

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
  inputs: InputAnalysis[];
  errors: InputErrorRecord[];
}

export function analysisDocument(
  version: string,
  inputs: InputAnalysis[],
  errors: InputErrorRecord[],
): AnalysisDocument {
  return {
    schema: ANALYSIS_SCHEMA,
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    tool: { name: 'vfs-analyze', version },
    inputs,
    errors,
  };
}

export function renderJson(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
