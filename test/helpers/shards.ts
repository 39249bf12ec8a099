// Running a stage kind by hand, unsharded or as shards + gather (the executor's way, without an
// executor): the sharding tests compare the two outputs file by file.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assignShards, shardPlan } from '../../src/plan/shards.ts';
import type {
  JsonValue,
  ShardSource,
  StageContext,
  StageInput,
  StageKind,
  StageResult,
} from '../../src/plan/stage-kind.ts';
import { portsFor } from './ports.ts';
import { repoRoot } from './repo.ts';

export interface HandRun {
  dir: string;
  result: StageResult;
  /** Metrics in the order they were logged (key → value; the last value of a key wins). */
  metrics: Record<string, number>;
  metricOrder: string[];
  logs: string[];
  artifacts: string[];
}

function context<P>(
  kind: StageKind<P>,
  params: P,
  inputs: StageInput[],
  extra: Partial<StageContext<P>> = {},
): { ctx: StageContext<P>; run: Omit<HandRun, 'result'> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `exp-hand-${kind.name}-`));
  const run = {
    dir,
    metrics: {} as Record<string, number>,
    metricOrder: [] as string[],
    logs: [] as string[],
    artifacts: [] as string[],
  };
  const ctx: StageContext<P> = {
    params,
    inputs,
    ports: portsFor(kind, params as object, inputs),
    outDir: dir,
    scratchDir: path.join(dir, '.scratch'),
    sharedDir: path.join(dir, '.shared'),
    seed: 7,
    gpus: [],
    signal: new AbortController().signal,
    log: (m) => run.logs.push(m),
    progress: () => {},
    metric: (k, v) => {
      run.metrics[k] = v;
      run.metricOrder.push(k);
    },
    artifact: (a) => run.artifacts.push(a),
    ...extra,
  };
  return { ctx, run };
}

/** The kind's run() in a fresh folder. */
export async function runByHand<P>(kind: StageKind<P>, params: P, inputs: StageInput[]): Promise<HandRun> {
  const { ctx, run } = context(kind, params, inputs);
  const result = await kind.run(ctx);
  return { ...run, result };
}

/** The input a kind lists its items from, with the file hashes of its manifest when it has one. */
function sourceOf<P>(kind: StageKind<P>, params: P, inputs: StageInput[]): ShardSource<P> {
  const port = kind.shard!.port;
  const bound = portsFor(kind, params as object, inputs)[port]?.[0];
  if (!bound) return { params };
  const manifest = path.join(bound.dir, 'manifest.json');
  const files = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { files: Record<string, { bytes: number; sha256: string }> }).files
    : {};
  return { params, input: { ...bound, files } };
}

/** Lists the items, runs every shard in its own folder, then the gather; returns the gather's run. */
export async function runShardedByHand<P>(
  kind: StageKind<P>,
  params: P,
  inputs: StageInput[],
  how: { count: number } | { size: number },
): Promise<HandRun & { shards: HandRun[] }> {
  const sharding = kind.shard!;
  const items = await sharding.listItems(sourceOf(kind, params, inputs));
  const groups = assignShards(items, how);
  const shards: HandRun[] = [];
  const shardInputs: StageInput[] = [];
  for (const [index, group] of groups.entries()) {
    const { ctx, run } = context(kind, params, inputs, { shard: { index, count: groups.length, items: group } });
    const result = await sharding.run(ctx);
    shards.push({ ...run, result });
    shardInputs.push({
      stage: `shard[${index}]`,
      kind: kind.name,
      key: `shard-${index}`,
      dir: run.dir,
      outputs: (result.outputs ?? {}) as Record<string, JsonValue>,
    });
  }
  const { ctx, run } = context(kind, params, inputs, { shards: shardInputs });
  const result = await sharding.gather(ctx);
  return { ...run, result, shards };
}

/**
 * Relative path → sha256 of every file under a folder. `moved`: [from, to] replaced in the text
 * of JSON files first (outputs that name files under a runs folder, compared across two of them).
 */
export function treeHashes(dir: string, moved?: [string, string]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      if (name.startsWith('.')) continue;
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, r)).isDirectory()) walk(r);
      else {
        let bytes: Buffer | string = readFileSync(path.join(dir, r));
        if (moved && /\.jsonl?$/.test(r)) bytes = bytes.toString('utf8').replaceAll(moved[0], moved[1]);
        out[r] = createHash('sha256').update(bytes).digest('hex');
      }
    }
  };
  walk('');
  return out;
}

/** A small world and the text + mining pipeline, every stage that shards among them. */
export function smallWorldSpec(dir: string): string {
  const spec = path.join(dir, 'small.yaml');
  writeFileSync(
    spec,
    [
      'name: shards-small',
      `extends: ${JSON.stringify(path.join(repoRoot, 'experiments/base/speech2action.yaml'))}`,
      'settings: { targets: [clips] }',
      'stages:',
      '  world: { with: { seed: 1, screenplays: 24, elements_per_script: 160, movies: 4, movie_seconds: 40, ava_keyframes: 20, ava_video_seconds: 8, hmdb_per_class: 3 } }',
      '  s2a: { with: { epochs: 2 } }',
      '  mining: { with: { max_per_class: 3, max_per_movie: 12 } }',
      '  clips: { with: { frames: 4, size: 16, contact_max_per_class: 4 } }',
      '',
    ].join('\n'),
  );
  return spec;
}

export { shardPlan };
