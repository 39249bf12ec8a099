// ffmpeg on real videos: mp4/avi/mkv/mov with rotation metadata and a deliberately corrupted file.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractClipsToShards, readClip, type ClipRequest } from '../src/video/extract.ts';
import { decodeFrames, probe } from '../src/video/ffmpeg.ts';
import { dataPath } from './data.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-eval-video-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('real videos', () => {
  it('reads size, fps, duration and rotation of the shared videos', async () => {
    const p = await probe(dataPath('videos/decord/video_90.mov'));
    expect(p.rotation).toBe(90);
    expect([p.width, p.height]).toEqual([320, 568]);
    expect([p.codedWidth, p.codedHeight]).toEqual([568, 320]);
    const q = await probe(dataPath('videos/mmaction2/tests__data__test.avi'));
    expect(q.fps).toBe(25);
    expect(q.duration).toBeCloseTo(6.56, 1);
    expect(q.hasAudio).toBe(true);
  });
  it('fails to decode the corrupted video instead of returning garbage', async () => {
    await expect(
      decodeFrames(dataPath('videos/decord/corrupted.mp4'), { start: 0, duration: 5, frames: 8, size: 32 }),
    ).rejects.toMatchObject({
      code: 'EXP_MEDIA_UNREADABLE',
      message: expect.stringContaining('corrupted.mp4'),
    });
  });
});

describe('extraction from the shared videos', () => {
  it('extracts real clips (mp4, avi, mkv, a rotated .mov) and skips the corrupted video', async () => {
    const v = (p: string): string => dataPath('videos', p);
    const clips: ClipRequest[] = [
      { id: 'demo', video: v('mmaction2/demo__demo.mp4'), start: 0, end: 10, labels: ['a'] },
      { id: 'avi', video: v('mmaction2/tests__data__test.avi'), start: 1, end: 6, labels: ['a'] },
      { id: 'mkv', video: v('decord/flipping_a_pancake.mkv'), start: 2, end: 12, labels: ['a'] },
      { id: 'corrupt', video: v('decord/corrupted.mp4'), start: 0, end: 5, labels: ['a'] },
      { id: 'rot90', video: v('decord/video_90.mov'), start: 0, end: 0.1, labels: ['a'] },
    ];
    const out = path.join(dir, 'real');
    const { index, skipped } = await extractClipsToShards(clips, out, { frames: 8, size: 32 });
    expect(index.clips.map((c) => c.id)).toEqual(['demo', 'avi', 'mkv', 'rot90']);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.reason).toContain('corrupted.mp4');
    const rot = index.clips.find((c) => c.id === 'rot90')!;
    expect(rot.meta).toMatchObject({ decoded_frames: expect.any(Number) });
    expect((await readClip(out, rot)).length).toBe(8 * 32 * 32 * 3);
  });
});
