import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { probeUnit } from '../../src/launch/probe-unit.js';

describe('probeUnit', () => {
  it('embeds the real probe script so that decoding the unit gives it back byte for byte', () => {
    const script = readFileSync('probe/vfs-probe.sh', 'utf8');
    const unit = probeUnit(script);
    const m = /^ExecStartPre=\/bin\/sh -c 'echo ([A-Za-z0-9+/=]+) \| base64 -d > \/run\/vfs-probe'$/m.exec(
      unit,
    );
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1], 'base64').toString('utf8')).toBe(script);
    expect(unit).toMatch(/^ExecStart=\/bin\/sh \/run\/vfs-probe$/m);
    expect(unit).toMatch(/^DefaultDependencies=no$/m);
    // no unit-file specifiers or variables outside the Environment lines
    expect(unit.split('\n').filter((l) => !l.startsWith('#') && /[%$]/.test(l))).toEqual([]);
  });

  it('takes the sampling interval and rejects nonsense', () => {
    expect(probeUnit('echo hi', { intervalSec: 2 })).toMatch(/^Environment=VFS_PROBE_INTERVAL=2$/m);
    expect(() => probeUnit('x', { intervalSec: 0 })).toThrow();
  });
});
