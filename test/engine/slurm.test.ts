// The slurm executor on a real one-node Slurm cluster with 2 fake GPUs (scripts/slurm-one-node.sh,
// on free loopback ports; stopped after). Missing slurm-wlm/munge is a failure: `make deps`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import type { NodeManifest } from '../../src/store/store.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const gpuPair = path.join(repoRoot, 'test/fixtures/engine/gpu-pair.yaml');
const script = path.join(repoRoot, 'scripts/slurm-one-node.sh');
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));
const small = ['--set', 'mid.value=[1]', '--set', 'top.value=[100, 200]'];

function manifests(runs: string, kind = 'test.add'): Map<string, NodeManifest> {
  const dir = path.join(runs, 'cache', kind);
  const out = new Map<string, NodeManifest>();
  if (!existsSync(dir)) return out;
  for (const key of readdirSync(dir))
    out.set(key, JSON.parse(readFileSync(path.join(dir, key, 'manifest.json'), 'utf8')) as NodeManifest);
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let cluster: string;
let env: NodeJS.ProcessEnv;

describe('slurm executor', () => {
  beforeAll(async () => {
    if (
      spawnSync('sh', ['-c', 'command -v sbatch && (command -v slurmctld || test -x /usr/sbin/slurmctld)']).status !== 0
    )
      throw new Error('slurm-wlm is not installed: run `make deps`');
    cluster = tmp('exp-slurm-cluster-');
    const ports = { SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()) };
    execFileSync(script, ['start', cluster], { env: { ...process.env, ...ports }, stdio: 'pipe', timeout: 30_000 });
    env = { ...process.env, SLURM_CONF: path.join(cluster, 'slurm.conf'), EXP_PLUGINS: plugin, EXP_GPUS: 'none' };
  }, 40_000);
  afterAll(() => {
    if (cluster) execFileSync(script, ['stop', cluster]);
  });

  it('a failed node skips its dependents; then the grid matches the local executor', async () => {
    const local = tmp('exp-slurm-local-');
    const remote = tmp('exp-slurm-remote-');
    const bad = await runExp(
      [
        'run',
        grid,
        ...small,
        '--set',
        'mid.fail=true',
        '--runs',
        remote,
        '--json',
        '--no-track',
        '--executor',
        'slurm',
      ],
      env,
    );
    expect(bad.code, bad.err).toBe(1);
    expect(bad.json<RunJson>().failed.map((f) => f.stage)).toEqual(['mid']);
    expect(bad.err).toMatch(/1 ran, 0 cached, 1 failed, 2 skipped/);

    const a = await runExp(['run', grid, ...small, '--runs', local, '--json', '--no-track'], env);
    const b = await runExp(
      ['run', grid, ...small, '--runs', remote, '--json', '--no-track', '--set', 'settings.executor=slurm'],
      env,
    );
    expect(a.code).toBe(0);
    expect(b.code, b.err).toBe(0);
    expect(b.json<RunJson>()).toEqual(a.json<RunJson>());
    expect(b.err).toMatch(/3 ran, 1 cached/); // base came from the failed run
    const ma = manifests(local);
    const mb = manifests(remote);
    expect([...mb.keys()].sort()).toEqual([...ma.keys()].sort());
    for (const [key, m] of ma) {
      expect(mb.get(key)!.outputs).toEqual(m.outputs);
      expect(mb.get(key)!.files).toEqual(m.files);
    }
  }, 120_000);

  it('concurrent GPU nodes get distinct devices from Slurm', async () => {
    const runs = tmp('exp-slurm-gpu-');
    const r = await runExp(['run', gpuPair, '--runs', runs, '--json', '--no-track', '--executor', 'slurm'], env);
    expect(r.code, r.err).toBe(0);
    const probes = [...manifests(runs, 'test.gpu-probe').values()].map(
      (m) => m.outputs as { cuda: string; start: number; end: number },
    );
    expect(probes).toHaveLength(2);
    const [p, q] = probes as [(typeof probes)[0], (typeof probes)[0]];
    expect(p.start < q.end && q.start < p.end, 'the two nodes overlapped').toBe(true);
    expect(new Set(probes.map((x) => x.cuda))).toEqual(new Set(['0', '1']));
  }, 120_000);
});
