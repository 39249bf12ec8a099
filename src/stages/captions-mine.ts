// Stage `captions.mine` (§4): score every caption sentence of a movie corpus with the S2A
// classifier (or the keyword baseline), keep those over their class threshold, cap per class and
// per movie, and write the clip list with 10-second windows plus the yield per class (Fig. 3).
// Sharded (the paper's 390M-sentence step): captions-mine-shard.ts.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JsonSchema, JsonValue, StageContext, StageKind, StageResult } from '../plan/stage-kind.ts';
import {
  type CaptionsMineParams,
  corpusUnusable,
  defaultMineDeps,
  describeSkip,
  findMovies,
  finishMining,
  miningOptions,
  type MineDeps,
  prepareScorer,
} from './captions-mine-core.ts';
import { captionsSharding } from './captions-mine-shard.ts';

export type { CaptionsMineParams, MineDeps } from './captions-mine-core.ts';
export { corpusUnusable, defaultMineDeps } from './captions-mine-core.ts';

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    method: {
      type: 'string',
      enum: ['keyword', 's2a'],
      default: 's2a',
      description:
        'Scorer: the trained Speech2Action classifier (needs s2a.train and s2a.evaluate upstream) or the keyword baseline (needs verbs.mine or pairs.build upstream).',
    },
    movies: {
      type: 'string',
      'x-exp-path': 'any',
      description:
        'Movie corpus: a folder of videos with sidecar .srt/.vtt/.sbv, or a CSV/JSONL manifest (id, video, subtitles). Optional when an upstream node outputs `movies`.',
    },
    window_s: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 600,
      default: 10,
      description: 'Clip length in seconds, centred on the sentence midpoint (paper: 10).',
    },
    max_per_class: {
      type: 'integer',
      minimum: 1,
      description: 'Keep at most this many clips per class (the most confident). Unlimited when absent.',
    },
    max_per_movie: {
      type: 'integer',
      minimum: 1,
      description: 'Keep at most this many clips per movie (the most confident). Unlimited when absent.',
    },
    thresholds: {
      type: 'object',
      additionalProperties: { type: 'number' },
      description: 'Per-class score thresholds overriding those of s2a.evaluate (e.g. {phone: 0.4}).',
    },
    min_score: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'Threshold of a class that has none from s2a.evaluate or `thresholds` (keyword scores are 0 or 1).',
    },
    classes: { type: 'array', items: { type: 'string' }, description: 'Mine only these classes (default: all).' },
    include_unkept: {
      type: 'boolean',
      default: false,
      description:
        'With method s2a, also mine classes whose threshold did not reach the target precision on validation (kept: false).',
    },
    batch_size: {
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 512,
      description: 'Sentences per classifier call.',
    },
  },
};

export async function runCaptionsMine(
  ctx: StageContext<CaptionsMineParams>,
  deps: MineDeps = defaultMineDeps,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { loadMovieCorpus } = await import('../video/corpus.ts');
  const { mineClips } = await import('../video/mining.ts');
  const moviesPath = findMovies(ctx);
  const { scorer, thresholds, classes } = await prepareScorer(ctx, deps);
  const corpus = await loadMovieCorpus(moviesPath, {
    extractDir: path.join(ctx.outDir, 'subtitles'),
    signal: ctx.signal,
  });
  for (const s of corpus.skipped) ctx.log(`skipped ${describeSkip(s)}`);
  if (corpus.movies.length === 0 && corpus.skipped.length > 0) throw corpusUnusable(moviesPath, corpus.skipped);
  ctx.log(
    `mining ${corpus.movies.length} movies from ${moviesPath} with ${p.method}${corpus.skipped.length ? ` (${corpus.skipped.length} skipped)` : ''}`,
  );
  const report = await mineClips(corpus.movies, scorer, miningOptions(ctx, thresholds, classes));
  for (const s of report.skipped) ctx.log(`skipped ${describeSkip(s)}`);
  const skippedFiles = [
    ...corpus.skipped,
    ...report.skipped.map((s) => ({ ...s, video: corpus.movies.find((m) => m.id === s.id)?.video })),
  ];
  if (report.movies === 0 && skippedFiles.length > 0) throw corpusUnusable(moviesPath, skippedFiles);

  await writeFile(
    path.join(ctx.outDir, 'clips.jsonl'),
    report.clips.map((c) => JSON.stringify(c)).join('\n') + (report.clips.length ? '\n' : ''),
  );
  return finishMining(ctx, {
    movies: report.movies,
    sentences: report.sentences,
    clips: report.clips.length,
    yield: report.yield,
    skipped: [...corpus.skipped.map(({ id, reason }) => ({ id, reason })), ...report.skipped],
    skippedFiles,
  });
}

export const kind: StageKind<CaptionsMineParams> = {
  name: 'captions.mine',
  version: '2',
  description: 'Mine weakly labelled clips from movie subtitles with the S2A classifier or keywords (§4, Fig. 3)',
  paramsSchema,
  inputs: {
    movies: { accepts: ['movies'], param: 'movies', description: 'videos with subtitles (or set `movies`)' },
    classes: {
      accepts: ['verb-classes'],
      when: { param: 'method', in: ['keyword'] },
      description: 'method keyword: the verb classes (pairs.build or verbs.mine)',
    },
    model: {
      accepts: ['s2a-model'],
      when: { param: 'method', in: ['s2a'] },
      description: 'method s2a: the trained classifier (s2a.train)',
    },
    thresholds: {
      accepts: ['s2a-thresholds'],
      when: { param: 'method', in: ['s2a'] },
      optional: true,
      description: 'method s2a: per-class thresholds (s2a.evaluate); min_score without it',
    },
  },
  produces: ['mined-clips'],
  resources: { cpus: 1, memoryMb: 2048 },
  runIn: 'inline',
  module: import.meta.url,
  shard: captionsSharding,
  // A folder of subtitles without videos (or the reverse), a manifest in the wrong format: said
  // by exp validate / plan, before any node starts.
  async checkInputs(params, look) {
    const movies = params.movies;
    if (!movies) return [];
    const problem = await look.once(`movies:${movies}`, async () =>
      (await import('../video/corpus.ts')).inspectMovieCorpus(movies),
    );
    return problem ? [{ param: 'movies', ...problem }] : [];
  },
  run: (ctx) => runCaptionsMine(ctx),
};
