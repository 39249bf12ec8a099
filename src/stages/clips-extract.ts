// Stage `clips.extract`: decode the mined clips into frame shards (T frames of S×S RGB) for the
// video trainer, with a contact sheet per class for judging mining precision by eye (Table 2).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind, StageResult } from '../plan/stage-kind.ts';
import type { ClipRequest } from '../video/extract.ts';
import type { MinedClip } from '../video/mining.ts';
import { outputPath, requirePort } from './ports.ts';

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

export async function runClipsExtract(
  ctx: StageContext<ClipsExtractParams>,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { writeContactSheets } = await import('../video/contact-sheet.ts');
  const { extractClipsToShards } = await import('../video/extract.ts');
  const { clips: mined, file } = await readMinedClips(ctx);
  const requests = toClipRequests(mined);
  ctx.log(
    `extracting ${requests.length} clips (${mined.length} mined rows from ${file}): ${p.frames} frames of ${p.size}×${p.size}`,
  );
  const shardsDir = path.join(ctx.outDir, 'shards');
  const { index, skipped } = await extractClipsToShards(requests, shardsDir, {
    frames: p.frames,
    size: p.size,
    fps: p.fps,
    concurrency: p.concurrency,
    signal: ctx.signal,
    onProgress: (d, t) => ctx.progress(d, t, 'clips'),
  });
  for (const s of skipped) ctx.log(`skipped clip ${s.id}: ${s.reason}`);
  // The same skips by video: a corrupt or truncated movie loses all (or its late) clips.
  const videoOf = new Map(requests.map((r) => [r.id, r.video]));
  const perVideo = new Map<string, { total: number; skipped: number; reason: string }>();
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
  const badVideos = [...perVideo].filter(([, v]) => v.skipped > 0);
  for (const [video, v] of badVideos) ctx.log(`skipped ${v.skipped} of ${v.total} clip(s) of ${video}: ${v.reason}`);
  if (index.clips.length === 0 && requests.length > 0) {
    const shown = badVideos
      .slice(0, 3)
      .map(([video, v]) => `${video} (${v.reason.replace(`${video} `, '').slice(0, 200)})`);
    throw new ExpError(
      'EXP_CORPUS_UNUSABLE',
      `clips.extract: none of the ${requests.length} clip(s) could be decoded, from ${perVideo.size} video(s): ${shown.join('; ')}${badVideos.length > 3 ? `; and ${badVideos.length - 3} more (all listed in this node's log)` : ''}`,
      {
        hint: 'replace or remove the broken videos (check one with `ffprobe FILE`), then rerun; exp plan --why shows what reruns',
      },
    );
  }
  let contact: string | null = null;
  if (p.contact_sheet) {
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

export const kind: StageKind<ClipsExtractParams> = {
  name: 'clips.extract',
  version: '2',
  description: 'Decode mined clips into uint8 frame shards (T×S×S RGB) with per-class contact sheets',
  paramsSchema,
  inputs: { clips: { accepts: ['mined-clips'], description: 'the mined clip list (captions.mine)' } },
  produces: ['clip-shards'],
  // ffmpeg decoders are short and I/O-bound: by default declare one slot (so extraction overlaps
  // training of another branch) while running `concurrency` (default: cores) decoders.
  resources: (p) => ({ cpus: Math.min(p.concurrency ?? 1, Math.max(1, os.availableParallelism())), memoryMb: 1024 }),
  runIn: 'inline',
  run: (ctx) => runClipsExtract(ctx),
};
