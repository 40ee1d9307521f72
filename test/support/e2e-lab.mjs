// The e2e tests' lab check, shared by `npm run e2e` (test/support/e2e.mjs) and the e2e vitest globalSetup:
// real VMs need the lab provisioned (lab/provision.sh) and the systemd root built (lab/build-systemd-root.sh).
// A missing lab is a failure, never a pass with every VM test skipped; VFS_E2E_SKIP=1 is the explicit opt-out.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const LAB_CACHE = process.env.LAB_CACHE ?? join(ROOT, '.lab-cache');

const nonEmpty = (p) => existsSync(p) && statSync(p).size > 0;

/** null when the lab can boot every e2e guest, else one line saying what is missing and how to get it. */
export function labMissing() {
  if (!existsSync(join(LAB_CACHE, 'env.sh')))
    return `VM lab not provisioned (${join(LAB_CACHE, 'env.sh')} missing): run bash lab/ci-e2e.sh (or sudo lab/provision.sh && sudo lab/build-systemd-root.sh)`;
  for (const f of ['systemd-root.tar', 'initramfs-sysroot-nomod.cpio.gz'])
    if (!nonEmpty(join(LAB_CACHE, f)))
      return `systemd guest root not built (${join(LAB_CACHE, f)} missing): run sudo lab/build-systemd-root.sh`;
  if (process.getuid?.() !== 0)
    return 'the VM lab runs QEMU and virtiofsd as root: run the e2e tests as root';
  return null;
}

/** True when the user opted out with VFS_E2E_SKIP=1. */
export const e2eSkipped = () => process.env.VFS_E2E_SKIP === '1';
