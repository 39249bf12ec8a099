// The three video stages end to end on tiny data: shards written in the clips.extract format,
// an AVA-format folder (CSV + pbtxt + videos) and an HMDB51-format folder (split files + class
// folders of videos), encoded with ffmpeg here.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import type { StageContext, StageInput, AnyStageKind } from '../plan/stage-kind.ts';
import { encodeRawVideo } from '../video/ffmpeg.ts';
import { clipsPerClass, syntheticClip, writeTestShards } from '../../test/helpers/video-shards.ts';
import { kind as trainKind } from './video-train.ts';
import type { VideoTrainParams } from './video-train.ts';
import { kind as finetuneKind } from './video-finetune.ts';
import type { VideoFinetuneParams } from './video-finetune.ts';
import { kind as evaluateKind } from './video-evaluate.ts';
import type { VideoEvaluateParams } from './video-evaluate.ts';
import { portsFor } from '../../test/helpers/ports.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

let dir = '';

function ctxFor<P>(params: P, inputs: StageInput[], name: string) {
  const kind = name === 'train' ? trainKind : name.startsWith('ft-') ? finetuneKind : evaluateKind;
  const logs: string[] = [];
  const metrics: Record<string, number[]> = {};
  const outDir = path.join(dir, name, 'out');
  const ctx: StageContext<P> = {
    params,
    inputs,
    ports: portsFor(kind, params as object, inputs),
    outDir,
    scratchDir: path.join(dir, name, 'scratch'),
    seed: 5,
    gpus: [],
    signal: new AbortController().signal,
    log: (m) => logs.push(m),
    progress: () => undefined,
    metric: (k, v) => (metrics[k] ??= []).push(v),
    artifact: () => undefined,
  };
  return { ctx, logs, metrics, outDir };
}

async function encode(file: string, k: number, seconds: number): Promise<void> {
  const fps = 4;
  const frames = syntheticClip(k, seconds * fps, 40, k + 1);
  const per = 40 * 40 * 3;
  await mkdir(path.dirname(file), { recursive: true });
  await encodeRawVideo(
    Array.from({ length: seconds * fps }, (_, i) => frames.subarray(i * per, (i + 1) * per)),
    { width: 40, height: 40, fps, outPath: file },
  );
}

