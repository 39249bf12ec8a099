// Benchmarks given as videos + annotations → frame shards through the clip extraction contract
// (extractClipsToShards), written under the node's folder so a re-run of the node reuses them.
// AVA: one clip per annotated keyframe, centred on it, labelled with its Table-4 classes (a
// keyframe with none of them stays in the evaluation as a negative). HMDB51: one clip per video.
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { extractClipsToShards } from '../extract.ts';
import type { ClipRequest } from '../shards.ts';
import { readShardIndex } from '../shards.ts';
import { avaKeyframes, keyframeClipId, keyframeWindow, parseAvaCsv, readAvaCsv, table4Labels } from './ava.ts';
import type { AvaBox } from './ava.ts';
import type { ClipSet } from './clip-batches.ts';
import { findSplitFiles, loadHmdbSplits, parseHmdbSplitFile, SPLIT_FILE } from './hmdb51.ts';
import type { HmdbSplit, HmdbVideo } from './hmdb51.ts';
import type { Dirent } from 'node:fs';

const VIDEO_EXT = /\.(mp4|mkv|avi|mov|webm|m4v|mpg|mpeg|wmv|flv|ogv)$/i;

/** Entries a listing may visit before it stops (an inspection then says nothing rather than guess). */
export const MAX_LISTED = 1_000_000;

