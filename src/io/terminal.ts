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

/** A one-line progress indicator on stderr, drawn only when stderr is a TTY. */
export class Progress {
  private active = false;
  private readonly enabled: boolean;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(label: string, done: number, total: number | null): void {
    if (!this.enabled) return;
    const mb = (done / 1048576).toFixed(0);
    let text: string;
    if (total && total > 0) {
      const frac = Math.min(1, done / total);
      const width = 24;
      const filled = Math.round(frac * width);
      text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${mb} MB`;
    } else {
      text = `${label} ${mb} MB`;
    }
    const cols = this.stream.columns ?? 80;
    this.stream.write(`\r${text.slice(0, cols - 1)}\x1b[K`);
    this.active = true;
  }

  clear(): void {
    if (this.active) this.stream.write('\r\x1b[K');
    this.active = false;
  }
}
