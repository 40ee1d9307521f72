/** Parse guest-probe output (any text with `vfs-probe: {...}` lines) into records and ProbeFacts, as the CLI does. */
import { ProbeFacts } from '../../src/analyze/probe-facts.js';
import { ProbeParser, type ProbeRecord } from '../../src/parse/probe.js';

export interface ParsedProbe {
  parser: ProbeParser;
  facts: ProbeFacts;
  recs: ProbeRecord[];
}

export function parseProbeText(text: string): ParsedProbe {
  const parser = new ProbeParser();
  const facts = new ProbeFacts();
  const recs: ProbeRecord[] = [];
  text.split('\n').forEach((l, i) => {
    const r = parser.push(l, i + 1);
    if (r) {
      recs.push(r);
      facts.feed(r);
    }
  });
  return { parser, facts, recs };
}
