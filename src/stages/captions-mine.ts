// Stage `captions.mine` (§4): score every caption sentence of a movie corpus with the S2A
// classifier (or the keyword baseline), keep those over their class threshold, cap per class and
// per movie, and write the clip list with 10-second windows plus the yield per class (Fig. 3).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind, StageResult } from '../plan/stage-kind.ts';
import type { SentenceScorer, VerbClassLike } from '../video/mining.ts';
import { outputPath, portInput, requirePort } from './ports.ts';

export interface CaptionsMineParams {
  method: 'keyword' | 's2a';
  movies?: string;
  window_s: number;
  max_per_class?: number;
  max_per_movie?: number;
  thresholds?: Record<string, number>;
  min_score: number;
  classes?: string[];
  include_unkept: boolean;
  batch_size: number;
}

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

export interface MineDeps {
  createKeywordSpotter(classes: VerbClassLike[]): Promise<(sentence: string) => string[]>;
  loadSentenceClassifier(
    modelDir: string,
  ): Promise<{ classes: string[]; predict(sentences: string[]): Promise<Float32Array> }>;
}

// Imported when used, so that loading this module does not load the classifier's dependencies.
export const defaultMineDeps: MineDeps = {
  async createKeywordSpotter(classes) {
    const mod = await import('../text/keyword.ts');
    return mod.createKeywordSpotter(classes);
  },
  async loadSentenceClassifier(dir) {
    const mod = await import('../text/classifier/index.ts');
    return mod.loadSentenceClassifier(dir);
  },
};

function findMovies(ctx: StageContext<CaptionsMineParams>): string {
  if (ctx.params.movies) return ctx.params.movies;
  const input = requirePort(
    ctx,
    'movies',
    'captions.mine: no movie corpus: set `movies` or depend on a node that outputs `movies` (e.g. demo.world)',
    'with: { movies: path/to/folder-or-manifest }',
  );
  return outputPath(input, 'movies');
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `captions.mine: cannot read ${what} ${file}: ${(e as Error).message}`, {
      cause: e,
      detail: { file },
    });
  }
}

async function keywordClasses(ctx: StageContext<CaptionsMineParams>): Promise<VerbClassLike[]> {
  const input = requirePort(
    ctx,
    'classes',
    'captions.mine (keyword): no verb classes: depend on a pairs.build or verbs.mine node (classes.json / verbs.json)',
    'add `needs: [pairs]` (or [verbs]) to the mining stage',
  );
  // pairs.build names its classes `classes_file`, verbs.mine `verbs_file`
  const file =
    typeof input.outputs.classes_file === 'string'
      ? outputPath(input, 'classes_file')
      : outputPath(input, 'verbs_file', input.kind === 'verbs.mine' ? 'verbs.json' : 'classes.json');
  const doc = (await readJson(file, 'verb classes')) as { classes?: VerbClassLike[] };
  if (!Array.isArray(doc.classes))
    throw new ExpError('EXP_DATA_INVALID', `captions.mine: ${file} has no "classes" list`, { detail: { file } });
  return doc.classes;
}

interface Thresholds {
  classes: { verb: string; threshold: number; kept?: boolean }[];
}

async function s2aInputs(
  ctx: StageContext<CaptionsMineParams>,
): Promise<{ modelDir: string; thresholds: Thresholds | null }> {
  const evalInput = portInput(ctx, 'thresholds');
  let thresholds: Thresholds | null = null;
  if (evalInput) {
    const file = outputPath(evalInput, 'thresholds', 'thresholds.json');
    const doc = (await readJson(file, 'thresholds')) as Partial<Thresholds>;
    if (!Array.isArray(doc.classes))
      throw new ExpError('EXP_DATA_INVALID', `captions.mine: ${file} has no "classes" list`, { detail: { file } });
    thresholds = doc as Thresholds;
  }
  const trainInput = requirePort(
    ctx,
    'model',
    'captions.mine (s2a): no trained classifier: depend on an s2a.train node',
    'needs: [s2a, s2a_eval]; or use method: keyword',
  );
  const modelDir = outputPath(trainInput, 'model', 'model');
  if (!thresholds) ctx.log('no s2a.evaluate input: every class uses min_score as its threshold');
  return { modelDir, thresholds };
}

