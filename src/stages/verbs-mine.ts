// Stage `verbs.mine` (§3.1): tag the verbs of every stage-direction sentence, lemmatise them
// with the XTAG morphology, count, drop rare verbs (< min_count) and the drop_top most frequent,
// and write the verb classes with their conjugations.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { JsonSchema, JsonValue, StageContext, StageKind, StageSharding } from '../plan/stage-kind.ts';
import type { Lexicon } from '../text/lexicon.ts';
import { LEXICON_PARAM_DESCRIPTION, resolveLexicon } from '../text/lexicon-path.ts';
import { readScreenplayRecords } from '../text/screenplay-records.ts';
import { mineVerbs, VerbCounter } from '../text/verb-classes.ts';
import type { ScreenplayRecord } from '../screenplay/types.ts';
import { recordsOfItems, screenplayRecordItems, screenplaysFileOf } from './screenplay-items.ts';
import { appendFileTo } from './shard-io.ts';
import {
  describeVerbThresholds,
  EXCLUSIVE_VERB_KEYS,
  resolveVerbThresholds,
  type VerbThresholdParams,
} from '../text/verb-thresholds.ts';
import { outputPath, requirePort } from './ports.ts';

export interface VerbsMineParams extends VerbThresholdParams {
  keep?: string[];
  only?: string[];
  lexicon?: string;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    min_count: {
      type: 'integer',
      minimum: 1,
      description:
        'Drop verbs seen fewer times than this (default 50, the paper on 1,070 scripts). Or give min_count_per_1000_scripts.',
    },
    min_count_per_1000_scripts: {
      type: 'number',
      exclusiveMinimum: 0,
      description:
        'min_count per 1,000 scripts, scaled to the corpus: round(N × scripts / 1000), at least 1 (paper: 50 on 1,070 scripts ≈ 46.7). Not with min_count or reference_movies.',
    },
    drop_top: {
      type: 'integer',
      minimum: 0,
      description:
        'Drop the most frequent verbs, which are generic (default 100, the paper on 1,070 scripts). Or give drop_top_per_1000_scripts.',
    },
    drop_top_per_1000_scripts: {
      type: 'number',
      minimum: 0,
      description:
        'drop_top per 1,000 scripts, scaled to the corpus: round(N × scripts / 1000) (paper: 100 on 1,070 scripts ≈ 93.5). Not with drop_top.',
    },
    reference_movies: {
      type: 'integer',
      minimum: 1,
      description:
        'Older form of scaling: min_count × scripts / reference_movies, rounded, at least 1 (paper corpus: 1070). Prefer min_count_per_1000_scripts.',
    },
    keep: {
      type: 'array',
      items: { type: 'string' },
      description: 'Verbs never dropped as too frequent (they still need min_count).',
    },
    only: {
      type: 'array',
      items: { type: 'string' },
      description: "Keep only these verbs (e.g. the paper's 18 classes); drop_top does not apply to them.",
    },
    lexicon: { type: 'string', 'x-exp-path': 'dir', description: LEXICON_PARAM_DESCRIPTION },
  },
  // an absolute threshold and its per-1,000-scripts form exclude each other
  allOf: EXCLUSIVE_VERB_KEYS.map(([a, b]) => ({ not: { required: [a, b] } })),
};

export const VERBS_FILE = 'verbs.json';
/** One line per movie: `{movie, actions: [[element index, verb lemmas]]}` (every verb, not only the classes). */
export const ACTION_VERBS_FILE = 'action-verbs.jsonl';

function parsedInput(ctx: StageContext<VerbsMineParams>) {
  return requirePort(
    ctx,
    'parsed',
    'verbs.mine: needs a screenplay.parse node upstream',
    'add the screenplay.parse stage to `needs:`',
  );
}

/** Counts the verbs of each record and writes its stage directions' verbs (for pairs.build). */
async function countRecords(
  ctx: StageContext<VerbsMineParams>,
  records: AsyncIterable<ScreenplayRecord>,
  counter: VerbCounter,
  total: number | undefined,
): Promise<number> {
  let movies = 0;
  // The verbs of every stage direction are kept for pairs.build, which then needs no tagging.
  const actionVerbs = openSync(path.join(ctx.outDir, ACTION_VERBS_FILE), 'w');
  try {
    for await (const rec of records) {
      if (ctx.signal.aborted) throw new Error('interrupted');
      const actions: [number, string[]][] = [];
      rec.elements.forEach((e, i) => {
        if (e.type !== 'action') return;
        const lemmas = counter.addText(e.text);
        if (lemmas.length) actions.push([i, lemmas]);
      });
      writeSync(actionVerbs, `${JSON.stringify({ movie: rec.movie, actions })}\n`);
      ctx.progress(++movies, total, rec.movie);
    }
  } finally {
    closeSync(actionVerbs);
  }
  return movies;
}

async function run(ctx: StageContext<VerbsMineParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const input = parsedInput(ctx);
  const file = outputPath(input, 'screenplays_file', 'screenplays.jsonl');
  const lex = resolveLexicon(ctx.params.lexicon, 'verbs.mine');
  const counter = new VerbCounter(lex);
  const total = typeof input.outputs.movies === 'number' ? input.outputs.movies : undefined;
  const movies = await countRecords(ctx, readScreenplayRecords(file, 'verbs.mine'), counter, total);
  return mineClasses(ctx, counter, lex, movies);
}

