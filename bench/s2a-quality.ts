// Speech2Action vs keyword spotting on the shared screenplays, split by movie (issue 5, Quality):
// screenplay.parse → verbs.mine → pairs.build → s2a.train → s2a.evaluate, run stage by stage.
//   npx tsx bench/s2a-quality.ts [--corpus DIR] [--work DIR] [--pairs DIR_WITH_PAIRS] [--encoder ngram|bert] [--bert PATH] [--epochs N]
// --pairs skips the first three stages and reads pairs.jsonl + classes.json from that folder.
// Prints the table (verb, validation count, S2A AP, keyword AP) and, last, one JSON line.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kind as evaluateKind } from '../src/stages/s2a-evaluate.ts';
import { kind as trainKind } from '../src/stages/s2a-train.ts';
import { runKind } from '../test/helpers/run-kind.ts';
import { readFile } from 'node:fs/promises';

const { values: a } = parseArgs({
  options: {
    corpus: { type: 'string', default: path.resolve(import.meta.dirname, '../../shared/data/screenplays') },
    work: { type: 'string', default: path.join(os.tmpdir(), 'exp-s2a-quality') },
    pairs: { type: 'string' },
    encoder: { type: 'string', default: 'ngram' },
    bert: { type: 'string' },
    epochs: { type: 'string' },
    'min-val': { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(a.seed);

async function pairsInput() {
  if (a.pairs) {
    if (!existsSync(path.join(a.pairs, 'pairs.jsonl'))) throw new Error(`${a.pairs}/pairs.jsonl not found`);
    return { stage: 'pairs', kind: 'pairs.build', key: 'given', dir: path.resolve(a.pairs), outputs: {} };
  }
  const parse = (await import('../src/stages/screenplay-parse.ts')).kind;
  const verbs = (await import('../src/stages/verbs-mine.ts')).kind;
  const pairs = (await import('../src/stages/pairs-build.ts')).kind;
  const pairsDir = path.join(a.work, 'pairs');
  if (existsSync(path.join(pairsDir, 'pairs.jsonl')) && existsSync(path.join(pairsDir, 'done'))) {
    console.error(`reusing ${pairsDir}`);
    return {
      stage: 'pairs',
      kind: 'pairs.build',
      key: 'cached',
      dir: pairsDir,
      outputs: JSON.parse(await readFile(path.join(pairsDir, 'done'), 'utf8')),
    };
  }
  const p = await runKind(parse, { corpus: a.corpus }, [], path.join(a.work, 'parse'), { seed, quiet: true });
  console.error(`screenplay.parse ${p.seconds.toFixed(1)} s`);
  // paper: min_count 50 on 1,070 scripts, scaled to this corpus
  const v = await runKind(verbs, { reference_movies: 1070 }, [p.input], path.join(a.work, 'verbs'), {
    seed,
    quiet: true,
  });
  console.error(`verbs.mine ${v.seconds.toFixed(1)} s: ${JSON.stringify(v.input.outputs)}`);
  const pr = await runKind(pairs, {}, [p.input, v.input], pairsDir, { seed, quiet: true });
  console.error(`pairs.build ${pr.seconds.toFixed(1)} s`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(pairsDir, 'done'), JSON.stringify(pr.input.outputs));
  return pr.input;
}

const pairs = await pairsInput();
const trainParams: Record<string, unknown> = { encoder: a.encoder };
if (a.bert) trainParams.bert_path = a.bert;
if (a.epochs) trainParams.epochs = Number(a.epochs);
const t = await runKind(trainKind, trainParams, [pairs], path.join(a.work, `train-${a.encoder}`), { seed });
const e = await runKind(evaluateKind, {}, [t.input, pairs], path.join(a.work, `eval-${a.encoder}`), {
  seed,
  quiet: true,
});
const ap = JSON.parse(await readFile(path.join(e.input.dir, 'ap.json'), 'utf8')) as {
  sentences: number;
  s2a_mean_ap: number;
  keyword_mean_ap: number;
  classes: { verb: string; val_count: number; s2a_ap: number | null; keyword_ap: number | null }[];
};
const minVal = Number(a['min-val']);
const rows = ap.classes.filter((c) => c.val_count > 0).sort((x, y) => y.val_count - x.val_count);
const f = (v: number | null) => (v === null ? '  n/a' : v.toFixed(3));
console.log(`| verb | val sentences | S2A AP | keyword AP |\n|---|---:|---:|---:|`);
for (const c of rows) console.log(`| ${c.verb} | ${c.val_count} | ${f(c.s2a_ap)} | ${f(c.keyword_ap)} |`);
console.log(`| mean (${rows.length} verbs) | ${ap.sentences} | ${f(ap.s2a_mean_ap)} | ${f(ap.keyword_mean_ap)} |`);
const big = rows.filter((c) => c.val_count >= minVal);
const wins = big.filter((c) => (c.s2a_ap ?? 0) > (c.keyword_ap ?? 0)).length;
console.log(`S2A beats keyword on ${wins} of ${big.length} verbs with ≥ ${minVal} validation sentences`);
console.log(
  JSON.stringify({
    encoder: a.encoder,
    train_pairs: t.input.outputs.train_pairs,
    val_sentences: ap.sentences,
    classes: ap.classes.length,
    train_seconds: Number(t.seconds.toFixed(1)),
    trainer: t.input.outputs.trainer,
    s2a_mean_ap: ap.s2a_mean_ap,
    keyword_mean_ap: ap.keyword_mean_ap,
    verbs_min_val: big.length,
    s2a_wins: wins,
    work: a.work,
  }),
);
