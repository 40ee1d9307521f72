/** Terminal facts at the edge: colour choice (NO_COLOR / FORCE_COLOR / --color), width, stderr progress. */
import { Chalk, type ChalkInstance } from 'chalk';

/** `flag` is --color / --no-color when given. NO_COLOR (any non-empty value) wins over a TTY; FORCE_COLOR wins over both. */
export function makeChalk(stream: NodeJS.WriteStream, flag?: boolean): ChalkInstance {
  const env = process.env;
  let level: 0 | 1 | 2 | 3;
  if (flag !== undefined) level = flag ? 2 : 0;
  else if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') {
    const n = Number(env.FORCE_COLOR);
    level = env.FORCE_COLOR === 'false' || n === 0 ? 0 : n >= 1 && n <= 3 ? (n as 1 | 2 | 3) : 2;
  } else if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') level = 0;
  else level = stream.isTTY && env.TERM !== 'dumb' ? 2 : 0;
  return new Chalk({ level });
}

export function terminalWidth(stream: NodeJS.WriteStream): number {
  return stream.isTTY && stream.columns ? stream.columns : 80;
}