/** The reduce: thresholds from the number of scripts, classes from the counts (run and gather alike). */
function mineClasses(
  ctx: StageContext<VerbsMineParams>,
  counter: VerbCounter,
  lex: Lexicon,
  movies: number,
): { outputs: Record<string, JsonValue> } {
  const { minCount, dropTop, minCountRule, dropTopRule } = resolveVerbThresholds(ctx.params, movies);
  ctx.log(`thresholds for ${movies} scripts: min_count ${minCountRule}, drop_top ${dropTopRule}`);
  const mined = mineVerbs(counter, lex, { minCount, dropTop, keep: ctx.params.keep, only: ctx.params.only });
  writeFileSync(path.join(ctx.outDir, VERBS_FILE), `${JSON.stringify(mined, null, 1)}\n`);
  if (ctx.params.only) {
    const missing = ctx.params.only.filter((v) => !mined.classes.some((c) => c.verb === v.toLowerCase()));
    if (missing.length)
      ctx.log(
        `⚠ verbs of \`only\` below min_count ${minCount} (or never seen): ${missing.map((v) => `${v} (${counter.counts.get(v.toLowerCase()) ?? 0})`).join(', ')}`,
      );
  }
  ctx.metric('verbs.classes', mined.classes.length);
  ctx.metric('verbs.min_count', minCount);
  ctx.metric('verbs.drop_top', dropTop);
  ctx.metric('verbs.scripts', movies);
  ctx.metric('verbs.sentences', counter.sentences);
  ctx.metric('verbs.distinct', counter.counts.size);
  ctx.log(
    `${counter.sentences} stage-direction sentences, ${counter.counts.size} distinct verbs, ${mined.classes.length} classes (min_count ${minCount}, drop_top ${dropTop})`,
  );
  ctx.artifact(VERBS_FILE);
  return {
    outputs: {
      verbs_file: VERBS_FILE,
      action_verbs_file: ACTION_VERBS_FILE,
      classes: mined.classes.length,
      scripts: movies,
      min_count: minCount,
      drop_top: dropTop,
      min_count_rule: minCountRule,
      drop_top_rule: dropTopRule,
      sentences: counter.sentences,
    },
  };
}

// Sharded (§3.1 at scale): a map that counts the verbs of its scripts (counts per verb lemma and
// the forms seen: the size of the vocabulary, not of the corpus) and a reduce that adds the
// counts, resolves the thresholds for the whole corpus and mines the classes.
const SHARD_COUNTS = 'verb-counts.json';

async function runShard(ctx: StageContext<VerbsMineParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const items = ctx.shard?.items ?? [];
  const counter = new VerbCounter(resolveLexicon(ctx.params.lexicon, 'verbs.mine'));
  const file = screenplaysFileOf(parsedInput(ctx));
  const movies = await countRecords(ctx, recordsOfItems(file, items, 'verbs.mine'), counter, items.length);
  writeFileSync(path.join(ctx.outDir, SHARD_COUNTS), `${JSON.stringify({ movies, ...counter.toJSON() })}\n`);
  return { outputs: { movies } };
}

async function gather(ctx: StageContext<VerbsMineParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const lex = resolveLexicon(ctx.params.lexicon, 'verbs.mine');
  const counter = new VerbCounter(lex);
  let movies = 0;
  const out = await open(path.join(ctx.outDir, ACTION_VERBS_FILE), 'w');
  try {
    for (const shard of ctx.shards ?? []) {
      if (ctx.signal.aborted) throw new Error('interrupted');
      const part = JSON.parse(readFileSync(path.join(shard.dir, SHARD_COUNTS), 'utf8')) as {
        movies: number;
        counts: Record<string, number>;
        forms: Record<string, string[]>;
        sentences: number;
      };
      counter.merge(part.counts, part.forms, part.sentences);
      movies += part.movies;
      await appendFileTo(out, path.join(shard.dir, ACTION_VERBS_FILE));
      ctx.progress(movies, undefined, shard.stage);
    }
  } finally {
    await out.close();
  }
  return mineClasses(ctx, counter, lex, movies);
}

const sharding: StageSharding<VerbsMineParams> = {
  port: 'parsed',
  autoShardSize: 50,
  // Tagging is CPU-bound JavaScript: shards in worker threads use the cores.
  runIn: 'pool',
  listItems: (source) => screenplayRecordItems(source, 'verbs.mine'),
  run: runShard,
  gather,
};

export const kind: StageKind<VerbsMineParams> = {
  name: 'verbs.mine',
  version: '3',
  description:
    'Mine verb classes from stage directions: tag, lemmatise (XTAG), count, drop rare and most frequent verbs (§3.1).',
  paramsSchema,
  inputs: { parsed: { accepts: ['parsed-screenplays'], description: 'parsed screenplays (screenplay.parse)' } },
  produces: ['verb-classes'],
  resources: { cpus: 1, memoryMb: 1024 },
  module: import.meta.url,
  shard: sharding,
  planNote: (p, upstream) => {
    const scripts = upstream.find((u) => u.kind === 'screenplay.parse')?.outputs.movies;
    if (typeof scripts !== 'number') return `${describeVerbThresholds(p)} (resolved once the scripts are counted)`;
    const t = resolveVerbThresholds(p, scripts);
    return `min_count ${t.minCountRule}; drop_top ${t.dropTopRule}`;
  },
  run,
};
