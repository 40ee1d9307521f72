import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { containerName, makeRunId, planBcvkRun, planContainerRemoval, slug } from '../../src/launch/plan.js';
import { parseCompare, parseMitigation } from '../../src/launch/variants.js';

const [never, metadata] = parseCompare(['cache=never,metadata']);
const base = {
  bcvk: 'bcvk',
  image: 'quay.io/fedora/fedora-bootc:42',
  name: 'vfs-analyze-r1',
  logDir: '/var/tmp/vfs-analyze/r1',
  wrapperPath: '/var/tmp/vfs-analyze/r1/virtiofsd-wrapper',
};

describe('planBcvkRun', () => {
  it('builds the exact argv (array, one token per option, image last)', () => {
    const p = planBcvkRun({ ...base, variant: metadata });
    expect(p.file).toBe('bcvk');
    expect(p.args).toEqual([
      'ephemeral',
      'run',
      '--name=vfs-analyze-r1',
      '--log-dir=journal,console=/var/tmp/vfs-analyze/r1',
      '--virtiofsd=/var/tmp/vfs-analyze/r1/virtiofsd-wrapper',
      '--karg=console=ttyS0',
      'quay.io/fedora/fedora-bootc:42',
    ]);
    expect(p.outputs).toEqual({
      journal: '/var/tmp/vfs-analyze/r1/journal.json',
      journalInitrd: '/var/tmp/vfs-analyze/r1/journal-initrd.json',
      console: '/var/tmp/vfs-analyze/r1/console.txt',
    });
    expect(p.warnings).toEqual([]);
  });
  it('adds variant kargs, --execute, pass-through and extra args in order', () => {
    const v = parseCompare(
      ['journal=volatile'],
      [parseMitigation('karg=-x')!, parseMitigation('bcvk=--memory=2G')!],
    )[0];
    const p = planBcvkRun({
      ...base,
      variant: v,
      execute: ['systemctl is-system-running --wait'],
      extraArgs: ['--vcpus=2'],
    });
    expect(p.args.slice(5)).toEqual([
      '--karg=console=ttyS0',
      '--karg=-x',
      '--karg=systemd.mask=systemd-journal-flush.service',
      '--execute=systemctl is-system-running --wait',
      '--memory=2G',
      '--vcpus=2',
      'quay.io/fedora/fedora-bootc:42',
    ]);
  });
  it('does not add console=ttyS0 twice or when disabled', () => {
    const v = parseCompare(['karg=console=hvc0'])[0];
    expect(planBcvkRun({ ...base, variant: v }).kargs).toEqual(['console=hvc0']);
    expect(planBcvkRun({ ...base, variant: never, serialConsole: false }).kargs).toEqual([]);
  });
  it('keeps a log dir containing = intact (bcvk splits on the last =)', () => {
    const p = planBcvkRun({ ...base, logDir: '/var/tmp/a=b/', variant: never });
    expect(p.args[3]).toBe('--log-dir=journal,console=/var/tmp/a=b/');
    expect(p.outputs.console).toBe('/var/tmp/a=b/console.txt');
  });
  it('warns when the wrapper is not where the container can see it', () => {
    const p = planBcvkRun({ ...base, wrapperPath: '/home/me/w', variant: never });
    expect(p.warnings[0]).toMatch(/outside \/var\/tmp and \/usr/);
  });
  it('rejects relative paths, bad names and option-like images', () => {
    expect(() => planBcvkRun({ ...base, logDir: 'rel', variant: never })).toThrow(UsageError);
    expect(() => planBcvkRun({ ...base, wrapperPath: 'w', variant: never })).toThrow(UsageError);
    expect(() => planBcvkRun({ ...base, name: '-x', variant: never })).toThrow(UsageError);
    expect(() => planBcvkRun({ ...base, image: '--rm', variant: never })).toThrow(UsageError);
  });
});

describe('ids and names', () => {
  it('makeRunId is sortable, unique per nonce and podman-safe', () => {
    const id = makeRunId(new Date('2026-11-27T03:48:16.123Z'), 'cache=metadata threads=4', 2, 'K3x9');
    expect(id).toBe('20261127T034816Z-cache-metadata-threads-4-r2-k3x9');
    expect(containerName(id)).toBe(`vfs-analyze-${id}`);
  });
  it('slug', () => {
    expect(slug('cache=never')).toBe('cache-never');
    expect(slug('///')).toBe('run');
  });
  it('podman rm -f argv', () => {
    expect(planContainerRemoval('vfs-analyze-x')).toEqual({
      file: 'podman',
      args: ['rm', '-f', 'vfs-analyze-x'],
    });
    expect(() => planContainerRemoval('a b')).toThrow(UsageError);
  });
});
