// Stage `pairs.build` (§3.2): each stage direction that contains verb classes labels the nearest
// speech segment with every such verb; pairs are split into train/val by movie.
import { closeSync, createReadStream, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind, StageSharding } from '../plan/stage-kind.ts';
import type { ScreenplayRecord } from '../screenplay/types.ts';
import { listScreenplayFiles, movieIdFromFile } from '../screenplay/files.ts';
import type { Lexicon } from '../text/lexicon.ts';
import { LEXICON_PARAM_DESCRIPTION, resolveLexicon } from '../text/lexicon-path.ts';
import {
  buildPairs,
  splitMovies,
  type PairDirection,
  type PairTie,
  type Split,
  type SplitRule,
} from '../text/pairs.ts';
import { readScreenplayRecords } from '../text/screenplay-records.ts';
import { splitSentences } from '../sentences.ts';
import type { MinedVerbs } from '../text/verb-classes.ts';
import { findVerbs } from '../text/verbs.ts';
import { outputPath, requirePort } from './ports.ts';
import { recordsOfItems, screenplayRecordItems, screenplaysFileOf } from './screenplay-items.ts';
import { textLines } from './shard-io.ts';

export interface PairsBuildParams {
  direction: PairDirection;
  max_distance: number;
  tie: PairTie;
  cross_scenes: boolean;
  val_fraction: number;
  seed?: number;
  val_movies?: string[];
  val_dir?: string;
  lexicon?: string;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    direction: {
      type: 'string',
      enum: ['nearest', 'before', 'after'],
      default: 'nearest',
      description:
        'Which speech segment a stage direction labels: the nearest one (paper), the nearest one before it, or the nearest one after it.',
    },
    max_distance: {
      type: 'integer',
      minimum: 1,
      default: 3,
      description: 'Largest distance in elements between a stage direction and the speech it labels (1 = adjacent).',
    },
    tie: {
      type: 'string',
      enum: ['before', 'after', 'both'],
      default: 'after',
      description:
        'With direction nearest, which speech to label when the one before and the one after are equally far.',
    },
    cross_scenes: { type: 'boolean', default: false, description: 'Allow a pair to span a scene heading.' },
    val_fraction: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.2056,
      description:
        'Fraction of movies held out for validation, drawn with `seed` (paper: 220 of 1,070 ≈ 0.2056). Ignored with val_movies or val_dir.',
    },
    seed: { type: 'integer', description: 'Seed of the validation draw (default: the node seed).' },
    val_movies: {
      type: 'array',
      items: { type: 'string' },
      description: 'Explicit validation movies (movie ids, i.e. file names without extension, lower case).',
    },
    val_dir: {
      type: 'string',
      'x-exp-path': 'dir',
      description: 'A folder of screenplays whose movies form the validation split.',
    },
    lexicon: {
      type: 'string',
      'x-exp-path': 'dir',
      description: `${LEXICON_PARAM_DESCRIPTION} Only read when the verbs.mine input has no action-verbs file.`,
    },
  },
};

export const PAIRS_FILE = 'pairs.jsonl';
export const CLASSES_FILE = 'classes.json';

function readVerbs(ctx: StageContext<PairsBuildParams>): { verbs: MinedVerbs; actionVerbsFile: string | null } {
  const input = requirePort(
    ctx,
    'verbs',
    'pairs.build: needs a verbs.mine node upstream (verbs.json)',
    'add the verbs stage to `needs:`',
  );
  const file = outputPath(input, 'verbs_file', 'verbs.json');
  const actionVerbs =
    typeof input.outputs.action_verbs_file === 'string' ? outputPath(input, 'action_verbs_file') : null;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as MinedVerbs;
    if (!Array.isArray(doc.classes)) throw new Error('no "classes" list');
    return { verbs: doc, actionVerbsFile: actionVerbs && existsSync(actionVerbs) ? actionVerbs : null };
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `pairs.build: cannot read verb classes ${file}: ${(e as Error).message}`, {
      cause: e,
      detail: { file },
    });
  }
}

/** The verbs of each movie's stage directions (verbs.mine's action-verbs file); only `movies` when given. */
async function readActionVerbs(
  file: string,
  movies?: ReadonlySet<string>,
): Promise<Map<string, Map<number, string[]>>> {
  const out = new Map<string, Map<number, string[]>>();
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    if (movies) {
      // the movie id heads the line: skip other shards' movies without parsing their verbs
      const head = /^\{"movie":("(?:[^"\\]|\\.)*")/.exec(line);
      if (head && !movies.has(JSON.parse(head[1]!) as string)) continue;
    }
    const rec = JSON.parse(line) as { movie: string; actions: [number, string[]][] };
    if (movies && !movies.has(rec.movie)) continue;
    out.set(rec.movie, new Map(rec.actions));
  }
  return out;
}

