// Executors are registered by name, like stage kinds: a plugin adds one (here a test engine that
// runs each node's job as a child process, through the same batch runner as Slurm), its settings
// block is validated like every key, and a misspelt executor is refused with a did-you-mean.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import { listInvocations } from '../../src/store/invocations.ts';
import { runExp } from '../helpers/exp.ts';
import { startExp, until } from '../helpers/live.ts';
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

  it("a plugin executor's job that dies without a result fails its node (exit 1, EXP_NODE_LOST, the command to continue)", async () => {
    const dir = tmp('exp-procs-lost-');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const args = [
      'run',
      grid,
      ...small,
      '--set',
      `mid.gate=${gate}`,
      '--set',
      `mid.tally=${tally}`,
      '--runs',
      path.join(dir, 'runs'),
      '--plugin',
      procs,
      '--executor',
      'procs',
    ];
    const run = startExp(args, env);
    run.done.catch(() => 1); // awaited below
    // mid's job (a child process) waits at its gate: it dies there, as a machine would.
    const pid = await until(
      () => `mid to start: ${run.err()}`,
      60_000,
      () => (existsSync(tally) ? Number(readFileSync(tally, 'utf8').split(' ')[1]) : undefined),
    );
    process.kill(pid, 'SIGKILL');
    expect(await run.exited(90_000), run.err()).toBe(1);
    const j = JSON.parse(run.out().trim().split('\n').at(-1)!) as RunJson;
    expect(j.failed.map((f) => f.stage)).toEqual(['mid']);
    expect(j.failed[0]!.error).toMatch(/^procs job p\d+ ended without a result \(EXITED\)/);
    expect(j.resume).toMatch(/^exp run .* --executor procs$/);
    writeFileSync(gate, '');
    const again = await runExp(args, env);
    expect(again.code, again.err).toBe(0);
  }, 60_000);

  it('nodes of one stage dispatched together go out in groups of at most max_group, each task its own node', async () => {
    const dir = tmp('exp-procs-groups-');
    const log = path.join(dir, 'submissions');
    // base, then 5 mids at once (a group of 3 and a group of 2), then each top as its mid finishes.
    const grid5 = ['--set', 'mid.value=[1, 2, 3, 4, 5]', '--set', 'top.value=[100]', '--no-track', '--json'];
    const local = await runExp(['run', grid, ...grid5, '--runs', path.join(dir, 'local')], env);
    const remote = await runExp(
      [
        'run',
        grid,
        ...grid5,
        '--runs',
        path.join(dir, 'runs'),
        '--plugin',
        procs,
        '--executor',
        'procs',
        '--set',
        `settings.procs={max_group: 3, submissions: "${log}"}`,
      ],
      env,
    );
    expect(remote.code, remote.err).toBe(0);
    expect(remote.json<RunJson>()).toEqual(local.json<RunJson>());
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.endsWith(' mid')).sort()).toEqual(['group 2 mid', 'group 3 mid']);
    expect(lines.filter((l) => l.endsWith(' base'))).toEqual(['single base']);
    expect(
      lines
        .filter((l) => l.endsWith(' top'))
        .reduce((n, l) => n + (l.startsWith('group') ? Number(l.split(' ')[1]) : 1), 0),
    ).toBe(5);
    const [inv] = await listInvocations(path.join(dir, 'runs'));
    const outs = Object.values(inv!.remoteJobs ?? {}).filter((j) => j.out);
    expect(outs.length).toBeGreaterThanOrEqual(5); // the grouped tasks record their own output file
  }, 60_000);

  it('refuses an unknown executor with a did-you-mean and the registered names', async () => {
    const runs = tmp('exp-procs-args-');
    const flag = await runExp(['run', grid, '--runs', runs, '--no-track', '--executor', 'slrum'], env);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/--executor "slrum" is not one of local, slurm, bullmq/);
    expect(flag.err).toMatch(/did you mean --executor slurm\?/);
    const plugin = await runExp(
      ['run', grid, '--runs', runs, '--no-track', '--plugin', procs, '--executor', 'procss'],
      env,
    );
    expect(plugin.code).toBe(2);
    expect(plugin.err).toMatch(/is not one of local, slurm, bullmq, procs/);
    expect(plugin.err).toMatch(/did you mean --executor procs\?/);
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
