// Stage `verbs.mine` (§3.1): tag the verbs of every stage-direction sentence, lemmatise them
// with the XTAG morphology, count, drop rare verbs (< min_count) and the drop_top most frequent,
// and write the verb classes with their conjugations.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import { LEXICON_PARAM_DESCRIPTION, resolveLexicon } from '../text/lexicon-path.ts';
import { readScreenplayRecords } from '../text/screenplay-records.ts';
import { mineVerbs, scaleMinCount, VerbCounter } from '../text/verb-classes.ts';
import { outputPath, requirePort } from './ports.ts';

export interface VerbsMineParams {
  min_count: number;
  drop_top: number;
  reference_movies?: number;
  keep?: string[];
  only?: string[];
  lexicon?: string;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    min_count: { type: 'integer', minimum: 1, default: 50, description: 'Drop verbs seen fewer times than this (paper: 50 for 1,070 scripts; see reference_movies).' },
    drop_top: { type: 'integer', minimum: 0, default: 100, description: 'Drop the most frequent verbs, which are generic (paper: 100).' },
    reference_movies: {
      type: 'integer',
      minimum: 1,
      description: 'Scale min_count to the corpus: min_count × movies / reference_movies, rounded, at least 1 (paper corpus: 1070). No scaling when absent.',
    },
    keep: { type: 'array', items: { type: 'string' }, description: 'Verbs never dropped as too frequent (they still need min_count).' },
    only: { type: 'array', items: { type: 'string' }, description: "Keep only these verbs (e.g. the paper's 18 classes); drop_top does not apply to them." },
    lexicon: { type: 'string', 'x-exp-path': 'dir', description: LEXICON_PARAM_DESCRIPTION },
  },
};

export const VERBS_FILE = 'verbs.json';
/** One line per movie: `{movie, actions: [[element index, verb lemmas]]}` (every verb, not only the classes). */
export const ACTION_VERBS_FILE = 'action-verbs.jsonl';

async function run(ctx: StageContext<VerbsMineParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const input = requirePort(ctx, 'parsed', 'verbs.mine: needs a screenplay.parse node upstream', 'add the screenplay.parse stage to `needs:`');
  const file = outputPath(input, 'screenplays_file', 'screenplays.jsonl');
  const lex = resolveLexicon(ctx.params.lexicon, 'verbs.mine');
  const counter = new VerbCounter(lex);
  const total = typeof input.outputs.movies === 'number' ? input.outputs.movies : undefined;
  let movies = 0;
  // The verbs of every stage direction are kept for pairs.build, which then needs no tagging.
  const actionVerbs = openSync(path.join(ctx.outDir, ACTION_VERBS_FILE), 'w');
  try {
    for await (const rec of readScreenplayRecords(file, 'verbs.mine')) {
      if (ctx.signal.aborted) throw new Error('interrupted');
      const actions: [number, string[]][] = [];
      rec.elements.forEach((e, i) => {
        if (e.type !== 'action') return;
        const lemmas = counter.addText(e.text);
        if (lemmas.length) actions.push([i, lemmas]);
      });
      writeSync(actionVerbs, JSON.stringify({ movie: rec.movie, actions }) + '\n');
      ctx.progress(++movies, total, rec.movie);
    }
  } finally {
    closeSync(actionVerbs);
  }
  const minCount = ctx.params.reference_movies ? scaleMinCount(ctx.params.min_count, movies, ctx.params.reference_movies) : ctx.params.min_count;
  const mined = mineVerbs(counter, lex, { minCount, dropTop: ctx.params.drop_top, keep: ctx.params.keep, only: ctx.params.only });
  writeFileSync(path.join(ctx.outDir, VERBS_FILE), JSON.stringify(mined, null, 1) + '\n');
  if (ctx.params.only) {
    const missing = ctx.params.only.filter((v) => !mined.classes.some((c) => c.verb === v.toLowerCase()));
    if (missing.length) ctx.log(`⚠ verbs of \`only\` below min_count ${minCount} (or never seen): ${missing.map((v) => `${v} (${counter.counts.get(v.toLowerCase()) ?? 0})`).join(', ')}`);
  }
  ctx.metric('verbs.classes', mined.classes.length);
  ctx.metric('verbs.sentences', counter.sentences);
  ctx.metric('verbs.distinct', counter.counts.size);
  ctx.log(`${counter.sentences} stage-direction sentences, ${counter.counts.size} distinct verbs, ${mined.classes.length} classes (min_count ${minCount}, drop_top ${ctx.params.drop_top})`);
  ctx.artifact(VERBS_FILE);
  return { outputs: { verbs_file: VERBS_FILE, action_verbs_file: ACTION_VERBS_FILE, classes: mined.classes.length, min_count: minCount, drop_top: ctx.params.drop_top, sentences: counter.sentences } };
}

export const kind: StageKind<VerbsMineParams> = {
  name: 'verbs.mine',
  version: '2',
  description: 'Mine verb classes from stage directions: tag, lemmatise (XTAG), count, drop rare and most frequent verbs (§3.1).',
  paramsSchema,
  inputs: { parsed: { accepts: ['parsed-screenplays'], description: 'parsed screenplays (screenplay.parse)' } },
  produces: ['verb-classes'],
  resources: { cpus: 1, memoryMb: 1024 },
  run,
};