function splitRule(ctx: StageContext<PairsBuildParams>): SplitRule {
  const p = ctx.params;
  if (p.val_movies?.length) return { valMovies: p.val_movies.map((m) => m.toLowerCase()) };
  if (p.val_dir) {
    try {
      return { valMovies: listScreenplayFiles(p.val_dir).map(movieIdFromFile) };
    } catch (e) {
      throw new ExpError(
        'EXP_INPUT_MISSING',
        `pairs.build: cannot read val_dir ${p.val_dir}: ${(e as Error).message}`,
        { hint: 'val_dir must be a folder of screenplay files', detail: { key: 'val_dir' } },
      );
    }
  }
  return { valFraction: p.val_fraction, seed: p.seed ?? ctx.seed };
}

type PairLine = { movie: string; speech: string; labels: string[]; distance: number };

/** Builds the pairs of each record (labels from verbs.mine's per-direction verbs, or tagged here). */
async function pairRecords(
  ctx: StageContext<PairsBuildParams>,
  records: AsyncIterable<ScreenplayRecord>,
  verbs: MinedVerbs,
  cached: Map<string, Map<number, string[]>> | null,
  total: number | undefined,
  onMovie: (movie: string, pairs: PairLine[]) => void,
): Promise<void> {
  const classSet = new Set(verbs.classes.map((c) => c.verb));
  let lex: Lexicon | null = null;
  let current: Map<number, string[]> | undefined;
  const labelsOf = (text: string, index: number): string[] => {
    if (current) return (current.get(index) ?? []).filter((v) => classSet.has(v));
    lex ??= resolveLexicon(ctx.params.lexicon, 'pairs.build');
    const out = new Set<string>();
    for (const s of splitSentences(text))
      for (const h of findVerbs(s, lex)) if (classSet.has(h.lemma)) out.add(h.lemma);
    return [...out];
  };
  const options = {
    direction: ctx.params.direction,
    maxDistance: ctx.params.max_distance,
    tie: ctx.params.tie,
    crossScenes: ctx.params.cross_scenes,
  };
  let done = 0;
  for await (const rec of records) {
    if (ctx.signal.aborted) throw new Error('interrupted');
    current = cached?.get(rec.movie);
    const pairs = buildPairs(rec.movie, rec.elements, labelsOf, options);
    onMovie(
      rec.movie,
      pairs.map((p) => ({ movie: p.movie, speech: p.speech, labels: p.labels, distance: p.distance })),
    );
    ctx.progress(++done, total, rec.movie);
  }
}

function parsedInput(ctx: StageContext<PairsBuildParams>) {
  return requirePort(
    ctx,
    'parsed',
    'pairs.build: needs a screenplay.parse node upstream',
    'add the screenplay.parse stage to `needs:`',
  );
}

async function run(ctx: StageContext<PairsBuildParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const input = parsedInput(ctx);
  const file = outputPath(input, 'screenplays_file', 'screenplays.jsonl');
  const { verbs, actionVerbsFile } = readVerbs(ctx);
  // Verbs per stage direction: as verbs.mine found them when it wrote them, else tagged here.
  const cached = actionVerbsFile ? await readActionVerbs(actionVerbsFile) : null;
  // Movies first (the split needs them all), pairs written as they come.
  const tmp: { movie: string; pairs: PairLine[] }[] = [];
  const total = typeof input.outputs.movies === 'number' ? input.outputs.movies : undefined;
  await pairRecords(ctx, readScreenplayRecords(file, 'pairs.build'), verbs, cached, total, (movie, pairs) =>
    tmp.push({ movie, pairs }),
  );
  return splitAndWrite(
    ctx,
    verbs,
    tmp.map((t) => t.movie),
    (write) => {
      for (const t of tmp) for (const p of t.pairs) write(p, JSON.stringify(p));
    },
  );
}

/**
 * The train/val split over every movie (a shuffle of the sorted ids: global, hence here and in the
 * gather, not in shards), then each pair written with its split and counted per class.
 * `eachPair` calls `write` with every pair in order, and its JSON without the split.
 */
