/**
 * The one error hierarchy of vfs-analyze and the one place that decides exit codes.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | analysed (warnings may have been printed) |
 * | 1 | a `--fail-on` condition matched, or the gate found a regression |
 * | 2 | usage error, or an input could not be read (missing, a directory, no permission, corrupt gzip) |
 * | 3 | an input was read but is not usable: empty, binary, or not a virtiofsd debug log |
 * | 4 | internal error (a bug: please report it) |
 * | 5 | `run`: no run could be carried out (bcvk, virtiofsd or QEMU failed to start in every run) |
 * | 6 | an output could not be written (stdout, a report path, the reports folder): no space, read-only, permission, a directory, a non-regular file in the way |
 * | 130 | interrupted (SIGINT) |
 */

export const ExitCode = {
  ok: 0,
  failOn: 1,
  usage: 2,
  badInput: 3,
  internal: 4,
  launch: 5,
  output: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class VfsError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Wrong command line: unknown option, bad value, missing argument. */
export class UsageError extends VfsError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** An input file that cannot be read at all. */
export class InputError extends VfsError {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`, ExitCode.usage);
    this.file = file;
  }
}

/** An input that was read but holds nothing usable (empty, binary, not the expected kind of log). */
export class UnusableInputError extends VfsError {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`, ExitCode.badInput);
    this.file = file;
  }
}

/** A `--fail-on` condition held: the analysis itself succeeded and was written. */
export class FailOnError extends VfsError {
  constructor(message: string) {
    super(message, ExitCode.failOn);
  }
}

/** `vfs-analyze run`: the launch itself failed in every run (records were still written). */
export class LaunchError extends VfsError {
  constructor(message: string) {
    super(message, ExitCode.launch);
  }
}

/**
 * An output could not be written: the user's environment (ENOSPC, EROFS, EACCES, EISDIR, a device or link where a
 * report file goes), not a bug. The message names the path and the errno.
 */
export class OutputError extends VfsError {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`, ExitCode.output);
    this.path = path;
  }
}

const OUTPUT_ERRNO: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENOENT: 'no such directory',
};

/** Translate a Node error while writing `path` into an OutputError (`ENOSPC: no space left on device`). */
export function outputError(path: string, err: unknown): VfsError {
  if (err instanceof VfsError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const what = code
    ? `${code}: ${OUTPUT_ERRNO[code] ?? e.message.replace(/^[A-Z]+: /, '').split(',')[0]}`
    : String(e?.message ?? err);
  return new OutputError(path, `cannot write: ${what}`);
}

export class InterruptedError extends VfsError {
  constructor() {
    super('interrupted', ExitCode.interrupted);
  }
}

/** Map any thrown value to an exit code and a one-line message (no stack trace unless VFS_DEBUG is set). */
export function describeError(err: unknown): { code: ExitCodeValue; message: string } {
  if (err instanceof VfsError) return { code: err.exitCode, message: err.message };
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e === 'object' && e.code === 'EPIPE') return { code: ExitCode.ok, message: '' };
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(err);
  return {
    code: ExitCode.internal,
    message: `internal error: ${text} (set VFS_DEBUG=1 for a stack trace; please report it)`,
  };
}

/** Translate a Node file-system error on `file` into an InputError with a plain message. */
export function fsError(file: string, err: unknown): VfsError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return new InputError(file, 'no such file');
    case 'EISDIR':
      return new InputError(file, 'is a directory, not a log file');
    case 'EACCES':
    case 'EPERM':
      return new InputError(file, 'permission denied');
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return new InputError(file, `corrupt gzip data (${e.message})`);
    default:
      if (e instanceof VfsError) return e;
      return new InputError(file, e?.message ?? String(err));
  }
}
