/** Progress on stderr, only when stderr is a terminal. */

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
