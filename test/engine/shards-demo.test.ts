// Sharded Speech2Action stages on the demo world, against one unsharded run of a cut-down
// `experiments/ava_fewshot.yaml` (one mining method, k = 0, a small world, tiny clips and epochs):
//   - every shardable kind as 1, 3 and 7 shards + a gather = the unsharded node (files, metrics,
//     skipped items; clips.extract: the same clips and bytes, linked into other frame files);
//   - `exp run … --set stages.{parse,verbs,pairs,mining,clips}.shards=7` gives the same table,
//     downstream recomputed from the gathers, on `local`, on `bullmq` with two workers (one killed
//     mid-run) and on `slurm` (the one-node test cluster);
//   - two screenplays added to a sharded corpus rerun only their shards and the gathers.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue, StageInput, StageKind } from '../../src/plan/stage-kind.ts';
import { builtinKinds } from '../../src/stages/index.ts';
import type { NodeManifest } from '../../src/store/store.ts';
import { runExp } from '../helpers/exp.ts';
import { until } from '../helpers/live.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { repoRoot } from '../helpers/repo.ts';
import { runShardedByHand, treeHashes } from '../helpers/shards.ts';

const spec = path.join(repoRoot, 'experiments/ava_fewshot.yaml');
const cutDown = [
  ...['finetune.k=[0]', 'mining.method=[s2a]', 'world.seed=1', 'world.screenplays=24', 'world.elements_per_script=160'],
  ...[
    'world.movies=4',
    'world.movie_seconds=40',
    'world.ava_keyframes=40',
    'world.ava_video_seconds=8',
    's2a.epochs=2',
  ],
  ...[
    'mining.max_per_class=3',
    'mining.max_per_movie=12',
    'clips.frames=4',
    'clips.size=16',
    'clips.contact_max_per_class=4',
  ],
  ...['pretrain.frames=4', 'pretrain.size=16', 'pretrain.epochs=1', 'finetune.frames=4', 'finetune.size=16'],
].flatMap((s) => ['--set', s]);
const SHARDED = ['parse', 'verbs', 'pairs', 'mining', 'clips'];
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));

interface RunJson {
  points: { id: string; status: string; metrics: Record<string, number> }[];
  failed: unknown[];
}

/** The --json of a run without its timings (`*.seconds`: wall time, not a result). */
function table(r: RunJson): RunJson {
  return {
    ...r,
    points: r.points.map((p) => ({
      ...p,
      metrics: Object.fromEntries(Object.entries(p.metrics).filter(([k]) => !k.endsWith('.seconds'))),
    })),
  };
}

let base = '';
let baseTable: RunJson;
/** The unsharded nodes of the S2A point, by stage. */
const nodes = new Map<string, { input: StageInput; manifest: NodeManifest }>();

function nodeOf(runs: string, key: string): { dir: string; manifest: NodeManifest } {
  const kind = readdirSync(path.join(runs, 'cache')).find((k) => existsSync(path.join(runs, 'cache', k, key)))!;
  const dir = path.join(runs, 'cache', kind, key);
  return { dir, manifest: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as NodeManifest };
}

/** A copy of the unsharded runs folder without the nodes of `stages` (so they and what reads them run again). */
function copyWithout(stages: string[]): string {
  const runs = path.join(tmp('exp-shards-demo-copy-'), 'runs');
  cpSync(base, runs, { recursive: true });
  for (const stage of stages) rmSync(nodes.get(stage)!.input.dir.replace(base, runs), { recursive: true });
  return runs;
}

/** The gathers of a sharded run hold the unsharded nodes' files (clips.extract: the same clips). */
async function expectSameStages(runs: string, stages: string[]): Promise<void> {
  for (const stage of stages) {
    const { input, manifest } = nodes.get(stage)!;
    const got = nodeOf(runs, input.key);
    expect(got.manifest.inputs.length, `${stage} was run as shards`).toBeGreaterThan(manifest.inputs.length);
    // Clip lists name the videos by absolute path, under each runs folder's copy of the world.
    await expectSameOutputs(stage, manifest.kind, input.dir, got.dir, [runs, base]);
    expect(got.manifest.metrics.map((m) => [m.key, m.value])).toEqual(manifest.metrics.map((m) => [m.key, m.value]));
  }
}

