/**
 * The project's WebAssembly modules (the parser's fast lane, the verdict engine's loop search) are embedded as
 * base64 (build.mjs): each is compiled once, on first use, or found missing where WebAssembly is not available
 * (the callers then use their TypeScript path).
 */

// The little of WebAssembly's JavaScript API used here (Node has it; @types/node 20 does not declare it).
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: object);
      readonly exports: object;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
      grow(pages: number): number;
    }
  }
}

/** A getter for the module built from `base64`: compiled at its first call, null where WebAssembly is missing. */
export function embeddedModule(base64: string): () => WebAssembly.Module | null {
  let compiled: WebAssembly.Module | null | undefined;
  return () => {
    if (compiled === undefined) {
      try {
        compiled = new WebAssembly.Module(Buffer.from(base64, 'base64'));
      } catch {
        compiled = null;
      }
    }
    return compiled;
  };
}
