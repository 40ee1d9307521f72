/**
 * Bytes of a virtiofsd log → {@link VerdictEngine}: line scanner → line parser → engine (and optionally a second
 * sink, e.g. the post-mortem reducer, so one pass feeds both). The parser reports the daemon's shutdown lines
 * (Rust `Client disconnected, shutting down`, C `virtio_loop: Exit`) as lifecycle events.
 */

import { DEFAULT_MAX_LINE_BYTES, LineScanner } from '../parse/line-scanner.js';
import { type ParserOptions, TeeSink, VirtiofsdLineParser, type VirtiofsdSink } from '../parse/virtiofsd.js';
import type { VerdictEngine } from './engine.js';

export interface VerdictLogFeedOptions extends ParserOptions {
  /** A second sink fed the same events (e.g. a PostMortemReducer). */
  also?: VirtiofsdSink;
  maxLineBytes?: number;
}

export class VerdictLogFeed {
  readonly parser: VirtiofsdLineParser;
  readonly scanner: LineScanner;

  constructor(
    readonly engine: VerdictEngine,
    opts: VerdictLogFeedOptions = {},
  ) {
    const parser = new VirtiofsdLineParser(opts.also ? new TeeSink(engine, opts.also) : engine, opts);
    this.parser = parser;
    this.scanner = new LineScanner((b, s, e, n) => {
      parser.line(b, s, e, n);
    }, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  push(chunk: Buffer): void {
    this.scanner.push(chunk);
    this.parser.flushStamp();
  }

  end(): void {
    this.scanner.end();
    this.parser.flushStamp();
  }
}
