import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Movie } from './corpus.ts';
import { encodeRawVideo, generateTestPattern, probe } from './ffmpeg.ts';
import { classifierScorer, keywordScorer, mineClips } from './mining.ts';
import type { SentenceScorer } from './mining.ts';

let dir = '';
let movies: Movie[] = [];

// A film of 20 s; its subtitles run to 30 s (longer than the video).
const SUBS = [
  '1\n00:00:01,000 --> 00:00:03,000\nPick up the phone.\n',
  '2\n00:00:09,000 --> 00:00:11,000\nDrive! Drive faster.\n',
  '3\n00:00:18,000 --> 00:00:19,500\nAnswer the phone now.\n',
  '4\n00:00:25,000 --> 00:00:27,000\nDrive home after the credits.\n',
].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-mining-'));
  const f = new Uint8Array(16 * 16 * 3).fill(90);
  const video = path.join(dir, 'film one.mp4');
  await encodeRawVideo(
    Array.from({ length: 40 }, () => f),
    { width: 16, height: 16, fps: 2, outPath: video },
  );
  await writeFile(path.join(dir, 'film one.srt'), SUBS);
  await writeFile(path.join(dir, 'empty.srt'), '');
  movies = [
    { id: 'one', video, subtitles: path.join(dir, 'film one.srt'), subtitleSource: 'sidecar' },
    { id: 'empty', video, subtitles: path.join(dir, 'empty.srt'), subtitleSource: 'sidecar' },
    {
      id: 'broken',
      video: path.join(dir, 'missing.mp4'),
      subtitles: path.join(dir, 'film one.srt'),
      subtitleSource: 'sidecar',
    },
  ];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Scores by word: "phone" → phone 0.9, "drive" → drive 0.6 (a stand-in for the S2A softmax). */
const fakeModel = {
  classes: ['phone', 'drive', 'kiss'],
  async predict(sentences: string[]): Promise<Float32Array> {
    const out = new Float32Array(sentences.length * 3);
    sentences.forEach((s, i) => {
      if (/phone/i.test(s)) out[i * 3] = 0.9;
      if (/drive/i.test(s)) out[i * 3 + 1] = 0.6;
    });
    return out;
  },
};

describe('mining', () => {
  it('keeps sentences over their class threshold with windows clipped to the video', async () => {
    const warnings: string[] = [];
    const r = await mineClips(movies, classifierScorer(fakeModel), {
      thresholds: { phone: 0.5, drive: 0.7, kiss: 0.5 },
      onWarning: (w) => warnings.push(w),
    });
    // drive scores 0.6 < 0.7: none; phone twice; the 4th sentence lies after the video's end.
    expect(r.clips.map((c) => [c.class, c.sentence])).toEqual([
      ['phone', 'Pick up the phone.'],
      ['phone', 'Answer the phone now.'],
    ]);
    const [a, b] = r.clips;
    expect(a).toMatchObject({ movie: 'one', score: 0.9, t_center: 2, t_start: 0, t_end: 7 });
    expect(b!.t_center).toBeCloseTo(18.75);
    expect(b!.t_start).toBeCloseTo(13.75);
    expect(b!.t_end).toBe(20);
    expect(r.yield).toEqual([
      { verb: 'phone', threshold: 0.5, candidates: 2, clips: 2 },
      { verb: 'drive', threshold: 0.7, candidates: 0, clips: 0 },
      { verb: 'kiss', threshold: 0.5, candidates: 0, clips: 0 },
    ]);
    expect(r.movies).toBe(1);
    expect(r.skipped.map((s) => s.id)).toEqual(['empty', 'broken']);
    expect(r.skipped[0]!.reason).toContain('empty.srt');
    expect(warnings.some((w) => /after the end of .*film one\.mp4/.test(w))).toBe(true);
  });

  it('applies the per-class and per-movie caps, keeping the most confident', async () => {
    const scorer: SentenceScorer = {
      classes: ['a'],
      async score(s) {
        return Float32Array.from(s.map((x) => (x.startsWith('Drive') ? 0.95 : 0.8)));
      },
    };
    const perClass = await mineClips(movies.slice(0, 1), scorer, { maxPerClass: 2, windowS: 4 });
    expect(perClass.clips.map((c) => c.sentence)).toEqual(['Drive!', 'Drive faster.']);
    expect(perClass.yield[0]).toMatchObject({ candidates: 4, clips: 2 });
    expect(perClass.clips[0]!.t_end - perClass.clips[0]!.t_start).toBeCloseTo(4);
    const perMovie = await mineClips(movies.slice(0, 1), scorer, { maxPerMovie: 1 });
    expect(perMovie.clips).toHaveLength(1);
  });

  it('mines with the keyword baseline: every class whose verb the spotter finds', async () => {
    const spot = (s: string): string[] => ['phone', 'drive'].filter((v) => s.toLowerCase().includes(v));
    const r = await mineClips(
      movies.slice(0, 1),
      keywordScorer(
        [
          { verb: 'phone', forms: ['phone'] },
          { verb: 'drive', forms: ['drive'] },
        ],
        spot,
      ),
    );
    expect(r.yield.map((y) => [y.verb, y.clips])).toEqual([
      ['phone', 2],
      ['drive', 2],
    ]);
    expect(r.sentences).toBe(4);
  });

  it('warns about a video with no known duration and keeps its windows unclipped at the end', async () => {
    const raw = path.join(dir, 'no duration.h264'); // a bare H.264 stream has no container duration
    await generateTestPattern(raw, { width: 32, height: 32, durationS: 2, fps: 5 });
    expect((await probe(raw)).duration).toBeNull();
    const warnings: string[] = [];
    const r = await mineClips([{ ...movies[0]!, id: 'raw', video: raw }], classifierScorer(fakeModel), {
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings.some((w) => /no duration known/.test(w) && w.includes('no duration.h264'))).toBe(true);
    const last = r.clips.at(-1)!;
    expect(last.sentence).toBe('Drive home after the credits.');
    expect(last.t_end).toBeCloseTo(last.t_center + 5);
  });
});
