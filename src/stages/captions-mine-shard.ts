// `captions.mine` as shards + a gather: the paper's biggest step (390M subtitle sentences scored)
// spread over the cluster. A shard checks and mines its movies: the per-movie cap is exact there
// (a movie lies in one shard) and it keeps its own best `max_per_class` per class, a superset of
// what the whole corpus keeps from it. The gather adds the counts, keeps the best `max_per_class`
// per class over all shards (two streaming passes; memory: classes × max_per_class) and writes
// the clips in corpus order: the same files and metrics as one node.
import { statSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ShardItem, ShardSource, StageContext, StageResult, StageSharding } from '../plan/stage-kind.ts';
import type { MovieEntry, SkippedMovie } from '../video/corpus.ts';
import type { ClassYield, MinedClipKey } from '../video/mining.ts';
import {
  type CaptionsMineParams,
  corpusUnusable,
  defaultMineDeps,
  describeSkip,
  findMovies,
  finishMining,
  miningOptions,
  prepareScorer,
} from './captions-mine-core.ts';
import { outputPath } from './ports.ts';
import { bytesDigest, fileDigest, textLines } from './shard-io.ts';

const SHARD_SUMMARY = 'shard.json';
const CLIPS = 'clips.jsonl';

/** An item's data: a listed movie, or something the listing itself passed over. */
type MovieItemData =
  | { video: string; subtitles: string | null; line?: number; duplicate?: boolean }
  | { skipped: SkippedMovie };

interface ShardSummary {
  /** Movies whose files were usable (before mining). */
  usable: number;
  /** Movies mined (usable and with sentences). */
  movies: number;
  sentences: number;
  yield: ClassYield[];
  corpus_skipped: SkippedMovie[];
  mining_skipped: { id: string; video?: string; reason: string }[];
}

async function listItems(source: ShardSource<CaptionsMineParams>): Promise<ShardItem[]> {
  const corpus = source.params.movies || (source.input ? outputPath(source.input, 'movies') : '');
  if (!corpus) throw new Error('captions.mine: no movie corpus to list (neither `movies` nor an upstream node)');
  const { listMovieCorpus } = await import('../video/corpus.ts');
  const listing = await listMovieCorpus(corpus);
  // What the listing passed over comes first, as in one node's list of skipped movies.
  const items: ShardItem[] = listing.skipped.map((s, i) => ({
    id: `.skipped/${i}/${s.id}`,
    digest: bytesDigest(Buffer.from(JSON.stringify(s))),
    data: { skipped: { ...s } },
  }));
  for (const e of listing.entries) {
    // The digest covers the paths too: the clips a shard writes name the video.
    const parts = [e.video, String(e.subtitles), String(e.line ?? ''), e.duplicate ? 'dup' : ''];
    for (const f of [e.video, e.subtitles]) {
      if (!f) continue;
      try {
        parts.push(fileDigest(f, source, statSync(f)));
      } catch {
        parts.push('missing');
      }
    }
    const data: MovieItemData = {
      video: e.video,
      subtitles: e.subtitles,
      ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.duplicate ? { duplicate: true } : {}),
    };
    items.push({ id: e.id, digest: bytesDigest(Buffer.from(parts.join('\u0000'))), data });
  }
  return items;
}

async function runShard(ctx: StageContext<CaptionsMineParams>): Promise<StageResult> {
  const p = ctx.params;
  // Heavy modules (ffmpeg) load when a node runs, not when the CLI starts.
  const { resolveMovieEntries } = await import('../video/corpus.ts');
  const { mineClips } = await import('../video/mining.ts');
  const moviesPath = findMovies(ctx);
  const { scorer, thresholds, classes } = await prepareScorer(ctx, defaultMineDeps);
  const listed: SkippedMovie[] = [];
  const entries: MovieEntry[] = [];
  for (const it of ctx.shard?.items ?? []) {
    const d = it.data as MovieItemData;
    if ('skipped' in d) listed.push(d.skipped);
    else entries.push({ id: it.id, ...d });
  }
  const folder = statSync(moviesPath).isDirectory();
  const resolved = await resolveMovieEntries(entries, folder, {
    extractDir: path.join(ctx.outDir, 'subtitles'),
    signal: ctx.signal,
  });
  const corpusSkipped = [...listed, ...resolved.skipped];
  for (const s of corpusSkipped) ctx.log(`skipped ${describeSkip(s)}`);
  ctx.log(`mining ${resolved.movies.length} movies of ${moviesPath} with ${p.method}`);
  const report = await mineClips(resolved.movies, scorer, miningOptions(ctx, thresholds, classes));
  for (const s of report.skipped) ctx.log(`skipped ${describeSkip(s)}`);
  await writeFile(path.join(ctx.outDir, CLIPS), report.clips.map((c) => `${JSON.stringify(c)}\n`).join(''));
  const summary: ShardSummary = {
    usable: resolved.movies.length,
    movies: report.movies,
    sentences: report.sentences,
    yield: report.yield,
    corpus_skipped: corpusSkipped,
    mining_skipped: report.skipped.map((s) => ({
      ...s,
      video: resolved.movies.find((m) => m.id === s.id)?.video,
    })),
  };
  await writeFile(path.join(ctx.outDir, SHARD_SUMMARY), `${JSON.stringify(summary)}\n`);
  return { outputs: { movies: report.movies, clips: report.clips.length } };
}

/** The `k` best clips under `byConfidence` seen so far (a heap with the least confident on top). */
class BestClips {
  private readonly heap: (MinedClipKey & { id: string })[] = [];
  constructor(
    private readonly k: number,
    private readonly byConfidence: (a: MinedClipKey, b: MinedClipKey) => number,
  ) {}

