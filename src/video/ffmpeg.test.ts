import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readCaptionFile } from '../captions/read.ts';
import { decodeClips, decodeFrames, encodeRawVideo, extractSubtitleStream, findFfmpeg, probe } from './ffmpeg.ts';

/** w×h RGB frame: top half `top`, bottom half `bottom`. */
function frame(w: number, h: number, top: [number, number, number], bottom: [number, number, number]): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f.set(y < h / 2 ? top : bottom, (y * w + x) * 3);
  return f;
}
const RED: [number, number, number] = [230, 20, 20];
const BLUE: [number, number, number] = [20, 20, 230];

function meanRGB(data: Uint8Array, S: number, f: number, x0: number, x1: number, y0: number, y1: number): number[] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < 3; c++) sum[c]! += data[((f * S + y) * S + x) * 3 + c]!;
      n++;
    }
  return sum.map((s) => s / n);
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-ffmpeg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('finding ffmpeg', () => {
  it('says how to install it when it is missing', () => {
    const saved = { PATH: process.env.PATH, FFMPEG_PATH: process.env.FFMPEG_PATH };
    try {
      delete process.env.FFMPEG_PATH;
      process.env.PATH = '/nonexistent';
      expect(() => findFfmpeg()).toThrow(
        expect.objectContaining({
          code: 'EXP_FFMPEG_MISSING',
          hint: expect.stringContaining('apt-get install ffmpeg'),
        }),
      );
      process.env.PATH = saved.PATH;
      process.env.FFMPEG_PATH = path.join(dir, 'no-such-ffmpeg');
      expect(() => findFfmpeg()).toThrow(
        expect.objectContaining({ code: 'EXP_FFMPEG_MISSING', message: expect.stringContaining('FFMPEG_PATH') }),
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.FFMPEG_PATH === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved.FFMPEG_PATH;
    }
    expect(findFfmpeg().ffmpeg).toMatch(/ffmpeg/);
  });
});

describe('encode, probe, decode', () => {
  it('round-trips raw frames through a file whose name starts with "-" and has spaces and unicode', async () => {
    const out = path.join(dir, '-odd näme «1».mp4');
    const frames = [
      ...Array.from({ length: 8 }, () => frame(64, 48, RED, RED)),
      ...Array.from({ length: 8 }, () => frame(64, 48, BLUE, BLUE)),
    ];
    await encodeRawVideo(frames, { width: 64, height: 48, fps: 8, outPath: out });
    const p = await probe(out);
    expect(p.width).toBe(64);
    expect(p.height).toBe(48);
    expect(p.fps).toBe(8);
    expect(p.duration).toBeCloseTo(2, 1);
    expect(p.rotation).toBe(0);
    // First second red, second second blue; 4 frames each, centre-cropped to 16×16.
    const a = await decodeFrames(out, { start: 0, duration: 1, frames: 4, size: 16 });
    expect(a.data.length).toBe(4 * 16 * 16 * 3);
    const b = await decodeFrames(out, { start: 1, duration: 1, frames: 4, size: 16 });
    for (let f = 0; f < 4; f++) {
      const [ar, , ab] = meanRGB(a.data, 16, f, 0, 16, 0, 16);
      const [br, , bb] = meanRGB(b.data, 16, f, 0, 16, 0, 16);
      expect(ar!).toBeGreaterThan(ab! + 100);
      expect(bb!).toBeGreaterThan(br! + 100);
    }
  });

  it('decodes several windows in one process exactly as one by one, a bad window alone failing', async () => {
    const out = path.join(dir, '-odd näme «1».mp4');
    const windows = [
      { start: 0.2, duration: 1 },
      { start: 1.1, duration: 0.8 },
      { start: 50, duration: 1 }, // past the end
    ];
    const batch = await decodeClips(out, windows, { frames: 3, size: 16 });
    expect(batch[2]).toBeInstanceOf(Error);
    expect((batch[2] as Error).message).toMatch(/no frames/);
    for (const k of [0, 1]) {
      const single = await decodeFrames(out, { ...windows[k]!, frames: 3, size: 16 });
      expect(Buffer.from((batch[k] as { data: Uint8Array }).data).equals(Buffer.from(single.data))).toBe(true);
    }
  });

  it('gives exactly N frames even from a window shorter than N frames of video', async () => {
    const out = path.join(dir, 'short.mp4');
    await encodeRawVideo([frame(32, 32, RED, BLUE), frame(32, 32, RED, BLUE)], {
      width: 32,
      height: 32,
      fps: 10,
      outPath: out,
    });
    const d = await decodeFrames(out, { start: 0, duration: 0.2, frames: 16, size: 8 });
    expect(d.frames).toBe(16);
    expect(d.data.length).toBe(16 * 8 * 8 * 3);
  });

  it('gives frames from a video much shorter than the window (0.1 s asked for 1 s at 4 frames)', async () => {
    // the fps filter alone yields no frame here (one output period is longer than the video)
    const out = path.join(dir, 'tiny.mp4');
    await encodeRawVideo([frame(32, 32, RED, BLUE), frame(32, 32, RED, BLUE), frame(32, 32, RED, BLUE)], {
      width: 32,
      height: 32,
      fps: 30,
      outPath: out,
      rotation: 180,
    });
    const d = await decodeFrames(out, { start: 0, duration: 1, frames: 4, size: 8 });
    expect(d.frames).toBe(4);
    expect(d.decoded).toBeGreaterThan(0);
  });

  it('turns a video with rotation metadata upright', async () => {
    const out = path.join(dir, 'rotated.mp4');
    await encodeRawVideo([frame(32, 32, RED, BLUE), frame(32, 32, RED, BLUE)], {
      width: 32,
      height: 32,
      fps: 10,
      outPath: out,
      rotation: 90,
    });
    const p = await probe(out);
    expect(p.rotation).toBe(90);
    const d = await decodeFrames(out, { duration: 0.2, frames: 1, size: 32 });
    // Red on top turned 90° clockwise → red on the right.
    const left = meanRGB(d.data, 32, 0, 0, 12, 0, 32);
    const right = meanRGB(d.data, 32, 0, 20, 32, 0, 32);
    expect(left[2]!).toBeGreaterThan(left[0]! + 100);
    expect(right[0]!).toBeGreaterThan(right[2]! + 100);
  });

  it('muxes and extracts an embedded subtitle stream', async () => {
    const srt = path.join(dir, 'subs.srt');
    await writeFile(srt, '1\n00:00:00,100 --> 00:00:00,900\nHello there.\n');
    const out = path.join(dir, 'with subs.mp4');
    await encodeRawVideo(
      Array.from({ length: 10 }, () => frame(32, 32, RED, BLUE)),
      { width: 32, height: 32, fps: 10, outPath: out, subtitles: srt },
    );
    const p = await probe(out);
    expect(p.subtitleStreams).toHaveLength(1);
    const back = path.join(dir, 'back.srt');
    await extractSubtitleStream(out, back);
    const t = await readCaptionFile(back);
    expect(t.cues).toEqual([{ start: 0.1, end: 0.9, text: 'Hello there.' }]);
  });

  it('reports an unreadable file as EXP_MEDIA_UNREADABLE naming it', async () => {
    const bad = path.join(dir, 'not a video.mp4');
    await writeFile(bad, 'hello');
    await expect(probe(bad)).rejects.toMatchObject({
      code: 'EXP_MEDIA_UNREADABLE',
      message: expect.stringContaining('not a video.mp4'),
    });
    await expect(probe(path.join(dir, 'missing.mp4'))).rejects.toMatchObject({ code: 'EXP_MEDIA_UNREADABLE' });
    const noSubs = path.join(dir, 'short.mp4');
    await expect(extractSubtitleStream(noSubs, path.join(dir, 'none.srt'))).rejects.toMatchObject({
      code: 'EXP_MEDIA_UNREADABLE',
    });
  });

  it('rejects frames of the wrong size', async () => {
    await expect(
      encodeRawVideo([new Uint8Array(10)], { width: 4, height: 4, fps: 1, outPath: path.join(dir, 'x.mp4') }),
    ).rejects.toThrow(/expected 4×4×3/);
  });
});