export async function runCaptionsMine(
  ctx: StageContext<CaptionsMineParams>,
  deps: MineDeps = defaultMineDeps,
): Promise<StageResult & { outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { loadMovieCorpus } = await import('../video/corpus.ts');
  const { classifierScorer, keywordScorer, mineClips } = await import('../video/mining.ts');
  const { renderBarChart } = await import('../video/yield-chart.ts');
  const moviesPath = findMovies(ctx);
  let scorer: SentenceScorer;
  const thresholds: Record<string, number> = {};
  let classes = p.classes;
  if (p.method === 'keyword') {
    const vc = await keywordClasses(ctx);
    scorer = keywordScorer(vc, await deps.createKeywordSpotter(vc));
  } else {
    const { modelDir, thresholds: t } = await s2aInputs(ctx);
    scorer = classifierScorer(await deps.loadSentenceClassifier(modelDir));
    if (t) {
      for (const c of t.classes) if (Number.isFinite(c.threshold)) thresholds[c.verb] = c.threshold;
      if (!p.include_unkept) {
        const kept = new Set(t.classes.filter((c) => c.kept !== false).map((c) => c.verb));
        classes = (classes ?? scorer.classes).filter((c) => kept.has(c));
        const dropped = scorer.classes.filter((c) => !kept.has(c));
        if (dropped.length) ctx.log(`not mined (below the target precision on validation): ${dropped.join(', ')}`);
      }
    }
  }
  Object.assign(thresholds, p.thresholds ?? {});
  const unknown = [...(p.classes ?? []), ...Object.keys(p.thresholds ?? {})].filter((c) => !scorer.classes.includes(c));
  if (unknown.length) {
    throw new ExpError(
      'EXP_PARAMS_INVALID',
      `captions.mine: unknown class(es) ${unknown.join(', ')}; the ${p.method} scorer knows ${scorer.classes.slice(0, 20).join(', ')}${scorer.classes.length > 20 ? ', ...' : ''}`,
      {
        detail: { key: 'classes' },
      },
    );
  }

  const corpus = await loadMovieCorpus(moviesPath, {
    extractDir: path.join(ctx.outDir, 'subtitles'),
    signal: ctx.signal,
  });
  for (const s of corpus.skipped) ctx.log(`skipped ${describeSkip(s)}`);
  if (corpus.movies.length === 0 && corpus.skipped.length > 0) throw corpusUnusable(moviesPath, corpus.skipped);
  ctx.log(
    `mining ${corpus.movies.length} movies from ${moviesPath} with ${p.method}${corpus.skipped.length ? ` (${corpus.skipped.length} skipped)` : ''}`,
  );
  const report = await mineClips(corpus.movies, scorer, {
    windowS: p.window_s,
    thresholds,
    minScore: p.min_score,
    classes,
    maxPerClass: p.max_per_class,
    maxPerMovie: p.max_per_movie,
    batchSize: p.batch_size,
    signal: ctx.signal,
    onProgress: (d, t) => ctx.progress(d, t, 'movies'),
    onWarning: (m) => ctx.log(`warning: ${m}`),
  });
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
  const skipped = [...corpus.skipped.map(({ id, reason }) => ({ id, reason })), ...report.skipped];
  const yieldDoc = {
    method: p.method,
    window_s: p.window_s,
    movies: report.movies,
    sentences: report.sentences,
    clips: report.clips.length,
    classes: report.yield,
    skipped_movies: skipped,
  };
  await writeFile(path.join(ctx.outDir, 'yield.json'), `${JSON.stringify(yieldDoc, null, 2)}\n`);
  const title = `clips mined per class (${p.method}, ${report.movies} movies)`;
  await writeFile(
    path.join(ctx.outDir, 'yield.png'),
    renderBarChart(
      report.yield.map((y) => ({ label: y.verb, value: y.clips })),
      { title },
    ),
  );
  for (const y of report.yield) ctx.metric(`mining.yield.${y.verb}`, y.clips);
  ctx.metric('mining.clips', report.clips.length);
  ctx.metric('mining.sentences', report.sentences);
  ctx.metric('mining.skipped_movies', skippedFiles.length);
  ctx.artifact('yield.png');
  ctx.artifact('yield.json');
  return {
    outputs: {
      clips: 'clips.jsonl',
      yield: 'yield.json',
      chart: 'yield.png',
      method: p.method,
      count: report.clips.length,
      movies: report.movies,
      sentences: report.sentences,
      skipped_movies: skipped.length,
    },
    skipped: skippedFiles.map((s) => ({ item: s.video ?? s.id, reason: s.reason })),
  };
}

/** `movie Film (/data/Film.mp4): reason`, without repeating a path the reason already names. */
function describeSkip(s: { id: string; video?: string; reason: string }): string {
  return `movie ${s.id}${s.video && !s.reason.includes(s.video) ? ` (${s.video})` : ''}: ${s.reason}`;
}

/** Every movie was skipped: name a few, and say what to do. */
export function corpusUnusable(corpus: string, skipped: { id: string; video?: string; reason: string }[]): ExpError {
  const shown = skipped.slice(0, 3).map((s) => describeSkip(s));
  return new ExpError(
    'EXP_CORPUS_UNUSABLE',
    `captions.mine: none of the ${skipped.length} movie(s) in ${corpus} can be used: ${shown.join('; ')}${skipped.length > 3 ? `; and ${skipped.length - 3} more (all listed in this node's log)` : ''}`,
    {
      hint: 'replace or remove the broken files (check one with `ffprobe FILE`), or point `movies` at another corpus',
      detail: { file: corpus },
    },
  );
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
