/** globalSetup of vitest.e2e.config.ts: dist/ built, and the lab there (fail, or skip only with VFS_E2E_SKIP=1). */
import { e2eSkipped, labMissing } from './e2e-lab.mjs';
import buildDist from './global-setup.js';

export default function setup(): void {
  buildDist();
  if (e2eSkipped()) {
    console.log('e2e: SKIPPED (VFS_E2E_SKIP=1): the VM tests are skipped');
    return;
  }
  const missing = labMissing();
  if (missing !== null) throw new Error(`e2e: ${missing} (VFS_E2E_SKIP=1 skips the e2e tests)`);
}
