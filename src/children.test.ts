import { describe, expect, it } from 'vitest';
import { execFileChild, execFileSyncChild, guardedCommand, parentDeathGuard } from './children.ts';

describe('children', () => {
  it('wraps a found command in setpriv --pdeathsig KILL on Linux; leaves a missing one to fail with ENOENT', async () => {
    if (process.platform === 'linux') expect(parentDeathGuard()).toMatch(/setpriv$/);
    const g = guardedCommand('sh', ['-c', 'echo hi']);
    if (parentDeathGuard()) expect(g.args.slice(0, 4)).toEqual(['--pdeathsig', 'KILL', '--', 'sh']);
    expect(guardedCommand('no-such-command-here', ['x'])).toEqual({ file: 'no-such-command-here', args: ['x'] });
    await expect(execFileChild('no-such-command-here', [])).rejects.toMatchObject({ code: 'ENOENT' });
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
