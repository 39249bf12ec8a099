// Benchmarks given as videos + annotations → frame shards through the clip extraction contract
// (extractClipsToShards), written under the node's folder so a re-run of the node reuses them.
// AVA: one clip per annotated keyframe, centred on it, labelled with its Table-4 classes (a
// keyframe with none of them stays in the evaluation as a negative). HMDB51: one clip per video.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { extractClipsToShards } from '../extract.ts';
import type { ClipRequest } from '../shards.ts';
import { readShardIndex } from '../shards.ts';
import { avaKeyframes, keyframeClipId, keyframeWindow, readAvaCsv, table4Labels } from './ava.ts';
import type { AvaBox } from './ava.ts';
import type { ClipSet } from './clip-batches.ts';
import { loadHmdbSplits } from './hmdb51.ts';
import type { HmdbSplit, HmdbVideo } from './hmdb51.ts';
import type { Dirent } from 'node:fs';

const VIDEO_EXT = /\.(mp4|mkv|avi|mov|webm|m4v|mpg|mpeg|wmv|flv|ogv)$/i;

async function walk(root: string, depth = 4): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `cannot read data folder ${root}`, { cause: e, detail: { dir: root } });
  }
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (e.isDirectory() && depth > 0) out.push(...(await walk(p, depth - 1)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Video files under `root`, by file name and by file name without extension. */
async function videoIndex(root: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const f of (await walk(root)).filter((f) => VIDEO_EXT.test(f))) {
    const base = path.basename(f);
    if (!map.has(base)) map.set(base, f);
    const stem = base.replace(VIDEO_EXT, '');
    if (!map.has(stem)) map.set(stem, f);
  }
  return map;
}

export interface PrepareOptions {
  frames: number;
  size: number;
  /** Folder that will hold the shards (reused when it already holds them for the same clips). */
  shardsDir: string;
  signal?: AbortSignal;
  log?: (m: string) => void;
  onProgress?: (done: number, total: number) => void;
}

async function toShards(clips: ClipRequest[], o: PrepareOptions): Promise<ClipSet> {
  const log = o.log ?? (() => undefined);
  if (existsSync(path.join(o.shardsDir, 'index.json'))) {
    const index = await readShardIndex(o.shardsDir);
    if (
      index.frames === o.frames &&
      index.size === o.size &&
      index.clips.length > 0 &&
      index.clips.every((c) => clips.some((r) => r.id === c.id))
    ) {
      log(`reusing ${index.clips.length} decoded clips in ${o.shardsDir}`);
      return { dir: o.shardsDir, index };
    }
  }
  // Decode into a private folder and publish it with one rename: the folder may be shared by
  // several nodes (StageContext.sharedDir), and a half-written one must never be read.
  const tmpDir = `${o.shardsDir}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const { index: decoded, skipped } = await extractClipsToShards(clips, tmpDir, {
    frames: o.frames,
    size: o.size,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  await mkdir(path.dirname(o.shardsDir), { recursive: true });
  try {
    await rename(tmpDir, o.shardsDir);
  } catch {
    // Another node published the same clips first: use theirs.
    await rm(tmpDir, { recursive: true, force: true });
  }
  const index = existsSync(path.join(o.shardsDir, 'index.json')) ? await readShardIndex(o.shardsDir) : decoded;
  for (const s of skipped.slice(0, 20)) log(`warning: clip ${s.id} skipped: ${s.reason}`);
  if (skipped.length > 20) log(`warning: ${skipped.length - 20} more clips skipped`);
  if (index.clips.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', `none of the ${clips.length} clips could be decoded into ${o.shardsDir}`, {
      hint: 'check the videos with ffprobe',
    });
  }
  return { dir: o.shardsDir, index };
}

/** The AVA annotation CSVs under `root` for a part: files named *train* or *val* / *test*. */
export async function findAvaCsvs(root: string, part: 'train' | 'val'): Promise<string[]> {
  const csvs = (await walk(root)).filter((f) => /\.csv$/i.test(f) && !/exclu/i.test(path.basename(f)));
  const pick = csvs.filter((f) => (part === 'train' ? /train/i : /val|test/i).test(path.basename(f)));
  if (pick.length) return pick;
  throw new ExpError(
    'EXP_INPUT_MISSING',
    `no AVA ${part} annotation CSV (a file named *${part === 'train' ? 'train' : 'val'}*.csv) under ${root}`,
    {
      hint: 'give the AVA folder that holds ava_train_v2.x.csv / ava_val_v2.x.csv and the videos',
      detail: { dir: root },
    },
  );
}

/** AVA keyframe clips of a part, decoded into shards. */
export async function prepareAva(
  root: string,
  part: 'train' | 'val',
  clipSeconds: number,
  o: PrepareOptions,
): Promise<ClipSet> {
  const log = o.log ?? (() => undefined);
  const warn = (m: string) => log(`warning: ${m}`);
  const boxes: AvaBox[] = [];
  for (const f of await findAvaCsvs(root, part)) boxes.push(...(await readAvaCsv(f, warn)));
  const videos = await videoIndex(root);
  const missing = new Set<string>();
  const clips: ClipRequest[] = [];
  for (const k of avaKeyframes(boxes)) {
    const video = videos.get(k.videoId);
    if (!video) {
      missing.add(k.videoId);
      continue;
    }
    const { start, end } = keyframeWindow(k.timestamp, clipSeconds);
    clips.push({
      id: keyframeClipId(k),
      video,
      start,
      end,
      labels: table4Labels(k.actionIds),
      meta: { ava_ids: k.actionIds, timestamp: k.timestamp },
    });
  }
  if (missing.size)
    warn(
      `${missing.size} AVA videos not found under ${root}, their keyframes skipped: ${[...missing].slice(0, 5).join(', ')}${missing.size > 5 ? ', ...' : ''}`,
    );
  log(
    `AVA ${part}: ${clips.length} keyframe clips (${clips.filter((c) => c.labels.length).length} with a Table-4 class)`,
  );
  return toShards(clips, o);
}

/** HMDB51 splits found under `root`. */
export async function hmdbSplits(
  root: string,
  log: (m: string) => void = () => undefined,
): Promise<{ classes: string[]; splits: HmdbSplit[] }> {
  return loadHmdbSplits(root, (m) => log(`warning: ${m}`));
}

/** HMDB51 videos (e.g. the union of the splits' train parts), one clip each (the whole video), decoded into shards. */
export async function prepareHmdb(root: string, list: readonly HmdbVideo[], o: PrepareOptions): Promise<ClipSet> {
  const log = o.log ?? (() => undefined);
  const videos = await videoIndex(root);
  const clips: ClipRequest[] = [];
  const seen = new Set<string>();
  let missing = 0;
  for (const v of list) {
    if (seen.has(v.video)) continue;
    seen.add(v.video);
    const file = videos.get(v.video) ?? videos.get(v.video.replace(VIDEO_EXT, ''));
    if (!file) {
      missing++;
      continue;
    }
    // The whole video: extraction clamps the end to the video's duration.
    clips.push({ id: v.video, video: file, start: 0, end: 36_000, labels: [v.class] });
  }
  if (missing) log(`warning: ${missing} HMDB51 videos listed in the split files were not found under ${root}`);
  return toShards(clips, o);
}
