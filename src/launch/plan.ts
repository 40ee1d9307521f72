/**
 * The exact bcvk command of one run, pure: an argument ARRAY for execa (never a shell string).
 *
 * ```
 * bcvk ephemeral run --name=NAME --log-dir=journal,console=DIR --virtiofsd=WRAPPER
 *      --karg=console=ttyS0 --karg=<variant kargs>... [--execute=CMD]... <variant bcvk args>... <extra args>... IMAGE
 * ```
 * - `--log-dir` is split by bcvk on the LAST `=`, so a DIR containing `=` is fine; DIR must already exist.
 * - `console=ttyS0` is added because bcvk never adds it and `console.txt` (the emulated UART) may otherwise stay empty
 *   (contract rule 6); it is left out when a `console=` karg is already given.
 * - Every option is written as one `--opt=value` token so that a value starting with `-` cannot be mistaken for an
 *   option by clap.
 * - The wrapper (and its debug log) must be where the container sees it: bcvk bind-mounts the host `/var/tmp`
 *   (run_ephemeral.rs:833) and runs virtiofsd with the host `/usr`. Other locations produce a warning.
 */

import { UsageError } from '../errors.js';
import { type Variant, variantEffect } from './variants.js';

export interface RunPlanInput {
  /** bcvk program (path or name on PATH). */
  bcvk: string;
  image: string;
  /** Unique container name (see {@link containerName}). */
  name: string;
  /** Absolute, existing directory for journal.json / journal-initrd.json / console.txt. */
  logDir: string;
  /** Absolute path of the generated virtiofsd wrapper. */
  wrapperPath: string;
  variant: Variant;
  /** `--execute` commands (each one ExecStart= line in the guest). */
  execute?: readonly string[];
  /** Extra bcvk arguments for every run (after the variant's). */
  extraArgs?: readonly string[];
  /** Add `--karg=console=ttyS0` unless a console= karg is present (default true). */
  serialConsole?: boolean;
}

export interface RunPlan {
  file: string;
  args: string[];
  /** Paths bcvk will write (from `--log-dir`). */
  outputs: { journal: string; journalInitrd: string; console: string };
  kargs: string[];
  /** Things that may not work as intended (not errors). */
  warnings: string[];
}

/** podman container names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** A filesystem- and podman-safe slug of a variant name ("cache=never threads=4" → "cache-never-threads-4"). */
export function slug(s: string, max = 40): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return out === '' ? 'run' : out;
}

/**
 * A unique run id: `<UTC yyyymmddThhmmssZ>-<variant slug>-r<k>-<nonce>` (nonce: a few random base-36 chars from the
 * caller, so this stays pure).
 */
export function makeRunId(start: Date, variantName: string, run: number, nonce: string): string {
  const t = start
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const n = slug(nonce, 12);
  return `${t}-${slug(variantName)}-r${run}-${n}`;
}

/** Container name for a run id. */
export function containerName(runId: string): string {
  const name = `vfs-analyze-${runId}`.slice(0, 128);
  if (!CONTAINER_NAME.test(name)) throw new UsageError(`cannot make a container name from run id ${runId}`);
  return name;
}

function joinPath(dir: string, file: string): string {
  return dir.endsWith('/') ? `${dir}${file}` : `${dir}/${file}`;
}

export function planBcvkRun(input: RunPlanInput): RunPlan {
  const warnings: string[] = [];
  if (!CONTAINER_NAME.test(input.name)) {
    throw new UsageError(
      `container name "${input.name}" is not valid for podman ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
    );
  }
  if (!input.logDir.startsWith('/'))
    throw new UsageError(`log dir must be an absolute path: ${input.logDir}`);
  if (!input.wrapperPath.startsWith('/')) {
    throw new UsageError(`virtiofsd wrapper must be an absolute path: ${input.wrapperPath}`);
  }
  if (input.image === '' || input.image.startsWith('-'))
    throw new UsageError(`invalid image "${input.image}"`);
  if (!/^\/(var\/tmp|usr)\//.test(input.wrapperPath)) {
    warnings.push(
      `the virtiofsd wrapper ${input.wrapperPath} is outside /var/tmp and /usr: real bcvk runs virtiofsd inside its ` +
        'container, which only sees the host /var/tmp and /usr',
    );
  }
  const eff = variantEffect(input.variant);
  const kargs: string[] = [];
  if ((input.serialConsole ?? true) && !eff.kargs.some((k) => k.startsWith('console=')))
    kargs.push('console=ttyS0');
  kargs.push(...eff.kargs);
  const args = [
    'ephemeral',
    'run',
    `--name=${input.name}`,
    `--log-dir=journal,console=${input.logDir}`,
    `--virtiofsd=${input.wrapperPath}`,
    ...kargs.map((k) => `--karg=${k}`),
    ...(input.execute ?? []).map((c) => `--execute=${c}`),
    ...eff.bcvkArgs,
    ...(input.extraArgs ?? []),
    input.image,
  ];
  return {
    file: input.bcvk,
    args,
    outputs: {
      journal: joinPath(input.logDir, 'journal.json'),
      journalInitrd: joinPath(input.logDir, 'journal-initrd.json'),
      console: joinPath(input.logDir, 'console.txt'),
    },
    kargs,
    warnings,
  };
}

/** `podman rm -f NAME` as an argument array (cleanup after every run). */
export function planContainerRemoval(name: string, podman = 'podman'): { file: string; args: string[] } {
  if (!CONTAINER_NAME.test(name)) throw new UsageError(`invalid container name "${name}"`);
  return { file: podman, args: ['rm', '-f', name] };
}
