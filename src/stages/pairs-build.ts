// Stage `pairs.build` (§3.2): each stage direction that contains verb classes labels the nearest
// speech segment with every such verb; pairs are split into train/val by movie.
import { closeSync, createReadStream, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
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

async function readActionVerbs(file: string): Promise<Map<string, Map<number, string[]>>> {
  const out = new Map<string, Map<number, string[]>>();
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { movie: string; actions: [number, string[]][] };
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

async function run(ctx: StageContext<PairsBuildParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const input = requirePort(
    ctx,
    'parsed',
    'pairs.build: needs a screenplay.parse node upstream',
    'add the screenplay.parse stage to `needs:`',
  );
  const file = outputPath(input, 'screenplays_file', 'screenplays.jsonl');
  const { verbs, actionVerbsFile } = readVerbs(ctx);
  const classSet = new Set(verbs.classes.map((c) => c.verb));
  // Verbs per stage direction: as verbs.mine found them when it wrote them, else tagged here.
  const cached = actionVerbsFile ? await readActionVerbs(actionVerbsFile) : null;
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

  // Movies first (the split needs them all), pairs written as they come.
  const rule = splitRule(ctx);
  const tmp: { movie: string; pairs: { movie: string; speech: string; labels: string[]; distance: number }[] }[] = [];
  const perClass = new Map<string, { train: number; val: number }>();
  const counts = { train: 0, val: 0 };
  const total = typeof input.outputs.movies === 'number' ? input.outputs.movies : undefined;
  for await (const rec of readScreenplayRecords(file, 'pairs.build')) {
    if (ctx.signal.aborted) throw new Error('interrupted');
    current = cached?.get(rec.movie);
    const pairs = buildPairs(rec.movie, rec.elements, labelsOf, options);
    tmp.push({
      movie: rec.movie,
      pairs: pairs.map((p) => ({ movie: p.movie, speech: p.speech, labels: p.labels, distance: p.distance })),
    });
    ctx.progress(tmp.length, total, rec.movie);
  }
  const splits = splitMovies(
    tmp.map((t) => t.movie),
    rule,
  );
  if ('valMovies' in rule) {
    const unknown = rule.valMovies.filter((m) => !splits.has(m));
    if (unknown.length)
      ctx.log(
        `⚠ validation movies not in the corpus: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ' …' : ''}`,
      );
  }
  const out = openSync(path.join(ctx.outDir, PAIRS_FILE), 'w');
  try {
    for (const t of tmp) {
      const split: Split = splits.get(t.movie) ?? 'train';
      if (t.pairs.length) writeSync(out, `${t.pairs.map((p) => JSON.stringify({ ...p, split })).join('\n')}\n`);
      for (const p of t.pairs) {
        counts[split]++;
        for (const l of p.labels) {
          let c = perClass.get(l);
          if (!c) perClass.set(l, (c = { train: 0, val: 0 }));
          c[split]++;
        }
      }
    }
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
  run,
};
