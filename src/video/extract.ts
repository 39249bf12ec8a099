// Clip requests → frame shards. Each distinct video is probed once; up to `batchSize` clips of a
// video are decoded by one ffmpeg process (at most `concurrency` processes at a time, default one
// per core). Clips are
// written in request order so that the same requests give byte-identical shards. A video that
// cannot be read, a window outside the video, or a decoding error skips that clip with a reason:
// one bad file never stops the corpus.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { isExpError } from '../errors.ts';
import { decodeClips, probe } from './ffmpeg.ts';
import type { ProbeResult } from './ffmpeg.ts';
import { ShardWriter } from './shards.ts';
import type { ClipRequest, ShardIndex } from './shards.ts';

export type { ClipRequest } from './shards.ts';
export { readClip, readShardIndex, iterateClips } from './shards.ts';

export interface ExtractOptions {
  frames: number;
  size: number;
  /** Frames per second to sample instead of `frames` spread uniformly (still resampled to `frames`). */
  fps?: number;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Shard file size limit (default 256 MiB). */
  maxShardBytes?: number;
  /** Clips of one video decoded by one ffmpeg process (default 8). */
  batchSize?: number;
}

export interface SkippedClip {
  id: string;
  reason: string;
}

function reasonOf(e: unknown): string {
  if (isExpError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export async function extractClipsToShards(
  clips: ClipRequest[],
  outDir: string,
  opts: ExtractOptions,
): Promise<{ index: ShardIndex; skipped: SkippedClip[] }> {
  const frames = Math.round(opts.frames);
  const size = Math.round(opts.size);
  if (!(frames > 0 && size > 0))
    throw new Error(`extractClipsToShards: frames and size must be positive (got ${opts.frames}, ${opts.size})`);
  await mkdir(outDir, { recursive: true });
  const writer = new ShardWriter(outDir, frames, size, opts.maxShardBytes);
  const skipped: SkippedClip[] = [];
  const probes = new Map<string, Promise<ProbeResult>>();
  const probeOnce = (video: string): Promise<ProbeResult> => {
    let p = probes.get(video);
    if (!p) {
      p = probe(video, { signal: opts.signal });
      p.catch(() => undefined); // awaited by each clip; avoid an unhandled rejection meanwhile
      probes.set(video, p);
    }
    return p;
  };

  type Result = { ok: true; data: Uint8Array; meta: Record<string, unknown> } | { ok: false; reason: string };
  const results = new Map<number, Result>();

  // Batches: up to `batchSize` consecutive requests of one video, decoded by one ffmpeg process.
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 8));
  const batches: number[][] = [];
  const open = new Map<string, number[]>();
  const seen = new Set<string>();
  clips.forEach((c, i) => {
    if (seen.has(c.id)) {
      results.set(i, { ok: false, reason: `duplicate clip id ${c.id}` });
      return;
    }
    seen.add(c.id);
    let b = open.get(c.video);
    if (!b || b.length >= batchSize) {
      b = [];
      open.set(c.video, b);
      batches.push(b);
    }
    b.push(i);
  });

  const decodeBatch = async (batch: number[]): Promise<void> => {
    const video = clips[batch[0]!]!.video;
    let info: ProbeResult;
    try {
      info = await probeOnce(video);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      for (const i of batch) results.set(i, { ok: false, reason: reasonOf(e) });
      return;
    }
    const todo: { i: number; start: number; end: number }[] = [];
    for (const i of batch) {
      const c = clips[i]!;
      if (!info.hasVideo) {
        results.set(i, { ok: false, reason: `${video} has no video stream` });
        continue;
      }
      if (!(Number.isFinite(c.start) && Number.isFinite(c.end) && c.end > c.start)) {
        results.set(i, { ok: false, reason: `${video}: empty or invalid window ${c.start}-${c.end} s` });
        continue;
      }
      const start = Math.round(Math.max(0, c.start) * 1000) / 1000;
      const end = Math.round((info.duration === null ? c.end : Math.min(c.end, info.duration)) * 1000) / 1000;
      if (end <= start) {
        results.set(i, {
          ok: false,
          reason: `${video}: window ${c.start.toFixed(2)}-${c.end.toFixed(2)} s lies past the end (${info.duration?.toFixed(2)} s)`,
        });
        continue;
      }
      todo.push({ i, start, end });
    }
    if (todo.length === 0) return;
    const got = await decodeClips(
      video,
      todo.map((t) => ({ start: t.start, duration: t.end - t.start })),
      { frames, fps: opts.fps, size, signal: opts.signal },
    );
    todo.forEach((t, k) => {
      const g = got[k]!;
      const c = clips[t.i]!;
      if (g instanceof Error) results.set(t.i, { ok: false, reason: g.message });
      else {
        const meta = {
          ...(c.meta ?? {}),
          video,
          start: t.start,
          end: t.end,
          decoded_frames: g.decoded,
          ...(info.duration === null ? { duration_unknown: true } : {}),
        };
        results.set(t.i, { ok: true, data: g.data, meta });
      }
    });
  };

  // Bounded pool of ffmpeg processes; results are committed in request order.
  const limit = Math.max(1, Math.floor(opts.concurrency ?? os.availableParallelism()));
  let next = 0;
  let committed = 0;
  let commitChain: Promise<void> = Promise.resolve();
  const commit = async (): Promise<void> => {
    while (results.has(committed)) {
      const r = results.get(committed)!;
      results.delete(committed);
      const c = clips[committed]!;
      committed++;
      if (r.ok) await writer.add(c.id, c.labels, r.data, r.meta);
      else skipped.push({ id: c.id, reason: r.reason });
    }
  };
  let done = clips.length - batches.reduce((n, b) => n + b.length, 0); // duplicates: already decided
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const batch = batches[next++]!;
      await decodeBatch(batch);
      done += batch.length;
      opts.onProgress?.(done, clips.length);
      commitChain = commitChain.then(commit);
      await commitChain;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, batches.length) }, worker));
    commitChain = commitChain.then(commit);
    await commitChain;
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const index = await writer.finish();
  return { index, skipped };
}