const CLASSES = ['drive', 'kiss', 'run'];
const trainParams: VideoTrainParams = {
  arch: 's3dg',
  width: 0.125,
  frames: 4,
  size: 32,
  epochs: 2,
  batch_size: 4,
  optimizer: 'sgd',
  lr: 0.01,
  loss: 'softmax',
  init: 'scratch',
  device: 'cpu',
};
const tuneBase = {
  epochs: 1,
  batch_size: 4,
  optimizer: 'sgd' as const,
  lr: 0.01,
  device: 'cpu' as const,
  init: 'upstream' as const,
  width: 0.25,
  frames: 8,
  size: 64,
  loss: 'softmax' as const,
  clip_seconds: 2,
  splits: [1, 2, 3],
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'video-stages-'));
  await writeTestShards(path.join(dir, 'clips', 'shards'), clipsPerClass(CLASSES, 3), {
    frames: 5,
    size: 36,
    classes: CLASSES,
    perShard: 4,
  });
  // AVA-format: two videos, keyframes at seconds 2..5; ids 28 drive, 72 kiss, 11 sit (not in Table 4).
  const ava = path.join(dir, 'ava');
  await encode(path.join(ava, 'videos', 'vidA.mp4'), 0, 7);
  await encode(path.join(ava, 'videos', 'vidB.mp4'), 1, 7);
  const rows = (v: string, ts: number[], id: number) =>
    ts.map((t, i) => `${v},${String(t).padStart(4, '0')},0.1,0.1,0.9,0.9,${id},${i}`).join('\n');
  await writeFile(path.join(ava, 'ava_train_v2.2.csv'), `${rows('vidA', [2, 3], 28)}\n${rows('vidB', [2, 3], 72)}\n`);
  await writeFile(
    path.join(ava, 'ava_val_v2.2.csv'),
    `${rows('vidA', [4, 5], 28)}\n${rows('vidB', [4], 72)}\n${rows('vidB', [5], 11)}\nvidC,0004,0,0,1,1,28,0\n`,
  );
  await writeFile(
    path.join(ava, 'ava_action_list_v2.2.pbtxt'),
    'item {\n  name: "drive (e.g., a car, a truck)"\n  id: 28\n}\n',
  );
  // HMDB51-format: two classes, split 1 only.
  const hmdb = path.join(dir, 'hmdb');
  const split: Record<string, string[]> = { chew: [], clap: [] };
  for (const [k, cls] of ['chew', 'clap'].entries()) {
    for (let i = 0; i < 3; i++) {
      const name = `${cls}_v${i}.mp4`;
      await encode(path.join(hmdb, cls, name), k, 2);
      split[cls]!.push(`${name} ${i < 2 ? 1 : 2} `);
    }
    await mkdir(path.join(hmdb, 'splits'), { recursive: true });
    await writeFile(path.join(hmdb, 'splits', `${cls}_test_split1.txt`), `${split[cls]!.join('\n')}\n`);
  }
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('video stage kinds', () => {
  it('schemas in schemas/stages mirror the kinds byte for byte; resources follow the device', () => {
    for (const k of [trainKind, finetuneKind, evaluateKind] as AnyStageKind[]) {
      const file = path.join(repoRoot, 'schemas', 'stages', `${k.name}.schema.json`);
      expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stageSchemaDocument(k), null, 2)}\n`);
    }
    const res = trainKind.resources as (p: VideoTrainParams) => { cpus?: number; gpus?: number };
    expect(res(trainParams)).toMatchObject({ cpus: 1 });
    expect(res(trainParams).gpus).toBeUndefined();
    expect(res({ ...trainParams, device: 'gpu' })).toMatchObject({ gpus: 1 });
  });

  it('train → finetune (AVA, k = 1) → evaluate (AVA clip AP); finetune + evaluate on HMDB51', async () => {
    const clips: StageInput = {
      stage: 'clips',
      kind: 'clips.extract',
      key: 'c',
      dir: path.join(dir, 'clips'),
      outputs: { shards: 'shards' },
    };
    const t = ctxFor(trainParams, [clips], 'train');
    const tr = await trainKind.run(t.ctx);
    expect(tr.outputs).toMatchObject({ checkpoint: 'checkpoint', classes: CLASSES, clips: 9, resumed_at: 0 });
    expect(existsSync(path.join(t.outDir, 'checkpoint', 'weights.bin'))).toBe(true);
    expect(t.metrics['video.train.loss']).toHaveLength(2);
    const trained: StageInput = { stage: 'video', kind: 'video.train', key: 't', dir: t.outDir, outputs: tr.outputs! };

    // AVA path given through an upstream node's outputs (as demo.world provides it).
    const world: StageInput = {
      stage: 'world',
      kind: 'demo.world',
      key: 'w',
      dir,
      outputs: { ava: 'ava', hmdb51: 'hmdb' },
    };
    const f = ctxFor<VideoFinetuneParams>({ ...tuneBase, dataset: 'ava', k: 1 }, [trained, world], 'ft-ava');
    const ft = await finetuneKind.run(f.ctx);
    expect(ft.outputs).toMatchObject({ checkpoint: 'checkpoint', dataset: 'ava', examples: 2 });
    const cfg = JSON.parse(await readFile(path.join(f.outDir, 'checkpoint', 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ arch: 's3dg', width: 0.125, frames: 4, size: 32 });
    expect(cfg.classes).toHaveLength(14);
    expect(f.logs.join('\n')).toMatch(/carried for 3 classes, fresh for 11/);

    const e = ctxFor<VideoEvaluateParams>(
      { benchmark: 'ava', clip_seconds: 2, splits: [1, 2, 3], batch_size: 4, device: 'cpu', plot: true },
      [{ stage: 'ft', kind: 'video.finetune', key: 'f', dir: f.outDir, outputs: ft.outputs! }, world],
      'ev-ava',
    );
    const ev = await evaluateKind.run(e.ctx);
    expect(ev.outputs).toMatchObject({ benchmark: 'ava', clips: 4 });
    const ap = JSON.parse(await readFile(path.join(e.outDir, 'ap.json'), 'utf8'));
    expect(ap.classes.map((c: { class: string }) => c.class)).toHaveLength(14);
    const drive = ap.classes.find((c: { class: string }) => c.class === 'drive');
    expect(drive).toMatchObject({ positives: 2, clips: 4, trained: true });
    expect(e.metrics['video.ava_clip_ap.drive']).toHaveLength(1);
    expect(e.metrics['video.ava_clip_ap.eat']).toBeUndefined();
    expect(e.metrics['video.ava_clip_map']![0]).toBeGreaterThan(0);
    expect(existsSync(path.join(e.outDir, 'ap.png'))).toBe(true);
    expect(e.logs.join('\n')).toMatch(/AVA videos not found.*vidC/);

    // HMDB51: all labelled training data of split 1 (only split present), then accuracy.
    const h = ctxFor<VideoFinetuneParams>(
      { ...tuneBase, dataset: 'hmdb51', k: 'all', init: 'scratch', width: 0.125, frames: 4, size: 32, splits: [1] },
      [world],
      'ft-hmdb',
    );
    const hf = await finetuneKind.run(h.ctx);
    expect(hf.outputs).toMatchObject({
      dataset: 'hmdb51',
      checkpoints: { '1': 'checkpoint-split1' },
      examples: { '1': 4 },
    });
    const he = ctxFor<VideoEvaluateParams>(
      { benchmark: 'hmdb51', clip_seconds: 2, splits: [1], batch_size: 4, device: 'cpu', plot: false },
      [{ stage: 'fh', kind: 'video.finetune', key: 'h', dir: h.outDir, outputs: hf.outputs! }, world],
      'ev-hmdb',
    );
    const hr = await evaluateKind.run(he.ctx);
    expect(hr.outputs).toMatchObject({ benchmark: 'hmdb51', splits: { '1': { clips: 2 } } });
    expect(he.metrics['video.hmdb51_accuracy']).toHaveLength(1);
  }, 180_000);

  it('a missing benchmark path is a clear user error', async () => {
    const f = ctxFor<VideoFinetuneParams>({ ...tuneBase, dataset: 'ava', k: 0, init: 'scratch' }, [], 'ft-none');
    await expect(finetuneKind.run(f.ctx)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringContaining('no ava data'),
    });
  });
});
