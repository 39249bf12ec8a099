import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execFileChild, execFileSyncChild, guardedCommand, parentDeathGuard } from './children.ts';

describe('children', () => {
  it('wraps a found command in setpriv --pdeathsig KILL on Linux; leaves a missing one to fail with ENOENT', async () => {
    if (process.platform === 'linux') expect(parentDeathGuard()).toMatch(/setpriv$/);
    const g = guardedCommand('sh', ['-c', 'echo hi']);
    if (parentDeathGuard()) {
      expect(g.args.slice(0, 4)).toEqual(['--pdeathsig', 'KILL', '--', '/bin/sh']);
      expect(g.args.slice(-3)).toEqual(['sh', '-c', 'echo hi']);
    }
    expect(guardedCommand('no-such-command-here', ['x'])).toEqual({ file: 'no-such-command-here', args: ['x'] });
    await expect(execFileChild('no-such-command-here', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a child whose parent died before the death signal was armed does not run its command', () => {
    const guard = parentDeathGuard();
    expect(guard === null).toBe(process.platform !== 'linux');
    if (!guard) return;
    const g = guardedCommand('sh', ['-c', 'echo ran']);
    // as run by the process that forked it: the command runs
    expect(spawnSync(g.file, g.args, { encoding: 'utf8' }).stdout).toBe('ran\n');
    // as if orphaned before prctl (its parent is not the pid it was started for): nothing runs
    const orphaned = g.args.map((a) => (a === String(process.pid) ? '1' : a));
    const r = spawnSync(g.file, orphaned, { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(129);
  });

  it('execFileChild gives stdout and stderr, and the exit code of a failing command (as execFile does)', async () => {
    expect(await execFileChild('sh', ['-c', 'echo out; echo err >&2'])).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    await expect(execFileChild('sh', ['-c', 'echo partial; exit 3'])).rejects.toMatchObject({
      code: 3,
      stdout: 'partial\n',
    });
    expect(execFileSyncChild('sh', ['-c', 'echo sync'])).toBe('sync\n');
  });
});
