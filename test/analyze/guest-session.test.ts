/** GuestSession milestones: one per unit transition, whichever sources printed it (real systemd capture). */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('milestones', () => {
  it('a transition printed on kmsg, as a status line and in the journal is one milestone, with the full text', () => {
    const dir = 'fixtures/lab/rust-1.13.2-systemd-k7.3-never-block';
    const r = runCli(['--json', '--run-dir', dir]);
    expect(r.code).toBe(0);
    const ms: { text: string; kind: string; time: number | null }[] = JSON.parse(r.stdout).guest.milestones;
    // `Created slice user.slice` appears on kmsg (systemd[1]: …), as `[  OK  ] Created slice …` and in the journal.
    const user = ms.filter((m) => /Created slice user\.slice/.test(m.text));
    expect(user).toHaveLength(1);
    // Status lines cut with `…` give way to the full text of the same transition.
    expect(ms.filter((m) => m.text.includes('…'))).toEqual([]);
    // Still every distinct transition: e.g. each modprobe@ unit's start.
    const modprobes = new Set(
      ms.map((m) => /Starting (modprobe@\w+)\.service/.exec(m.text)?.[1]).filter(Boolean),
    );
    expect(modprobes.size).toBeGreaterThanOrEqual(4);
    // Sorted by time.
    const times = ms.map((m) => m.time ?? 0);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
