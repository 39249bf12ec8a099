import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { isExpError } from '../errors.ts';
import { AVA_CLASSES, planAva } from './ava.ts';
import type { EncodeVideo, EncodeVideoOptions } from './render.ts';
import { Rng } from './rng.ts';
import { generateWorld, type WorldOptions } from './world.ts';

const small: Partial<WorldOptions> = {
  seed: 3,
  screenplays: 3,
  elementsPerScript: 60,
  movies: 2,
  movieSeconds: 30,
  width: 64,
  height: 48,
  fps: 4,
  avaKeyframes: 10,
  avaVideoSeconds: 20,
  hmdbPerClass: 3,
  hmdbSeconds: 1,
};

/** Records what would be encoded (the real encoder is tested with the stage kind). */
function recordingEncoder(): { encode: EncodeVideo; jobs: (EncodeVideoOptions & { frames: number })[] } {
  const jobs: (EncodeVideoOptions & { frames: number })[] = [];
  const encode: EncodeVideo = async (frames, opts) => {
    let n = 0;
    for await (const f of frames as AsyncIterable<Uint8Array>) {
      expect(f.length).toBe(opts.width * opts.height * 3);
      n++;
    }
    jobs.push({ ...opts, frames: n });
  };
  return { encode, jobs };
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'demo-world-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function textFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || /\.(mp4|avi)$/.test(e.name)) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(root, full), await readFile(full, 'utf8'));
  }
  return out;
}

