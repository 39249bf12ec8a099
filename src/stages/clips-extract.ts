// Stage `clips.extract`: decode the mined clips into frame shards (T frames of S×S RGB) for the
// video trainer, with a contact sheet per class for judging mining precision by eye (Table 2).
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type {
  JsonSchema,
  JsonValue,
  ShardItem,
  ShardSource,
  StageContext,
  StageKind,
  StageResult,
  StageSharding,
} from '../plan/stage-kind.ts';
import type { ClipRequest, SkippedClip } from '../video/extract.ts';
import type { MinedClip } from '../video/mining.ts';
import { readShardIndex, SHARD_INDEX, type ShardClip, type ShardIndex } from '../video/shards.ts';
import { linkOrCopy } from './captions-mine-shard.ts';
import { outputPath, requirePort } from './ports.ts';
import { bytesDigest, readRanges, scanLines } from './shard-io.ts';

export interface ClipsExtractParams {
  frames: number;
  size: number;
  fps?: number;
  concurrency?: number;
  contact_sheet: boolean;
  contact_max_per_class: number;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    frames: {
      type: 'integer',
      minimum: 1,
      maximum: 512,
      default: 16,
      description: 'Frames per clip, spread uniformly over its window.',
    },
    size: {
      type: 'integer',
      minimum: 8,
      maximum: 1024,
      default: 112,
      description: 'Side of the square frames: scaled to cover size×size and centre-cropped.',
    },
    fps: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 120,
      description: 'Sample at this rate instead (then resampled to `frames`). Uniform spread when absent.',
    },
    concurrency: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      description: 'ffmpeg processes at once (default: the number of cores).',
    },
    contact_sheet: {
      type: 'boolean',
      default: true,
      description: 'Write contact/index.html and one PNG per class with the middle frame of every clip.',
    },
    contact_max_per_class: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 200,
      description: 'Clips per class shown on the contact sheet.',
    },
  },
};

async function readMinedClips(ctx: StageContext<ClipsExtractParams>): Promise<{ clips: MinedClip[]; file: string }> {
  const input = requirePort(
    ctx,
    'clips',
    'clips.extract: no clip list: depend on a captions.mine node',
    'needs: [mining]',
  );
  const file = outputPath(input, 'clips', 'clips.jsonl');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `clips.extract: cannot read ${file}`, { cause: e, detail: { file } });
  }
  const clips: MinedClip[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      clips.push(JSON.parse(line) as MinedClip);
    } catch {
      ctx.log(`warning: ${file}:${i + 1} is not JSON; skipped`);
    }
  });
  return { clips, file };
}

