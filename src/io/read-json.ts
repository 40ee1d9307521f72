/**
 * A JSON file, with one-line errors naming it (missing, unreadable, not JSON): results, baselines and config files
 * (its own module: the post-mortem reads a config without loading the result loaders).
 */
import { open, readFile } from 'node:fs/promises';
import { fsError, InputError } from '../errors.js';

/** Read and parse a JSON file; with `maxBytes`, a larger file (or an endless device) is refused after that many bytes. */
export async function readJson(path: string, maxBytes?: number): Promise<unknown> {
  let text: string;
  try {
    if (maxBytes === undefined) text = await readFile(path, 'utf8');
    else {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(maxBytes + 1);
        let n = 0;
        while (n < buf.length) {
          const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        if (n > maxBytes) throw new InputError(path, `larger than ${maxBytes} bytes: not a config file`);
        text = buf.subarray(0, n).toString('utf8');
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw fsError(path, err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `not valid JSON (${(err as Error).message})`);
  }
}
