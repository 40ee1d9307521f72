/**
 * FUSE opcode and errno tables (include/uapi/linux/fuse.h, Linux errno-base.h/errno.h).
 * Names are the Rust virtiofsd Debug names; the C daemon's upper-case names map onto the same numbers.
 */

const OPCODE_NAMES: Record<number, string> = {
  1: 'Lookup',
  2: 'Forget',
  3: 'Getattr',
  4: 'Setattr',
  5: 'Readlink',
  6: 'Symlink',
  8: 'Mknod',
  9: 'Mkdir',
  10: 'Unlink',
  11: 'Rmdir',
  12: 'Rename',
  13: 'Link',
  14: 'Open',
  15: 'Read',
  16: 'Write',
  17: 'Statfs',
  18: 'Release',
  20: 'Fsync',
  21: 'Setxattr',
  22: 'Getxattr',
  23: 'Listxattr',
  24: 'Removexattr',
  25: 'Flush',
  26: 'Init',
  27: 'Opendir',
  28: 'Readdir',
  29: 'Releasedir',
  30: 'Fsyncdir',
  31: 'Getlk',
  32: 'Setlk',
  33: 'Setlkw',
  34: 'Access',
  35: 'Create',
  36: 'Interrupt',
  37: 'Bmap',
  38: 'Destroy',
  39: 'Ioctl',
  40: 'Poll',
  41: 'NotifyReply',
  42: 'BatchForget',
  43: 'Fallocate',
  44: 'Readdirplus',
  45: 'Rename2',
  46: 'Lseek',
  47: 'CopyFileRange',
  48: 'SetupMapping',
  49: 'RemoveMapping',
  50: 'Syncfs',
  51: 'TmpFile',
  52: 'Statx',
  53: 'CopyFileRange64',
  4096: 'CuseInit',
};

export const OP = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  READ: 15,
  INIT: 26,
  READDIR: 28,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  READDIRPLUS: 44,
} as const;

const nameCache: string[] = [];

/** Display name of an opcode number: the Rust Debug name, or `op<N>` when outside the table. */
export function opcodeName(opcode: number): string {
  if (opcode >= 0 && opcode < 8192) {
    const cached = nameCache[opcode];
    if (cached !== undefined) return cached;
    const name = OPCODE_NAMES[opcode] ?? `op${opcode}`;
    nameCache[opcode] = name;
    return name;
  }
  return OPCODE_NAMES[opcode] ?? `op${opcode}`;
}

/** Opcodes that never get a reply line from any daemon version. */
export function neverReplied(opcode: number): boolean {
  return opcode === OP.FORGET || opcode === OP.BATCH_FORGET || opcode === OP.INTERRUPT;
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EDEADLK',
  36: 'ENAMETOOLONG',
  37: 'ENOLCK',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
  42: 'ENOMSG',
  61: 'ENODATA',
  75: 'EOVERFLOW',
  95: 'EOPNOTSUPP',
  110: 'ETIMEDOUT',
  116: 'ESTALE',
  122: 'EDQUOT',
};

/** `ENOENT` for 2 or -2; `E<n>` when unknown. */
export function errnoName(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  return ERRNO_NAMES[n] ?? `E${n}`;
}