  offer(c: MinedClipKey & { id: string }): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(c);
      this.up(h.length - 1);
    } else if (this.k > 0 && this.byConfidence(c, h[0]!) < 0) {
      h[0] = c;
      this.down(0);
    }
  }

  ids(): Set<string> {
    return new Set(this.heap.map((c) => c.id));
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.byConfidence(h[i]!, h[parent]!) <= 0) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < h.length && this.byConfidence(h[l]!, h[worst]!) > 0) worst = l;
      if (r < h.length && this.byConfidence(h[r]!, h[worst]!) > 0) worst = r;
      if (worst === i) return;
      [h[i], h[worst]] = [h[worst]!, h[i]!];
      i = worst;
    }
  }
}

type ClipLine = MinedClipKey & { id: string };

async function gather(ctx: StageContext<CaptionsMineParams>): Promise<StageResult> {
  const p = ctx.params;
  const moviesPath = findMovies(ctx);
  const shards = ctx.shards ?? [];
  let usable = 0;
  let movies = 0;
  let sentences = 0;
  let yieldRows: ClassYield[] | undefined;
  const corpusSkipped: SkippedMovie[] = [];
  const miningSkipped: ShardSummary['mining_skipped'] = [];
  for (const shard of shards) {
    const s = JSON.parse(await readFile(path.join(shard.dir, SHARD_SUMMARY), 'utf8')) as ShardSummary;
    usable += s.usable;
    movies += s.movies;
    sentences += s.sentences;
    corpusSkipped.push(...s.corpus_skipped);
    miningSkipped.push(...s.mining_skipped);
    if (!yieldRows) yieldRows = s.yield.map((y) => ({ ...y, candidates: 0, clips: 0 }));
    for (const y of s.yield) {
      const row = yieldRows.find((r) => r.verb === y.verb);
      if (row) row.candidates += y.candidates;
    }
  }
  for (const s of corpusSkipped) ctx.log(`skipped ${describeSkip(s)}`);
  if (usable === 0 && corpusSkipped.length > 0) throw corpusUnusable(moviesPath, corpusSkipped);
  ctx.log(
    `mining ${usable} movies from ${moviesPath} with ${p.method} in ${shards.length} shard(s)${corpusSkipped.length ? ` (${corpusSkipped.length} skipped)` : ''}`,
  );
  for (const s of miningSkipped) ctx.log(`skipped ${describeSkip(s)}`);
  const skippedFiles = [...corpusSkipped, ...miningSkipped];
  if (movies === 0 && skippedFiles.length > 0) throw corpusUnusable(moviesPath, skippedFiles);

  // Pass 1 (only with a per-class cap): the best max_per_class of each class over all shards.
  let keep: Map<string, Set<string>> | undefined;
  if (p.max_per_class !== undefined) {
    const { byConfidence } = await import('../video/mining.ts');
    const best = new Map<string, BestClips>();
    for (const shard of shards) {
      for await (const line of textLines(path.join(shard.dir, CLIPS))) {
        if (!line) continue;
        const c = JSON.parse(line) as ClipLine;
        let b = best.get(c.class);
        if (!b) best.set(c.class, (b = new BestClips(p.max_per_class, byConfidence)));
        b.offer({ id: c.id, score: c.score, movie: c.movie, t_center: c.t_center, class: c.class });
      }
      if (ctx.signal.aborted) throw new Error('interrupted');
    }
    keep = new Map([...best].map(([cls, b]) => [cls, b.ids()]));
  }
  // Pass 2: the kept clips in shard order (= corpus order), lines as the shards wrote them.
  const perClass = new Map<string, number>();
  let clips = 0;
  const out = await open(path.join(ctx.outDir, CLIPS), 'w');
  try {
    let done = 0;
    for (const shard of shards) {
      for await (const line of textLines(path.join(shard.dir, CLIPS))) {
        if (!line) continue;
        const c = JSON.parse(line) as ClipLine;
        if (keep && !keep.get(c.class)?.has(c.id)) continue;
        await out.write(`${line}\n`);
        clips++;
        perClass.set(c.class, (perClass.get(c.class) ?? 0) + 1);
      }
      ctx.progress(++done, shards.length, 'shards');
    }
  } finally {
    await out.close();
  }
  await linkSubtitles(
    ctx.outDir,
    shards.map((s) => s.dir),
  );
  return finishMining(ctx, {
    movies,
    sentences,
    clips,
    yield: (yieldRows ?? []).map((y) => ({ ...y, clips: perClass.get(y.verb) ?? 0 })),
    skipped: [
      ...corpusSkipped.map(({ id, reason }) => ({ id, reason })),
      ...miningSkipped.map(({ id, reason }) => ({ id, reason })),
    ],
    skippedFiles,
  });
}

/** Subtitles extracted from videos (in each shard's `subtitles/`), hard-linked into the gather's. */
async function linkSubtitles(outDir: string, shardDirs: string[]): Promise<void> {
  for (const dir of shardDirs) {
    const from = path.join(dir, 'subtitles');
    let names: string[];
    try {
      names = await readdir(from);
    } catch {
      continue; // no embedded subtitles in this shard
    }
    const to = path.join(outDir, 'subtitles');
    await mkdir(to, { recursive: true });
    for (const n of names) await linkOrCopy(path.join(from, n), path.join(to, n));
  }
}

/** A hard link (same store, no copy); a copy where the filesystem has none. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw e;
    await writeFile(to, await readFile(from));
  }
}

export const captionsSharding: StageSharding<CaptionsMineParams> = {
  port: 'movies',
  // A movie's sentences score in well under a second (ngram); its file checks cost ~0.5 s of ffprobe.
  autoShardSize: 100,
  // Scoring sentences is CPU-bound JavaScript: shards in worker threads use the cores.
  runIn: 'pool',
  listItems,
  run: runShard,
  gather,
};
