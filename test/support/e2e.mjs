// `npm run e2e`: real VMs through the bcvk test double. Fails with one line when the lab is not provisioned;
// VFS_E2E_SKIP=1 skips every e2e test and says so (exit 0). Extra arguments go to vitest (e.g. a test file).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { e2eSkipped, labMissing, ROOT } from './e2e-lab.mjs';

if (e2eSkipped()) {
  console.log('e2e: SKIPPED (VFS_E2E_SKIP=1): no VM was booted, no e2e test ran');
  process.exit(0);
}
const missing = labMissing();
if (missing !== null) {
  console.error(`e2e: FAILED: ${missing} (VFS_E2E_SKIP=1 skips the e2e tests)`);
  process.exit(1);
}
const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
const r = spawnSync(
  process.execPath,
  [vitest, 'run', '--config', 'vitest.e2e.config.ts', ...process.argv.slice(2)],
  { cwd: ROOT, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
