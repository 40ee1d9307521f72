import { defineConfig } from 'vitest/config';

/** `npm run e2e`: real VMs through the bcvk test double (lab/bcvk-double); needs lab/provision.sh + lab/build-systemd-root.sh (else it fails; VFS_E2E_SKIP=1 skips). */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // one VM at a time: TCG takes a full core
    fileParallelism: false,
    sequence: { concurrent: false },
    globalSetup: ['test/support/e2e-setup.ts'],
  },
});
