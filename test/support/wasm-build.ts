/**
 * The check both WebAssembly modules get: the embedded base64 is byte for byte what clang builds from the committed
 * C now (src/parse/wasm/build.mjs). Without clang the test fails with one line, unless VFS_ANALYZE_NO_CLANG=1 says
 * to skip it (and it says so).
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';

export async function expectBuiltFromSource(
  name: 'fast-lane' | 'loop-search',
  embedded: string,
): Promise<void> {
  if (process.env.VFS_ANALYZE_NO_CLANG === '1') {
    console.warn(`SKIPPED (VFS_ANALYZE_NO_CLANG=1): the WebAssembly module was not rebuilt from ${name}.c`);
    return;
  }
  let clang = true;
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    clang = false;
  }
  if (!clang)
    throw new Error(
      'clang is not installed (apt-get install clang lld), or set VFS_ANALYZE_NO_CLANG=1 to skip',
    );
  // @ts-expect-error plain JavaScript build script
  const build = await import('../../src/parse/wasm/build.mjs');
  const wasm: Buffer = build.compile(name);
  expect(wasm.toString('base64')).toBe(embedded);
}