async function walk(root: string, depth = 4, budget = { left: Number.POSITIVE_INFINITY }): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `cannot read data folder ${root}`, { cause: e, detail: { dir: root } });
  }
  budget.left -= entries.length;
  for (const e of entries) {
    if (budget.left < 0) break;
    const p = path.join(root, e.name);
    if (e.isDirectory() && depth > 0) out.push(...(await walk(p, depth - 1, budget)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Video files under `root`, by file name and by file name without extension. */
async function videoIndex(root: string): Promise<Map<string, string>> {
  return indexVideos(await walk(root));
}

function indexVideos(files: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of files.filter((f) => VIDEO_EXT.test(f))) {
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
  const pick = avaCsvsOf(await walk(root), part);
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

/** Annotation CSVs among files: all (no part), or those of a part (*train* / *val* or *test*). */
function avaCsvsOf(files: readonly string[], part?: 'train' | 'val'): string[] {
  const csvs = files.filter((f) => /\.csv$/i.test(f) && !/exclu/i.test(path.basename(f)));
  return part ? csvs.filter((f) => (part === 'train' ? /train/i : /val|test/i).test(path.basename(f))) : csvs;
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

/** What is wrong with a benchmark folder, for the user: what was found against what was expected. */
export interface DatasetProblem {
  message: string;
  hint: string;
}

/** Bytes of an annotation CSV read for its video ids (all of AVA v2.2 train: about 55 MB). */
const AVA_ID_BYTES = 64 * 2 ** 20;
const AVA_EXPECTED =
  'an AVA folder: annotation CSVs named *train*.csv / *val*.csv (rows video_id,timestamp,x1,y1,x2,y2,action_id[,person_id]) and the videos, named <video_id>.<ext>, anywhere below it (4 levels)';
const HMDB_EXPECTED =
  'an HMDB51 folder: split files <class>_test_split<1|2|3>.txt (lines "<video> <0|1|2>", e.g. testTrainMulti_7030_splits/) and the videos they list (class folders of .avi), below it';

const some = (list: readonly string[], n = 3): string =>
  `${list.slice(0, n).join(', ')}${list.length > n ? `, ... (${list.length} in all)` : ''}`;

/** The first `limit` bytes of a file, as text. */
async function head(file: string, limit: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const size = Math.min(limit, (await fh.stat()).size);
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * A quick look at an AVA folder before anything runs (a listing, the annotation CSVs' first
 * column; no video opened): the CSVs of the parts used are there and hold AVA rows, and some of
 * the video ids they annotate have a video. Undefined when usable; missing single videos are still
 * skipped (and counted) when the clips are prepared.
 */
export async function inspectAvaFolder(
  root: string,
  parts: readonly ('train' | 'val')[],
): Promise<DatasetProblem | undefined> {
  const budget = { left: MAX_LISTED };
  const files = await walk(root, 4, budget);
  if (budget.left < 0) return undefined;
  const csvs = avaCsvsOf(files);
  const videos = indexVideos(files);
  const videoCount = files.filter((f) => VIDEO_EXT.test(f)).length;
  const rel = (f: string): string => path.relative(root, f);
  for (const part of parts) {
    if (avaCsvsOf(files, part).length === 0)
      return {
        message: `no AVA ${part} annotation CSV (a file named *${part === 'train' ? 'train' : 'val'}*.csv) in ${root}: found ${csvs.length} annotation CSV(s)${csvs.length ? ` (${some(csvs.map(rel))})` : ''} and ${videoCount} video(s) among ${files.length} file(s)`,
        hint: `expected ${AVA_EXPECTED}`,
      };
  }
  const ids = new Set<string>();
  const used = [...new Set(parts.flatMap((part) => avaCsvsOf(files, part)))];
  for (const csv of used) {
    const text = await head(csv, AVA_ID_BYTES);
    const firstLines =
      text
        .slice(0, 64 * 1024)
        .split(/\r?\n/)
        .slice(0, -1)
        .join('\n') || text;
    if (parseAvaCsv(firstLines, csv).length === 0) {
      const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
      return {
        message: `${rel(csv)} in ${root} holds no AVA annotation row in its first lines (line 1: ${JSON.stringify(first.slice(0, 80))})`,
        hint: `expected ${AVA_EXPECTED}`,
      };
    }
    for (let at = 0; at < text.length; ) {
      const end = text.indexOf('\n', at);
      const line = text.slice(at, end < 0 ? text.length : end);
      const id = line.slice(0, line.indexOf(',')).trim();
      if (id && line.includes(',') && !/video/i.test(id)) ids.add(id);
      if (end < 0) break;
      at = end + 1;
    }
  }
  const matched = [...ids].filter((id) => videos.has(id)).length;
  if (matched > 0) return undefined;
  const sample = [...ids].slice(0, 3);
  if (videoCount === 0)
    return {
      message: `no video (.mp4, .mkv, ...) in ${root}: found 0 videos among ${files.length} file(s), and the annotations (${some(used.map(rel), 2)}) name ${ids.size} video id(s), e.g. ${sample.join(', ')}`,
      hint: `expected ${AVA_EXPECTED}`,
    };
  return {
    message: `none of the ${ids.size} video id(s) annotated in ${some(used.map(rel), 2)} has a video in ${root}: found ${videoCount} video(s)${videoCount ? ` (${some([...new Set(videos.values())].map(rel))})` : ''}; expected e.g. ${sample.map((id) => `${id}.mp4`).join(', ')}`,
    hint: `expected ${AVA_EXPECTED}`,
  };
}

/**
 * A quick look at an HMDB51 folder before anything runs (a listing and the small split files; no
 * video opened): split files for the splits used, lines in their format, and videos for some of
 * those they list. Undefined when usable.
 */
export async function inspectHmdbFolder(root: string, splits: readonly number[]): Promise<DatasetProblem | undefined> {
  const budget = { left: MAX_LISTED };
  const files = await walk(root, 4, budget);
  if (budget.left < 0) return undefined;
  const splitFiles = await findSplitFiles(root);
  const videos = indexVideos(files);
  const videoCount = files.filter((f) => VIDEO_EXT.test(f)).length;
  const rel = (f: string): string => path.relative(root, f);
  if (splitFiles.length === 0) {
    const txt = files.filter((f) => /\.txt$/i.test(f));
    return {
      message: `no HMDB51 split file (<class>_test_split1.txt, ...) in ${root}: found ${txt.length} .txt file(s)${txt.length ? ` (${some(txt.map(rel))})` : ''} and ${videoCount} video(s) among ${files.length} file(s)`,
      hint: `expected ${HMDB_EXPECTED}`,
    };
  }
  const splitOf = (f: string): number => Number(SPLIT_FILE.exec(path.basename(f))![2]);
  const present = [...new Set(splitFiles.map(splitOf))].sort();
  const absent = splits.filter((k) => !present.includes(k));
  if (absent.length)
    return {
      message: `no HMDB51 split ${absent.join(', ')} file (<class>_test_split${absent[0]}.txt) in ${root}: found ${splitFiles.length} split file(s), for split(s) ${present.join(', ')}`,
      hint: `set splits: [${present.join(', ')}] or add the split files; ${HMDB_EXPECTED}`,
    };
  const listed = new Set<string>();
  const malformed: string[] = [];
  const used = splitFiles.filter((x) => splits.includes(splitOf(x)));
  const texts = await Promise.all(used.map((f) => readFile(f, 'utf8')));
  used.forEach((f, i) => {
    const cls = SPLIT_FILE.exec(path.basename(f))![1]!;
    const part = parseHmdbSplitFile(texts[i]!, cls, rel(f), (m) => malformed.push(m));
    for (const v of [...part.train, ...part.test]) listed.add(v.video);
  });
  if (listed.size === 0)
    return {
      message: `the HMDB51 split files of split(s) ${splits.join(', ')} in ${root} list no video${malformed.length ? `: ${malformed.length} malformed line(s) (${some(malformed, 2)})` : ''}`,
      hint: `expected ${HMDB_EXPECTED}`,
    };
  const found = [...listed].filter((v) => videos.has(v) || videos.has(v.replace(VIDEO_EXT, ''))).length;
  if (found > 0) return undefined;
  if (videoCount === 0)
    return {
      message: `no video (.avi, .mp4, ...) in ${root}: found 0 videos among ${files.length} file(s), and the split files of split(s) ${splits.join(', ')} list ${listed.size} video(s), e.g. ${some([...listed], 2)}`,
      hint: `expected ${HMDB_EXPECTED}`,
    };
  return {
    message: `none of the ${listed.size} video(s) listed in the split files of split(s) ${splits.join(', ')} (e.g. ${some([...listed], 2)}) is in ${root}: found ${videoCount} video(s)${videoCount ? ` (${some([...new Set(videos.values())].map(rel))})` : ''}`,
    hint: `expected ${HMDB_EXPECTED}`,
  };
}
