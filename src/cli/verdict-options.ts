/** Verdict-related options shared by the analyze, run and follow commands: patterns, thresholds, fail-on, config. */
import { UsageError } from '../errors.js';
import { readJson } from '../io/read-json.js';
import { LONG_EPISODE } from '../verdict/fail-on.js';
import { DEFAULT_THRESHOLDS, resolveThresholds, type VerdictThresholdsInput } from '../verdict/thresholds.js';
import { VERDICT_KINDS } from '../verdict/types.js';

export function parsePatterns(list: string[]): RegExp[] {
  return list.map((p) => {
    try {
      return new RegExp(p);
    } catch (e) {
      throw new UsageError(
        `--progress-pattern: invalid regular expression ${JSON.stringify(p)}: ${(e as Error).message}`,
      );
    }
  });
}

export interface ConfigFile {
  thresholds?: Record<string, number>;
  failOn?: string[];
  progressPatterns?: string[];
}

/** A config file is a few hundred bytes; 1 MiB is generous, and `--config /dev/zero` fails at once. */
export const MAX_CONFIG_BYTES = 1 << 20;

export async function readConfig(path: string | undefined): Promise<ConfigFile> {
  if (path === undefined) return {};
  const c = await readJson(path, MAX_CONFIG_BYTES);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new UsageError(`${path}: invalid config file: not a JSON object`);
  }
  return c as ConfigFile;
}

export function parseThresholds(
  list: string[],
  fromConfig: Record<string, number> = {},
): VerdictThresholdsInput {
  const out: Record<string, number> = { ...fromConfig };
  for (const item of list) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--threshold expects NAME=VALUE, got ${JSON.stringify(item)}`);
    out[m[1]] = Number(m[2]);
  }
  const known = Object.keys(DEFAULT_THRESHOLDS);
  for (const k of Object.keys(out)) {
    if (!known.includes(k))
      throw new UsageError(`unknown threshold ${JSON.stringify(k)} (known: ${known.join(', ')})`);
  }
  try {
    resolveThresholds(out as VerdictThresholdsInput);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return out as VerdictThresholdsInput;
}

export function parseFailOn(list: string[]): Set<string> {
  const kinds = new Set<string>();
  const known: readonly string[] = [...VERDICT_KINDS, LONG_EPISODE];
  for (const item of list.flatMap((x) => x.split(','))) {
    const k = item.trim();
    if (k === '') continue;
    if (!known.includes(k)) {
      throw new UsageError(`--fail-on: unknown verdict ${JSON.stringify(k)} (one of ${known.join(', ')})`);
    }
    kinds.add(k);
  }
  return kinds;
}
