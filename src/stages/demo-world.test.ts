import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import type { StageContext } from '../plan/stage-kind.ts';
import { type DemoWorldParams, kind } from './demo-world.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

const run = promisify(execFile);

function withDefaults(p: Record<string, unknown>): DemoWorldParams {
  const ajv = new Ajv2020({ useDefaults: true, strict: false });
  const validate = ajv.compile(kind.paramsSchema);
  const data = { ...p };
  if (!validate(data)) throw new Error(JSON.stringify(validate.errors));
  return data as unknown as DemoWorldParams;
}

async function probe(file: string): Promise<{ width: number; height: number; duration: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height:format=duration',
    '-of',
    'json',
    file,
  ]);
  const j = JSON.parse(stdout) as { streams: { width: number; height: number }[]; format: { duration: string } };
  return { width: j.streams[0]!.width, height: j.streams[0]!.height, duration: Number(j.format.duration) };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('stage demo.world', () => {
  it('mirrors its params schema in schemas/stages/demo.world.schema.json', () => {
    const file = readFileSync(path.join(repoRoot, 'schemas', 'stages', 'demo.world.schema.json'), 'utf8');
    expect(file).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
  });

  it('fills defaults and rejects odd frame sizes, probabilities above 1 and unknown keys', () => {
    const d = withDefaults({});
    expect(d).toMatchObject({ seed: 0, width: 160, height: 120, fps: 8 });
    expect(() => withDefaults({ width: 161 })).toThrow(/multipleOf/);
    expect(() => withDefaults({ p_polysemous: 1.2 })).toThrow(/maximum/);
    expect(() => withDefaults({ moviez: 3 })).toThrow(/additionalProperties/);
  });

  it('writes a world whose movies, AVA videos and HMDB51 clips decode at the asked size and length', async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), 'demo-world-stage-'));
    dirs.push(outDir);
    const metrics = new Map<string, number>();
    const progress: number[] = [];
    const params = withDefaults({
      seed: 1,
      screenplays: 2,
      elements_per_script: 40,
      movies: 2,
      movie_seconds: 24,
      width: 64,
      height: 48,
      fps: 4,
      ava_keyframes: 4,
      ava_video_seconds: 8,
      hmdb_per_class: 3,
      hmdb_seconds: 1,
    });
    const ctx: StageContext<DemoWorldParams> = {
      params,
      inputs: [],
      ports: {},
      outDir,
      scratchDir: outDir,
      seed: 0,
      gpus: [],
      signal: new AbortController().signal,
      log: () => {},
      progress: (done) => progress.push(done),
      metric: (k, v) => metrics.set(k, v),
      artifact: () => {},
    };
    const { outputs } = await kind.run(ctx);
    for (const key of ['screenplays', 'movies', 'ava', 'hmdb51', 'manifest']) {
      const rel = outputs?.[key];
      expect(typeof rel === 'string' && !path.isAbsolute(rel), key).toBe(true);
      expect(existsSync(path.join(outDir, rel as string)), key).toBe(true);
    }
    // The store writes its own manifest.json at the node's root: the world must not take that name.
    expect(existsSync(path.join(outDir, 'manifest.json'))).toBe(false);
    const manifest = JSON.parse(await readFile(path.join(outDir, outputs!.manifest as string), 'utf8')) as {
      movies: { video: string; subtitles: string }[];
      ava: { videos: { file: string; seconds: number }[] };
    };
    const world = path.dirname(path.join(outDir, outputs!.manifest as string));
    for (const m of manifest.movies) {
      const p = await probe(path.join(world, m.video));
      expect(p.width).toBe(64);
      expect(p.height).toBe(48);
      expect(p.duration).toBeCloseTo(24, 0);
      expect(existsSync(path.join(world, m.subtitles))).toBe(true);
    }
    const avaVideos = await readdir(path.join(outDir, outputs!.ava as string, 'videos'));
    expect(avaVideos).toHaveLength(manifest.ava.videos.length);
    for (const v of manifest.ava.videos)
      expect((await probe(path.join(world, v.file))).duration).toBeCloseTo(v.seconds, 0);
    const kiss = await readdir(path.join(outDir, outputs!.hmdb51 as string, 'kiss'));
    expect(kiss).toHaveLength(3);
    expect((await probe(path.join(outDir, outputs!.hmdb51 as string, 'kiss', kiss[0]!))).duration).toBeCloseTo(1, 0);
    expect(metrics.get('demo.movies')).toBe(2);
    expect(metrics.get('demo.screenplays')).toBe(2);
    expect(progress.at(-1)).toBe(2 + avaVideos.length + 12 * 3);
  });
});