async function splitAndWrite(
  ctx: StageContext<PairsBuildParams>,
  verbs: MinedVerbs,
  movies: string[],
  eachPair: (write: (p: PairLine, json: string) => void) => void | Promise<void>,
): Promise<{ outputs: Record<string, JsonValue> }> {
  const rule = splitRule(ctx);
  const splits = splitMovies(movies, rule);
  if ('valMovies' in rule) {
    const unknown = rule.valMovies.filter((m) => !splits.has(m));
    if (unknown.length)
      ctx.log(
        `⚠ validation movies not in the corpus: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ' …' : ''}`,
      );
  }
  const perClass = new Map<string, { train: number; val: number }>();
  const counts = { train: 0, val: 0 };
  const out = openSync(path.join(ctx.outDir, PAIRS_FILE), 'w');
  try {
    await eachPair((p, json) => {
      const split: Split = splits.get(p.movie) ?? 'train';
      // = JSON.stringify({ ...p, split }): the same bytes, without parsing again
      writeSync(out, `${json.slice(0, -1)},"split":${JSON.stringify(split)}}\n`);
      counts[split]++;
      for (const l of p.labels) {
        let c = perClass.get(l);
        if (!c) perClass.set(l, (c = { train: 0, val: 0 }));
        c[split]++;
      }
    });
  } finally {
    closeSync(out);
  }
  if (counts.train + counts.val === 0) {
    ctx.log('⚠ no pairs: no stage direction near a speech segment holds one of the verb classes');
  }
  const classes = verbs.classes
    .filter((c) => perClass.has(c.verb))
    .map((c) => ({ verb: c.verb, count: perClass.get(c.verb)!.train + perClass.get(c.verb)!.val, forms: c.forms }));
  writeFileSync(
    path.join(ctx.outDir, CLASSES_FILE),
    `${JSON.stringify(
      { classes, dropped_top: verbs.dropped_top, min_count: verbs.min_count, drop_top: verbs.drop_top },
      null,
      1,
    )}\n`,
  );
  ctx.metric('pairs.train', counts.train);
  ctx.metric('pairs.val', counts.val);
  ctx.metric('pairs.classes', classes.length);
  const valMovies = [...splits.values()].filter((s) => s === 'val').length;
  ctx.log(
    `${counts.train} train / ${counts.val} val pairs from ${splits.size - valMovies} / ${valMovies} movies, ${classes.length} classes`,
  );
  ctx.artifact(PAIRS_FILE);
  ctx.artifact(CLASSES_FILE);
  return {
    outputs: {
      pairs_file: PAIRS_FILE,
      classes_file: CLASSES_FILE,
      counts: { ...counts },
      movies: { train: splits.size - valMovies, val: valMovies },
      per_class: Object.fromEntries(
        [...perClass].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, { ...v }]),
      ),
    },
  };
}

// Sharded: each shard pairs its movies (without a split) and lists them; the gather draws the
// split over all movies and streams the shards' pairs into one file with the split added.
const SHARD_PAIRS = 'pairs-unsplit.jsonl';
const SHARD_MOVIES = 'movies.txt';

async function runShard(ctx: StageContext<PairsBuildParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const items = ctx.shard?.items ?? [];
  const file = screenplaysFileOf(parsedInput(ctx));
  const { verbs, actionVerbsFile } = readVerbs(ctx);
  const cached = actionVerbsFile ? await readActionVerbs(actionVerbsFile, new Set(items.map((it) => it.id))) : null;
  const out = openSync(path.join(ctx.outDir, SHARD_PAIRS), 'w');
  const list = openSync(path.join(ctx.outDir, SHARD_MOVIES), 'w');
  let pairs = 0;
  try {
    await pairRecords(ctx, recordsOfItems(file, items, 'pairs.build'), verbs, cached, items.length, (movie, ps) => {
      // movie ids are one line each: they hold no newline (file names, lower case)
      writeSync(list, `${JSON.stringify(movie)}\n`);
      for (const p of ps) writeSync(out, `${JSON.stringify(p)}\n`);
      pairs += ps.length;
    });
  } finally {
    closeSync(out);
    closeSync(list);
  }
  return { outputs: { movies: items.length, pairs } };
}

async function gather(ctx: StageContext<PairsBuildParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const { verbs } = readVerbs(ctx);
  const shards = ctx.shards ?? [];
  const movies: string[] = [];
  for (const shard of shards)
    for await (const line of textLines(path.join(shard.dir, SHARD_MOVIES)))
      if (line) movies.push(JSON.parse(line) as string);
  return splitAndWrite(ctx, verbs, movies, async (write) => {
    let done = 0;
    for (const shard of shards) {
      if (ctx.signal.aborted) throw new Error('interrupted');
      for await (const line of textLines(path.join(shard.dir, SHARD_PAIRS)))
        if (line) write(JSON.parse(line) as PairLine, line);
      ctx.progress(++done, shards.length, shard.stage);
    }
  });
}

const sharding: StageSharding<PairsBuildParams> = {
  port: 'parsed',
  autoShardSize: 50,
  runIn: 'pool',
  listItems: (source) => screenplayRecordItems(source, 'pairs.build'),
  run: runShard,
  gather,
};

export const kind: StageKind<PairsBuildParams> = {
  name: 'pairs.build',
  version: '2',
  description:
    'Pair speech segments with the verb classes of their nearest stage directions; train/val split by movie (§3.2).',
  paramsSchema,
  inputs: {
    parsed: { accepts: ['parsed-screenplays'], description: 'parsed screenplays (screenplay.parse)' },
    verbs: { accepts: ['verb-classes'], description: 'the verb classes (verbs.mine)' },
  },
  produces: ['pairs', 'verb-classes'],
  resources: { cpus: 1, memoryMb: 1024 },
  module: import.meta.url,
  shard: sharding,
  run,
};