async function expectSameOutputs(
  what: string,
  kind: string,
  a: string,
  b: string,
  moved?: [string, string],
): Promise<void> {
  const ha = treeHashes(a);
  const hb = treeHashes(b, moved);
  delete ha['manifest.json'];
  delete hb['manifest.json'];
  if (kind !== 'clips.extract') {
    expect(hb, what).toEqual(ha);
    return;
  }
  for (const f of Object.keys({ ...ha, ...hb }))
    if (!f.startsWith('shards/')) expect(hb[f], `${what}: ${f}`).toBe(ha[f]);
  const { readShardIndex, readClip } = await import('../../src/video/shards.ts');
  const ia = await readShardIndex(path.join(a, 'shards'));
  const ib = await readShardIndex(path.join(b, 'shards'));
  const strip = (c: { shard: string; offset: number }) =>
    JSON.parse(
      JSON.stringify({ ...c, shard: '', offset: 0 }).replaceAll(moved?.[0] ?? '\u0000', moved?.[1] ?? ''),
    ) as unknown;
  expect(ib.clips.map(strip), what).toEqual(ia.clips.map(strip));
  expect(ia.clips.length).toBeGreaterThan(0);
  for (let i = 0; i < ia.clips.length; i++) {
    const x = await readClip(path.join(a, 'shards'), ia.clips[i]!);
    const y = await readClip(path.join(b, 'shards'), ib.clips[i]!);
    expect(Buffer.from(x).equals(Buffer.from(y)), `${what}: clip ${ia.clips[i]!.id}`).toBe(true);
  }
}

const sharded = (stages: string[], n: number): string[] => stages.flatMap((s) => ['--set', `stages.${s}.shards=${n}`]);

beforeAll(async () => {
  base = path.join(tmp('exp-shards-demo-'), 'runs');
  const r = await runExp(['run', spec, ...cutDown, '--runs', base, '--json', '--quiet', '--no-track']);
  expect(r.code, r.err).toBe(0);
  baseTable = r.json<RunJson>();
  const inv = readdirSync(path.join(base, 'invocations')).find((f) => f.endsWith('.json'))!;
  const record = JSON.parse(readFileSync(path.join(base, 'invocations', inv), 'utf8')) as {
    points: { assignment: Record<string, unknown>; nodes: Record<string, string> }[];
  };
  const s2a = record.points.find((p) => p.assignment['mining.method'] === 's2a')!;
  for (const [stage, key] of Object.entries(s2a.nodes)) {
    const { dir, manifest } = nodeOf(base, key);
    nodes.set(stage, {
      manifest,
      input: { stage, kind: manifest.kind, key, dir, outputs: manifest.outputs as Record<string, JsonValue> },
    });
  }
}, 600_000);