/** One request per (movie, sentence window); classes mined from the same sentence become labels of one clip. */
export function toClipRequests(mined: readonly MinedClip[]): ClipRequest[] {
  const byKey = new Map<string, ClipRequest>();
  for (const m of mined) {
    const key = `${m.movie}\u0000${m.t_start}\u0000${m.t_end}\u0000${m.sentence}`;
    const have = byKey.get(key);
    if (have) {
      if (!have.labels.includes(m.class)) have.labels.push(m.class);
      const scores = have.meta!.scores as Record<string, number>;
      scores[m.class] = m.score;
      continue;
    }
    byKey.set(key, {
      id: m.id.replace(/#[^#]*$/, '') || m.id,
      video: m.video,
      start: m.t_start,
      end: m.t_end,
      labels: [m.class],
      meta: {
        movie: m.movie,
        sentence: m.sentence,
        t_center: m.t_center,
        score: m.score,
        scores: { [m.class]: m.score },
      },
    });
  }
  // Ids must be unique even if two windows of one sentence index collide.
  const seen = new Map<string, number>();
  return [...byKey.values()].map((r) => {
    const n = seen.get(r.id) ?? 0;
    seen.set(r.id, n + 1);
    return n ? { ...r, id: `${r.id}~${n}` } : r;
  });
}

type VideoSkips = Map<string, { total: number; skipped: number; reason: string }>;

/** Requests and skips per video, in the order of each video's first request. */
function skipsByVideo(requests: readonly ClipRequest[], skipped: readonly SkippedClip[]): VideoSkips {
  const videoOf = new Map(requests.map((r) => [r.id, r.video]));
  const perVideo: VideoSkips = new Map();
  for (const r of requests) {
    const v = perVideo.get(r.video) ?? { total: 0, skipped: 0, reason: '' };
    v.total++;
    perVideo.set(r.video, v);
  }
  for (const s of skipped) {
    const v = perVideo.get(videoOf.get(s.id) ?? '');
    if (!v) continue;
    v.skipped++;
    v.reason ||= s.reason;
  }
  return perVideo;
}

function extractOptions(ctx: StageContext<ClipsExtractParams>) {
  const p = ctx.params;
  return {
    frames: p.frames,
    size: p.size,
    fps: p.fps,
    concurrency: p.concurrency,
    signal: ctx.signal,
    onProgress: (d: number, t: number) => ctx.progress(d, t, 'clips'),
  };
}

export async function runClipsExtract(
  ctx: StageContext<ClipsExtractParams>,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  const { clips: mined, file } = await readMinedClips(ctx);
  const requests = toClipRequests(mined);
  ctx.log(
    `extracting ${requests.length} clips (${mined.length} mined rows from ${file}): ${p.frames} frames of ${p.size}×${p.size}`,
  );
  const shardsDir = path.join(ctx.outDir, 'shards');
  // Heavy modules (ffmpeg) load when a node runs, not when the CLI starts.
  const { extractClipsToShards } = await import('../video/extract.ts');
  const { index, skipped } = await extractClipsToShards(requests, shardsDir, extractOptions(ctx));
  for (const s of skipped) ctx.log(`skipped clip ${s.id}: ${s.reason}`);
  return finishExtract(ctx, index, skipped, skipsByVideo(requests, skipped), requests.length);
}

/** Skips by video, the empty-result error, contact sheets, metrics and outputs (run and gather alike). */
async function finishExtract(
  ctx: StageContext<ClipsExtractParams>,
  index: Pick<ShardIndex, 'frames' | 'size' | 'clips'>,
  skipped: readonly SkippedClip[],
  perVideo: VideoSkips,
  requestCount: number,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  const shardsDir = path.join(ctx.outDir, 'shards');
  // The same skips by video: a corrupt or truncated movie loses all (or its late) clips.
  const badVideos = [...perVideo].filter(([, v]) => v.skipped > 0);
  for (const [video, v] of badVideos) ctx.log(`skipped ${v.skipped} of ${v.total} clip(s) of ${video}: ${v.reason}`);
  if (index.clips.length === 0 && requestCount > 0) {
    const shown = badVideos
      .slice(0, 3)
      .map(([video, v]) => `${video} (${v.reason.replace(`${video} `, '').slice(0, 200)})`);
    throw new ExpError(
      'EXP_CORPUS_UNUSABLE',
      `clips.extract: none of the ${requestCount} clip(s) could be decoded, from ${perVideo.size} video(s): ${shown.join('; ')}${badVideos.length > 3 ? `; and ${badVideos.length - 3} more (all listed in this node's log)` : ''}`,
      {
        hint: 'replace or remove the broken videos (check one with `ffprobe FILE`), then rerun; exp plan --why shows what reruns',
      },
    );
  }
  let contact: string | null = null;
  if (p.contact_sheet) {
    const { writeContactSheets } = await import('../video/contact-sheet.ts');
    const r = await writeContactSheets(shardsDir, path.join(ctx.outDir, 'contact'), {
      maxPerClass: p.contact_max_per_class,
      onWarning: (m) => ctx.log(`warning: ${m}`),
    });
    contact = path.join('contact', r.html);
    ctx.artifact(contact);
    for (const png of Object.values(r.pngs)) ctx.artifact(path.join('contact', png));
  }
  const perClass: Record<string, number> = {};
  for (const c of index.clips) for (const l of c.labels) perClass[l] = (perClass[l] ?? 0) + 1;
  ctx.metric('clips.extracted', index.clips.length);
  ctx.metric('clips.skipped', skipped.length);
  ctx.metric('clips.skipped_videos', badVideos.filter(([, v]) => v.skipped === v.total).length);
  return {
    outputs: {
      shards: 'shards',
      ...(contact ? { contact_sheet: contact } : {}),
      frames: index.frames,
      size: index.size,
      clips: index.clips.length,
      per_class: perClass,
      skipped: skipped.length,
      skipped_list: skipped.slice(0, 200).map((s) => ({ id: s.id, reason: s.reason })),
    },
    skipped: badVideos.map(([video, v]) => ({
      item: video,
      reason: `${v.skipped === v.total ? 'all' : v.skipped} of ${v.total} clip(s) skipped: ${v.reason}`,
    })),
  };
}

// Sharded: items are the clip requests (one per mined sentence window, with the rows of
// clips.jsonl that make it); each shard decodes its clips into its own frame shards, and the
// gather hard-links those files into its folder (no copy of the frames) under its own numbering
// and writes one index in request order. The clips' bytes, ids, labels and metadata are those of
// one node; only which `shard-NNNNN.bin` holds a clip, and its offset there, differ.
const SHARD_SKIPS = 'skipped.json';

async function listItems(source: ShardSource<ClipsExtractParams>): Promise<ShardItem[]> {
  if (!source.input) throw new Error('clips.extract: its items come from a captions.mine node, and none was given');
  const file = outputPath(source.input, 'clips', 'clips.jsonl');
  // Rows of one sentence window (one per class) make one request, as toClipRequests groups them.
  const groups = new Map<string, { rows: [number, number][]; hashes: string[]; id: string }>();
  await scanLines(file, (line, offset, length) => {
    let m: MinedClip;
    try {
      m = JSON.parse(line.toString('utf8')) as MinedClip;
    } catch {
      return; // not JSON: the shard would skip it with a warning too; the unsharded run logs it
    }
    const key = `${m.movie}\u0000${m.t_start}\u0000${m.t_end}\u0000${m.sentence}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { rows: [], hashes: [], id: m.id.replace(/#[^#]*$/, '') || m.id }));
    g.rows.push([offset, length]);
    g.hashes.push(bytesDigest(line));
  });
  const seen = new Map<string, number>();
  return [...groups.values()].map((g) => {
    const n = seen.get(g.id) ?? 0;
    seen.set(g.id, n + 1);
    return { id: n ? `${g.id}~${n}` : g.id, digest: bytesDigest(Buffer.from(g.hashes.join(','))), data: g.rows };
  });
}

async function runShard(ctx: StageContext<ClipsExtractParams>): Promise<StageResult> {
  const input = requirePort(
    ctx,
    'clips',
    'clips.extract: no clip list: depend on a captions.mine node',
    'needs: [mining]',
  );
  const file = outputPath(input, 'clips', 'clips.jsonl');
  const items = ctx.shard?.items ?? [];
  const rows = items.flatMap((it) => it.data as [number, number][]);
  const mined: MinedClip[] = [];
  for await (const bytes of readRanges(file, rows)) mined.push(JSON.parse(bytes.toString('utf8')) as MinedClip);
  const requests = toClipRequests(mined);
  if (requests.length !== items.length)
    throw new Error(`clips.extract: ${file} changed since its shards were planned (run again)`);
  // Ids as the whole list numbers them (a window id seen twice gets ~1, ~2 there).
  requests.forEach((r, i) => (r.id = items[i]!.id));
  const { extractClipsToShards } = await import('../video/extract.ts');
  const { skipped } = await extractClipsToShards(requests, path.join(ctx.outDir, 'shards'), extractOptions(ctx));
  for (const s of skipped) ctx.log(`skipped clip ${s.id}: ${s.reason}`);
  const perVideo = [...skipsByVideo(requests, skipped)];
  await writeFile(path.join(ctx.outDir, SHARD_SKIPS), `${JSON.stringify({ skipped, perVideo })}\n`);
  return { outputs: { requests: requests.length, skipped: skipped.length } };
}

async function gather(
  ctx: StageContext<ClipsExtractParams>,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const shardsDir = path.join(ctx.outDir, 'shards');
  await mkdir(shardsDir, { recursive: true });
  const skipped: SkippedClip[] = [];
  const perVideo: VideoSkips = new Map();
  const clips: ShardClip[] = [];
  let frames = ctx.params.frames;
  let size = ctx.params.size;
  let requestCount = 0;
  let files = 0;
  for (const shard of ctx.shards ?? []) {
    if (ctx.signal.aborted) throw new Error('interrupted');
    const part = JSON.parse(await readFile(path.join(shard.dir, SHARD_SKIPS), 'utf8')) as {
      skipped: SkippedClip[];
      perVideo: [string, { total: number; skipped: number; reason: string }][];
    };
    skipped.push(...part.skipped);
    for (const [video, v] of part.perVideo) {
      const have = perVideo.get(video) ?? { total: 0, skipped: 0, reason: '' };
      have.total += v.total;
      have.skipped += v.skipped;
      have.reason ||= v.reason;
      perVideo.set(video, have);
    }
    requestCount += typeof shard.outputs.requests === 'number' ? shard.outputs.requests : 0;
    const index = await readShardIndex(path.join(shard.dir, 'shards'));
    frames = index.frames;
    size = index.size;
    const renamed = new Map<string, string>();
    for (const c of index.clips) {
      let name = renamed.get(c.shard);
      if (!name) {
        name = `shard-${String(files++).padStart(5, '0')}.bin`;
        renamed.set(c.shard, name);
        await linkOrCopy(path.join(shard.dir, 'shards', c.shard), path.join(shardsDir, name));
      }
      clips.push({ ...c, shard: name });
    }
  }
  for (const s of skipped) ctx.log(`skipped clip ${s.id}: ${s.reason}`);
  const index = { frames, size, clips };
  await writeIndex(path.join(shardsDir, SHARD_INDEX), index);
  return finishExtract(ctx, index, skipped, perVideo, requestCount);
}

/** `JSON.stringify(index)` + newline, written clip by clip (no string the size of the corpus). */
async function writeIndex(file: string, index: ShardIndex): Promise<void> {
  const out = await open(`${file}.tmp`, 'w');
  try {
    let text = `{"frames":${index.frames},"size":${index.size},"clips":[`;
    for (let i = 0; i < index.clips.length; i++) {
      text += `${i ? ',' : ''}${JSON.stringify(index.clips[i])}`;
      if (text.length > 1 << 20) {
        await out.write(text);
        text = '';
      }
    }
    await out.write(`${text}]}\n`);
  } finally {
    await out.close();
  }
  await rename(`${file}.tmp`, file);
}

const sharding: StageSharding<ClipsExtractParams> = {
  port: 'clips',
  // ~0.15 s of ffmpeg per clip: 200 clips are half a minute of work per shard.
  autoShardSize: 200,
  listItems,
  run: runShard,
  gather,
};

export const kind: StageKind<ClipsExtractParams> = {
  name: 'clips.extract',
  // 3: contact sheets are frames only (no bitmap-font numbers; the HTML numbers them)
  version: '3',
  description: 'Decode mined clips into uint8 frame shards (T×S×S RGB) with per-class contact sheets',
  paramsSchema,
  inputs: { clips: { accepts: ['mined-clips'], description: 'the mined clip list (captions.mine)' } },
  produces: ['clip-shards'],
  // ffmpeg decoders are short and I/O-bound: by default declare one slot (so extraction overlaps
  // training of another branch) while running `concurrency` (default: cores) decoders.
  resources: (p) => ({ cpus: Math.min(p.concurrency ?? 1, Math.max(1, os.availableParallelism())), memoryMb: 1024 }),
  runIn: 'inline',
  shard: sharding,
  run: (ctx) => runClipsExtract(ctx),
};
