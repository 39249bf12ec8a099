import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRawVideo } from './ffmpeg.ts';
import { loadMovieCorpus, pickSidecar } from './corpus.ts';

let dir = '';
const SRT = '1\n00:00:00,200 --> 00:00:00,800\nHello.\n';

async function tinyVideo(file: string, subtitles?: string): Promise<void> {
  const f = new Uint8Array(16 * 16 * 3).fill(128);
  await encodeRawVideo([f, f, f, f, f], { width: 16, height: 16, fps: 5, outPath: file, subtitles });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-corpus-'));
  const films = path.join(dir, 'films');
  await mkdir(path.join(films, 'sub dir'), { recursive: true });
  await tinyVideo(path.join(films, 'Alpha.mp4'));
  await writeFile(path.join(films, 'Alpha.srt'), SRT);
  await writeFile(path.join(films, 'Alpha.fr.srt'), SRT);
  await tinyVideo(path.join(films, 'sub dir', '-Beta film.mp4'));
  await writeFile(path.join(films, 'sub dir', '-Beta film.en.vtt'), 'WEBVTT\n\n00:00.200 --> 00:00.800\nHi.\n');
  const embSrt = path.join(dir, 'emb.srt');
  await writeFile(embSrt, SRT);
  await tinyVideo(path.join(films, 'Gamma.mp4'), embSrt);
  await tinyVideo(path.join(films, 'Delta.mp4')); // no subtitles at all
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('movie corpus', () => {
  it('pairs videos with sidecars, extracts embedded subtitles, skips a movie without any', async () => {
    const c = await loadMovieCorpus(path.join(dir, 'films'), { extractDir: path.join(dir, 'extracted') });
    const byId = Object.fromEntries(c.movies.map((m) => [m.id, m]));
    expect(Object.keys(byId).sort()).toEqual(['Alpha', 'Gamma', 'sub dir/-Beta film']);
    expect(path.basename(byId.Alpha!.subtitles)).toBe('Alpha.srt');
    expect(byId.Alpha!.subtitleSource).toBe('sidecar');
    expect(path.basename(byId['sub dir/-Beta film']!.subtitles)).toBe('-Beta film.en.vtt');
    expect(byId.Gamma!.subtitleSource).toBe('embedded');
    expect(byId.Gamma!.subtitles.startsWith(path.join(dir, 'extracted'))).toBe(true);
    expect(c.skipped).toHaveLength(1);
    expect(c.skipped[0]!.id).toBe('Delta');
    expect(c.skipped[0]!.reason).toMatch(/Delta\.mp4 has no subtitles/);
  });

  it('reads a CSV manifest with quoted paths and a JSONL manifest, reporting bad rows', async () => {
    const csv = path.join(dir, 'movies.csv');
    await writeFile(
      csv,
      'id,video,subtitles\r\nA,films/Alpha.mp4,"films/Alpha.fr.srt"\r\nB,"films/sub dir/-Beta film.mp4",\r\nZ,films/missing.mp4,films/Alpha.srt\r\nY,films/Alpha.mp4,films/nope.srt\r\n',
    );
    const c = await loadMovieCorpus(csv);
    expect(c.movies.map((m) => [m.id, path.basename(m.subtitles), m.subtitleSource])).toEqual([
      ['A', 'Alpha.fr.srt', 'manifest'],
      ['B', '-Beta film.en.vtt', 'manifest'],
    ]);
    expect(c.skipped.map((s) => s.id)).toEqual(['Z', 'Y']);
    expect(c.skipped[1]!.reason).toContain('nope.srt');

    const jsonl = path.join(dir, 'movies.jsonl');
    await writeFile(jsonl, '{"video": "films/Alpha.mp4", "subtitles": "films/Alpha.srt"}\nnot json\n');
    const j = await loadMovieCorpus(jsonl);
    expect(j.movies.map((m) => m.id)).toEqual(['Alpha']);
    expect(j.skipped[0]!.reason).toMatch(/movies\.jsonl:2/);
  });

  it('names a missing corpus and a manifest without a header', async () => {
    await expect(loadMovieCorpus(path.join(dir, 'nowhere'))).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'films/Alpha.mp4,films/Alpha.srt\n');
    await expect(loadMovieCorpus(bad)).rejects.toMatchObject({
      code: 'EXP_DATA_INVALID',
      message: expect.stringContaining('bad.csv'),
    });
  });

  it('prefers the exact sidecar, then English', () => {
    const v = '/m/Film.mkv';
    expect(pickSidecar(v, ['/m/Film.de.srt', '/m/Film.en.srt', '/m/Film.vtt'])).toBe('/m/Film.vtt');
    expect(pickSidecar(v, ['/m/Film.de.srt', '/m/Film.eng.srt'])).toBe('/m/Film.eng.srt');
    expect(pickSidecar(v, ['/m/Film.de.srt'])).toBe('/m/Film.de.srt');
    expect(pickSidecar(v, ['/m/Filmography.srt', '/x/Film.srt'])).toBeNull();
  });
});