describe('generateWorld', async () => {
  const rootA = await tempDir();
  const recA = recordingEncoder();
  const { manifest } = await generateWorld(rootA, small, recA.encode);

  it('writes identical text files and manifest for the same seed, different ones for another seed', async () => {
    const rootB = await tempDir();
    await generateWorld(rootB, { ...small, concurrency: 1 }, recordingEncoder().encode);
    const a = await textFiles(rootA);
    const b = await textFiles(rootB);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
    expect(a.has('manifest.json')).toBe(true);
    const rootC = await tempDir();
    await generateWorld(rootC, { ...small, seed: 4 }, recordingEncoder().encode);
    const c = await textFiles(rootC);
    expect(c.get('manifest.json')).not.toBe(a.get('manifest.json'));
    expect(c.get('movies/demo_movie_01.srt')).not.toBe(a.get('movies/demo_movie_01.srt'));
  });

  it('keeps each screenplay and movie when only the counts change', async () => {
    const root = await tempDir();
    await generateWorld(root, { ...small, screenplays: 2, movies: 1 }, recordingEncoder().encode);
    const a = await textFiles(rootA);
    const b = await textFiles(root);
    const shared = [...b.keys()].filter((k) => /^(screenplays|movies)\//.test(k));
    expect(shared).toHaveLength(3);
    for (const k of shared) expect(b.get(k), k).toBe(a.get(k));
  });

  it('lays out screenplays, movies with sidecar subtitles, and encodes every planned video at its size', async () => {
    expect(await readdir(path.join(rootA, 'screenplays'))).toHaveLength(3);
    for (const m of manifest.movies) {
      expect(existsSync(path.join(rootA, m.subtitles))).toBe(true);
      const job = recA.jobs.find((j) => j.outPath === path.join(rootA, m.video));
      expect(job).toMatchObject({ width: 64, height: 48, fps: 4, frames: 30 * 4 });
    }
    expect(recA.jobs).toHaveLength(2 + manifest.ava.videos.length + 12 * 3);
    expect(manifest.movies.flatMap((m) => m.captions).some((c) => c.class !== null)).toBe(true);
  });

  it('writes AVA-format CSVs whose rows name listed actions, normalised boxes and the videos written', async () => {
    const listed = new Map<number, string>();
    const pbtxt = await readFile(path.join(rootA, manifest.ava.action_list), 'utf8');
    for (const m of pbtxt.matchAll(/item \{\n {2}name: "([^"]+)"\n {2}id: (\d+)\n\}/g)) listed.set(Number(m[2]), m[1]!);
    expect(listed.size).toBe(AVA_CLASSES.length);
    const videos = new Map<string, string>();
    for (const split of ['train', 'val'] as const) {
      const csv = await readFile(
        path.join(rootA, split === 'train' ? manifest.ava.train_csv : manifest.ava.val_csv),
        'utf8',
      );
      const rows = csv.trim().split('\n');
      expect(rows.length).toBe(manifest.ava.rows[split]);
      for (const row of rows) {
        const f = row.split(',');
        expect(f).toHaveLength(8);
        expect(f[1]).toMatch(/^\d{4}$/);
        const [x1, y1, x2, y2] = f.slice(2, 6).map(Number) as [number, number, number, number];
        expect(0 <= x1 && x1 < x2 && x2 <= 1 && 0 <= y1 && y1 < y2 && y2 <= 1).toBe(true);
        expect(listed.has(Number(f[6]))).toBe(true);
        expect(f[7]).toMatch(/^\d+$/);
        expect(videos.get(f[0]!) ?? split).toBe(split);
        videos.set(f[0]!, split);
      }
    }
    for (const id of videos.keys())
      expect(recA.jobs.some((j) => j.outPath === path.join(rootA, 'ava', 'videos', `${id}.mp4`))).toBe(true);
    expect(new Set(videos.values())).toEqual(new Set(['train', 'val']));
  });

  it('has a long tail of rare AVA classes', () => {
    const videos = planAva(new Rng(1), {
      keyframes: 2000,
      videoSeconds: 60,
      segmentSeconds: 4,
      valShare: 0.3,
      width: 160,
      height: 120,
      fps: 8,
    });
    const counts = new Map<number, number>();
    for (const r of videos.flatMap((v) => v.rows)) counts.set(r.action_id, (counts.get(r.action_id) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted.length).toBeGreaterThan(25);
    expect(sorted[0]! / sorted[sorted.length - 1]!).toBeGreaterThan(30);
  });

  it('writes HMDB51 split files: three per class, one line per clip of the class folder, train and test in each', async () => {
    const splitDir = path.join(rootA, manifest.hmdb51.splits);
    const files = await readdir(splitDir);
    expect(files).toHaveLength(12 * 3);
    for (const c of manifest.hmdb51.classes) {
      const clips = recA.jobs
        .filter((j) => path.dirname(j.outPath) === path.join(rootA, 'hmdb51', c.name))
        .map((j) => path.basename(j.outPath));
      expect(clips).toHaveLength(3);
      for (const s of [1, 2, 3]) {
        const text = await readFile(path.join(splitDir, `${c.name}_test_split${s}.txt`), 'utf8');
        const lines = text.split('\n').filter((l) => l !== '');
        expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual([...clips].sort());
        for (const l of lines) expect(l).toMatch(/^\S+\.(mp4|avi) [012] $/);
        const ids = new Set(lines.map((l) => l.split(' ')[1]));
        expect(ids.has('1') && ids.has('2')).toBe(true);
      }
    }
  });

  it('rejects impossible sizes with EXP_PARAMS_INVALID naming the option, before writing anything', async () => {
    const root = path.join(await tempDir(), 'w');
    const err = await generateWorld(root, { ...small, width: 161 }, recordingEncoder().encode).catch((e: unknown) => e);
    expect(isExpError(err) && err.code === 'EXP_PARAMS_INVALID' && /width/.test(err.message)).toBe(true);
    const err2 = await generateWorld(root, { ...small, pPolysemous: 1.5 }, recordingEncoder().encode).catch(
      (e: unknown) => e,
    );
    expect(isExpError(err2) && /pPolysemous/.test((err2 as Error).message)).toBe(true);
    expect(existsSync(root)).toBe(false);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      generateWorld(await tempDir(), small, recordingEncoder().encode, { signal: ac.signal }),
    ).rejects.toThrow();
  });

  it('propagates an encoder failure', async () => {
    const failing: EncodeVideo = async () => {
      throw new Error('encoder broke');
    };
    await expect(generateWorld(await tempDir(), small, failing)).rejects.toThrow('encoder broke');
  });
});
