// Every shardable kind, on a small demo world: run as 1, 3 and 7 shards + a gather, its outputs,
// metrics and skipped items equal those of the unsharded node (byte for byte, but for which frame
// file holds a clip of clips.extract: the gather links the shards' files instead of copying).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue, StageInput, StageKind } from '../../src/plan/stage-kind.ts';
import { builtinKinds } from '../../src/stages/index.ts';
import type { NodeManifest } from '../../src/store/store.ts';
import { runExp } from '../helpers/exp.ts';
import { runShardedByHand, smallWorldSpec, treeHashes } from '../helpers/shards.ts';

const kinds = new Map(builtinKinds.map((k) => [k.name, k as StageKind<Record<string, unknown>>]));
let runs = '';
const nodes = new Map<string, { input: StageInput; manifest: NodeManifest }>();

function inputsOf(m: NodeManifest): StageInput[] {
  return m.inputs.map((i) => nodes.get(i.stage)!.input);
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-shards-kinds-'));
  runs = path.join(dir, 'runs');
  const r = await runExp(['run', smallWorldSpec(dir), '--runs', runs, '--json', '--quiet', '--no-track']);
  expect(r.code, r.err).toBe(0);
  const inv = readdirSync(path.join(runs, 'invocations')).find((f) => f.endsWith('.json'))!;
  const record = JSON.parse(readFileSync(path.join(runs, 'invocations', inv), 'utf8')) as {
    points: { nodes: Record<string, string> }[];
  };
  for (const [stage, key] of Object.entries(record.points[0]!.nodes)) {
    const kindDir = readdirSync(path.join(runs, 'cache')).find((k) =>
      readdirSync(path.join(runs, 'cache', k)).includes(key),
    )!;
    const dir = path.join(runs, 'cache', kindDir, key);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as NodeManifest;
    nodes.set(stage, {
      manifest,
      input: { stage, kind: manifest.kind, key, dir, outputs: manifest.outputs as Record<string, JsonValue> },
    });
  }
}, 600_000);

describe('a sharded stage gives the outputs of the unsharded node', () => {
  for (const stage of ['parse', 'verbs', 'pairs', 'mining', 'clips']) {
    it(`${stage}: 1, 3 and 7 shards`, async () => {
      const { manifest, input } = nodes.get(stage)!;
      const kind = kinds.get(manifest.kind)!;
      const expected = treeHashes(input.dir);
      delete expected['manifest.json'];
      const metrics = Object.fromEntries(manifest.metrics.map((m) => [m.key, m.value]));
      for (const count of [1, 3, 7]) {
        // the node's params as it ran them (paths absolute): the manifest keeps `with` as written
        const params = { ...manifest.params };
        const gathered = await runShardedByHand(kind, params, inputsOf(manifest), { count });
        expect(gathered.shards.length).toBe(Math.min(count, gathered.shards.length));
        expect(gathered.metrics, `${stage} ×${count}`).toEqual(metrics);
        expect(gathered.result.outputs, `${stage} ×${count}`).toEqual(manifest.outputs);
        expect(gathered.result.skipped ?? [], `${stage} ×${count}`).toEqual(manifest.skipped ?? []);
        const got = treeHashes(gathered.dir);
        if (manifest.kind === 'clips.extract') {
          await expectSameClips(input.dir, gathered.dir);
          for (const f of Object.keys({ ...expected, ...got }))
            if (!f.startsWith('shards/')) expect(got[f], `${stage} ×${count}: ${f}`).toBe(expected[f]);
        } else {
          expect(got, `${stage} ×${count}`).toEqual(expected);
        }
      }
    }, 300_000);
  }
});

/** Same clips (ids, labels, metadata) in the same order, with the same frame bytes. */
async function expectSameClips(a: string, b: string): Promise<void> {
  const { readShardIndex, readClip } = await import('../../src/video/shards.ts');
  const ia = await readShardIndex(path.join(a, 'shards'));
  const ib = await readShardIndex(path.join(b, 'shards'));
  const strip = (c: { shard: string; offset: number }) => ({ ...c, shard: '', offset: 0 });
  expect(ib.clips.map(strip)).toEqual(ia.clips.map(strip));
  expect(ib.clips.length).toBeGreaterThan(0);
  for (let i = 0; i < ia.clips.length; i++) {
    const x = await readClip(path.join(a, 'shards'), ia.clips[i]!);
    const y = await readClip(path.join(b, 'shards'), ib.clips[i]!);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), ia.clips[i]!.id).toBe(0);
  }
}
