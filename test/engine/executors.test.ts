// Executors are registered by name, like stage kinds: a plugin adds one (here a test engine that
// runs each node's job as a child process, through the same batch runner as Slurm), its settings
// block is validated like every key, and a misspelt executor is refused with a did-you-mean.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import { listInvocations } from '../../src/store/invocations.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const kinds = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const procs = path.join(repoRoot, 'test/fixtures/plugins/process-executor.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const env = { ...process.env, EXP_PLUGINS: kinds, EXP_GPUS: 'none' };
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));
const small = ['--set', 'mid.value=[1]', '--set', 'top.value=[100, 200]', '--no-track', '--json'];

describe('executor registry', () => {
  it("a plugin's executor runs the grid as the local executor does, its jobs recorded for re-attaching", async () => {
    const local = tmp('exp-procs-local-');
    const remote = tmp('exp-procs-remote-');
    const a = await runExp(['run', grid, ...small, '--runs', local], env);
    const b = await runExp(
      [
        'run',
        grid,
        ...small,
        '--runs',
        remote,
        '--plugin',
        procs,
        '--executor',
        'procs',
        '--set',
        'settings.procs={nice: 1}',
      ],
      env,
    );
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/executor procs · nodes go to child processes \(nice 1\)/);
    expect(b.json<RunJson>()).toEqual(a.json<RunJson>());
    const [inv] = await listInvocations(remote);
    const jobs = Object.values(inv!.remoteJobs ?? {});
    expect(jobs).toHaveLength(4);
    expect(new Set(jobs.map((j) => j.executor))).toEqual(new Set(['procs']));
  }, 60_000);

  it('refuses an unknown executor with a did-you-mean and the registered names', async () => {
    const runs = tmp('exp-procs-args-');
    const flag = await runExp(['run', grid, '--runs', runs, '--no-track', '--executor', 'slrum'], env);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/unknown executor "slrum"/);
    expect(flag.err).toMatch(/did you mean --executor slurm\? registered executors: local, slurm, bullmq/);
    const plugin = await runExp(
      ['run', grid, '--runs', runs, '--no-track', '--plugin', procs, '--executor', 'procss'],
      env,
    );
    expect(plugin.code).toBe(2);
    expect(plugin.err).toMatch(/did you mean --executor procs\? registered executors: local, slurm, bullmq, procs/);
    const setting = await runExp(['run', grid, '--runs', runs, '--no-track', '--set', 'settings.executor=slrum'], env);
    expect(setting.code).toBe(2);
    expect(setting.err).toMatch(/settings\.executor/);
    expect(setting.err).toMatch(/slurm/);
  });

  it("validates a plugin executor's settings block like every key", async () => {
    const runs = tmp('exp-procs-settings-');
    const typo = await runExp(['validate', grid, '--plugin', procs, '--set', 'settings.procs={nic: 3}'], env);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/unknown key "nic" in settings\.procs/);
    expect(typo.err).toMatch(/nice/);
    const range = await runExp(['validate', grid, '--plugin', procs, '--set', 'settings.procs.nice=40'], env);
    expect(range.code).toBe(2);
    expect(range.err).toMatch(/settings\.procs\.nice/);
    // Without the plugin, its block is an unknown settings key.
    const without = await runExp(['run', grid, '--runs', runs, '--no-track', '--set', 'settings.procs={nice: 3}'], env);
    expect(without.code).toBe(2);
    expect(without.err).toMatch(/key path "settings.procs" does not exist/);
  });
});
