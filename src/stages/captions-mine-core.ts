// The parts of `captions.mine` that its unsharded run, its shards and its gather share: the
// params, the scorer (S2A classifier or keywords) with its thresholds and classes, the movie
// corpus's location, and the yield files and metrics written at the end.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { barChart } from '../charts/index.ts';
import { ExpError } from '../errors.ts';
import type { JsonValue, StageContext } from '../plan/stage-kind.ts';
import type { ClassYield, MiningOptions, SentenceScorer, VerbClassLike } from '../video/mining.ts';
import { publishChart } from './charts.ts';
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

export function findMovies(ctx: Pick<StageContext<CaptionsMineParams>, 'params' | 'ports'>): string {
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

/** The scorer with its per-class thresholds and the classes to mine (logs what it leaves out). */
/** The mining options of a node's params, thresholds and classes (the same for a shard and the whole). */
export function miningOptions(
  ctx: StageContext<CaptionsMineParams>,
  thresholds: Record<string, number>,
  classes: string[] | undefined,
): MiningOptions {
  const p = ctx.params;
  return {
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
  };
}

export async function prepareScorer(
  ctx: StageContext<CaptionsMineParams>,
  deps: MineDeps,
): Promise<{ scorer: SentenceScorer; thresholds: Record<string, number>; classes: string[] | undefined }> {
  const p = ctx.params;
  const { classifierScorer, keywordScorer } = await import('../video/mining.ts');
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
  return { scorer, thresholds, classes };
}

/** `movie Film (/data/Film.mp4): reason`, without repeating a path the reason already names. */
export function describeSkip(s: { id: string; video?: string; reason: string }): string {
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

/** What a finished mining (one node or the gather of its shards) writes and reports. */
export interface MiningSummary {
  movies: number;
  sentences: number;
  clips: number;
  yield: ClassYield[];
  /** Corpus-level skips (listing and file checks) then per-movie mining skips, each once. */
  skipped: { id: string; reason: string }[];
  /** The same, by file, for the manifest. */
  skippedFiles: { id: string; video?: string; reason: string }[];
}

/** yield.json, the yield chart (spec, SVG, PNG), the metrics and the stage's outputs (clips.jsonl is written by the caller). */
export async function finishMining(
  ctx: StageContext<CaptionsMineParams>,
  m: MiningSummary,
): Promise<{ outputs: Record<string, JsonValue>; skipped: { item: string; reason: string }[] }> {
  const p = ctx.params;
  const yieldDoc = {
    method: p.method,
    window_s: p.window_s,
    movies: m.movies,
    sentences: m.sentences,
    clips: m.clips,
    classes: m.yield,
    skipped_movies: m.skipped,
  };
  await writeFile(path.join(ctx.outDir, 'yield.json'), `${JSON.stringify(yieldDoc, null, 2)}\n`);
  // The paper's Fig. 3: clips mined per class, largest first.
  const chart = await publishChart(
    ctx,
    barChart({
      name: 'yield',
      title: `clips mined per class (${p.method}, ${m.movies} movies)`,
      value: { title: 'clips' },
      category: 'verb',
      horizontal: true,
      sort: 'descending',
      bars: m.yield.map((y) => ({ label: y.verb, value: y.clips })),
    }),
  );
  for (const y of m.yield) ctx.metric(`mining.yield.${y.verb}`, y.clips);
  ctx.metric('mining.clips', m.clips);
  ctx.metric('mining.sentences', m.sentences);
  ctx.metric('mining.skipped_movies', m.skippedFiles.length);
  ctx.artifact('yield.json');
  return {
    outputs: {
      clips: 'clips.jsonl',
      yield: 'yield.json',
      chart,
      method: p.method,
      count: m.clips,
      movies: m.movies,
      sentences: m.sentences,
      skipped_movies: m.skipped.length,
    },
    skipped: m.skippedFiles.map((s) => ({ item: s.video ?? s.id, reason: s.reason })),
  };
}