describe('sharded Speech2Action stages on the demo world', () => {
  const kinds = new Map(builtinKinds.map((k) => [k.name, k as StageKind<Record<string, unknown>>]));
  for (const stage of SHARDED) {
    it(`${stage} as 1, 3 and 7 shards + a gather = the unsharded node`, async () => {
      const { manifest, input } = nodes.get(stage)!;
      const inputs = manifest.inputs.map((i) => nodes.get(i.stage)!.input);
      const metrics = Object.fromEntries(manifest.metrics.map((m) => [m.key, m.value]));
      for (const count of [1, 3, 7]) {
        const g = await runShardedByHand(kinds.get(manifest.kind)!, { ...manifest.params }, inputs, { count });
        expect(g.shards.length).toBeLessThanOrEqual(count);
        expect(g.metrics, `${stage} ×${count}`).toEqual(metrics);
        expect(g.result.outputs, `${stage} ×${count}`).toEqual(manifest.outputs);
        expect(g.result.skipped ?? [], `${stage} ×${count}`).toEqual(manifest.skipped ?? []);
        await expectSameOutputs(`${stage} ×${count}`, manifest.kind, input.dir, g.dir);
      }
    }, 300_000);
  }

  it('exp run with every shardable stage at shards=7: the same table, downstream recomputed (local)', async () => {
    const runs = copyWithout([...nodes.keys()].filter((s) => s !== 'world'));
    const r = await runExp(['run', spec, ...cutDown, ...sharded(SHARDED, 7), '--runs', runs, '--json', '--no-track']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\+ \d+ shard node\(s\) of verbs, pairs/);
    expect(table(r.json<RunJson>())).toEqual(table(baseTable));
    await expectSameStages(runs, SHARDED);
  }, 600_000);

  it('two screenplays added to a sharded corpus rerun only their shards and the gathers', async () => {
    const dir = tmp('exp-shards-corpus-');
    const corpus = path.join(dir, 'screenplays');
    cpSync(path.join(nodes.get('world')!.input.dir, 'world/screenplays'), corpus, { recursive: true });
    const runs = path.join(dir, 'runs');
    const args = [
      ...['--set', `data.screenplays=${corpus}`, '--set', 'stages.parse.needs=[]', '--set', 'settings.targets=[pairs]'],
      ...sharded(['parse'], 7),
      ...['--runs', runs],
    ];
    const first = await runExp(['run', spec, ...cutDown, ...args, '--quiet', '--no-track']);
    expect(first.code, first.err).toBe(0);
    const names = readdirSync(corpus).sort();
    cpSync(path.join(corpus, names[2]!), path.join(corpus, 'aaa-added.txt'));
    cpSync(path.join(corpus, names[9]!), path.join(corpus, `${names[9]!.replace(/\.txt$/, '')}-sequel.txt`));
    const why = await runExp(['plan', spec, ...cutDown, ...args, '--why']);
    expect(why.out).toContain('new item(s) (aaa-added.txt)');
    expect(why.out).toMatch(/-sequel\.txt\)/);
    const plan = (await runExp(['plan', spec, ...cutDown, ...args, '--json'])).json<{
      nodes: { stage: string; status: string; shard?: unknown }[];
    }>();
    const toRun = plan.nodes.filter((n) => n.shard && n.status === 'run');
    expect(toRun.length).toBeGreaterThanOrEqual(2);
    expect(toRun.length).toBeLessThanOrEqual(4);
    expect(plan.nodes.filter((n) => n.shard)).toHaveLength(7);
    const again = await runExp(['run', spec, ...cutDown, ...args, '--no-track']);
    expect(again.code, again.err).toBe(0);
    const ran = [...again.err.matchAll(/✓ (parse\[\d\/7\]|parse|verbs|pairs) /g)].map((m) => m[1]);
    expect(ran.filter((s) => s!.startsWith('parse['))).toHaveLength(toRun.length);
    expect(ran).toEqual(expect.arrayContaining(['parse', 'verbs', 'pairs']));
  }, 300_000);

  describe('on remote executors', () => {
    let redis: RedisServer | undefined;
    let cluster = '';
    afterAll(async () => {
      await redis?.stop();
      if (cluster) execFileSync(path.join(repoRoot, 'scripts/slurm-one-node.sh'), ['stop', cluster]);
    });

    it('bullmq, two workers, one killed with SIGKILL while it runs a shard: the same table and gathers', async () => {
      redis = await startRedis();
      const runs = copyWithout(SHARDED);
      const common = ['--redis', redis.url, '--runs', runs, '--queue', 'shards', '--lock-ms', '1000'];
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin/exp.js'), 'worker', ...common, '--cpus', '1'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let childErr = '';
      child.stderr!.on('data', (b) => (childErr += b));
      const other = spawn(process.execPath, [path.join(repoRoot, 'bin/exp.js'), 'worker', ...common, '--cpus', '1'], {
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      try {
        await until(
          () => `the worker to start (${childErr})`,
          60_000,
          () => childErr.includes('queues'),
        );
        const run = runExp([
          'run',
          spec,
          ...cutDown,
          ...sharded(SHARDED, 7),
          ...['--runs', runs, '--json', '--quiet', '--no-track', '--executor', 'bullmq', '--redis', redis.url],
          ...['--queue', 'shards'],
        ]);
        // A mining shard started on the child worker (its log names the worker's pid): kill it.
        const logs = path.join(runs, 'logs'); // there from the copied runs folder
        await until('a mining shard on the first worker', 300_000, () =>
          readdirSync(logs).some((f) => {
            if (!f.endsWith('.log')) return false;
            const text = readFileSync(path.join(logs, f), 'utf8');
            return text.includes('(captions.mine) attempt') && text.includes(`pid ${child.pid}`);
          }),
        );
        child.kill('SIGKILL');
        const r = await run;
        expect(r.code, r.err).toBe(0);
        expect(table(r.json<RunJson>())).toEqual(table(baseTable));
        await expectSameStages(runs, SHARDED);
      } finally {
        child.kill('SIGKILL');
        other.kill('SIGTERM');
      }
    }, 600_000);

    it('slurm (one-node test cluster): sharded mining and clips give the same table and gathers', async () => {
      cluster = tmp('exp-shards-slurm-');
      const port = async (): Promise<string> =>
        new Promise((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(String(p)));
          });
        });
      if (spawnSync('sh', ['-c', 'command -v sbatch']).status !== 0)
        throw new Error('slurm-wlm is not installed: make deps');
      execFileSync(path.join(repoRoot, 'scripts/slurm-one-node.sh'), ['start', cluster], {
        env: { ...process.env, SLURMCTLD_PORT: await port(), SLURMD_PORT: await port() },
        stdio: 'pipe',
        timeout: 60_000,
      });
      // Every sbatch goes through this wrapper, which logs its arguments: submissions are counted.
      const bin = path.join(cluster, 'bin');
      const sbatchLog = path.join(cluster, 'sbatch.log');
      const real = execFileSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).trim();
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${sbatchLog}\nexec ${real} "$@"\n`, {
        mode: 0o755,
      });
      const env = {
        ...process.env,
        SLURM_CONF: path.join(cluster, 'slurm.conf'),
        EXP_GPUS: 'none',
        PATH: `${bin}:${process.env.PATH}`,
      };
      const runs = copyWithout(['mining', 'clips']);
      const r = await runExp(
        [
          'run',
          spec,
          ...cutDown,
          ...sharded(['mining'], 7),
          ...sharded(['clips'], 3),
          // the test cluster declares 2,000 MB per node (scripts/slurm-one-node.sh); mining asks for 2,048
          ...['--set', 'stages.mining.resources.memory_mb=1024', '--set', 'settings.slurm.array_throttle=2'],
          ...['--runs', runs, '--json', '--quiet', '--no-track', '--executor', 'slurm'],
        ],
        env,
      );
      expect(r.code, r.err).toBe(0);
      expect(table(r.json<RunJson>())).toEqual(table(baseTable));
      await expectSameStages(runs, ['mining', 'clips']);
      // The shards of a stage went out as one sbatch, a job array with at most 2 tasks at once;
      // the gather as one job of its own.
      const submissions = readFileSync(sbatchLog, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.includes('--wrap='));
      const of = (stage: string) => submissions.filter((l) => l.includes(`--job-name=exp-${stage} `));
      for (const stage of ['mining', 'clips']) {
        // as many shards as the gather read (the world has 4 movies: mining at shards=7 makes 4)
        const { input, manifest } = nodes.get(stage)!;
        const shards = nodeOf(runs, input.key).manifest.inputs.length - manifest.inputs.length;
        expect(of(stage), stage).toHaveLength(2);
        expect(
          of(stage).filter((l) => l.startsWith(`--array=0-${shards - 1}%2 `)),
          stage,
        ).toHaveLength(1);
      }
    }, 600_000);
  });
});
