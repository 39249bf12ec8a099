// Frozen vs fine-tuned BERT vs the n-gram encoder on the real screenplays (issue 17): the same
// pairs (screenplay.parse → verbs.mine → pairs.build, split by movie) restricted to the paper's
// 18 action classes (§4.1), one s2a.train + s2a.evaluate per encoder. Prints one table (per-verb
// AP, mean AP, training and evaluation time) and, last, one JSON line.
//   npx tsx eval/s2a-bert.ts [--bert DIR] [--epochs N] [--ft-lr X] [--max-train N] [--work DIR]
// --bert defaults to the project's tiny random BERT (test/fixtures/tiny-bert): its APs say that
// the plumbing works, not what BERT can do; give a real checkpoint folder for that.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runKind } from '../test/helpers/run-kind.ts';
import { kind as parseKind } from '../src/stages/screenplay-parse.ts';
import { kind as verbsKind } from '../src/stages/verbs-mine.ts';
import { kind as pairsKind } from '../src/stages/pairs-build.ts';
import { kind as trainKind } from '../src/stages/s2a-train.ts';
import { kind as evaluateKind } from '../src/stages/s2a-evaluate.ts';
import { dataPath, repoRoot } from './data.ts';
import { ACTION_CLASSES } from '../src/demo/verbs.ts';

const { values: a } = parseArgs({
  options: {
    bert: { type: 'string', default: path.join(repoRoot, 'test/fixtures/tiny-bert') },
    epochs: { type: 'string', default: '3' },
    'ft-lr': { type: 'string', default: '5e-4' },
    'max-train': { type: 'string', default: '0' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'exp-s2a-bert-eval') },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(a.seed);
const epochs = Number(a.epochs);
// §4.1, Fig. 3: the 18 action classes the paper mines
const ACTIONS: readonly string[] = ACTION_CLASSES;

async function allPairs(): Promise<string> {
  const dir = path.join(a.work, 'pairs-all-verbs');
  if (existsSync(path.join(dir, 'done'))) return dir;
  const p = await runKind(parseKind, { corpus: dataPath('screenplays') }, [], path.join(a.work, 'parse'), {
    seed,
    quiet: true,
  });
  console.error(`screenplay.parse ${p.seconds.toFixed(1)} s`);
  // drop_top 0: the 18 actions include frequent verbs (open, run, enter) that the default drops
  const v = await runKind(verbsKind, { reference_movies: 1070, drop_top: 0 }, [p.input], path.join(a.work, 'verbs'), {
    seed,
    quiet: true,
  });
  const pr = await runKind(pairsKind, {}, [p.input, v.input], dir, { seed, quiet: true });
  console.error(`verbs.mine + pairs.build ${(v.seconds + pr.seconds).toFixed(1)} s`);
  await writeFile(path.join(dir, 'done'), '');
  return dir;
}

interface Pair {
  speech: string;
  labels: string[];
  split: string;
}

/** The pairs with one of the 18 actions, labels cut to them; optionally the first N train pairs. */
async function actionPairs(src: string): Promise<{ dir: string; train: number; val: number; classes: string[] }> {
  const dir = path.join(a.work, `pairs-18-${a['max-train']}`);
  await mkdir(dir, { recursive: true });
  const { classes } = JSON.parse(await readFile(path.join(src, 'classes.json'), 'utf8')) as {
    classes: { verb: string }[];
  };
  const kept = classes.filter((c) => ACTIONS.includes(c.verb));
  const verbs = new Set(kept.map((c) => c.verb));
  const maxTrain = Number(a['max-train']);
  const out: Pair[] = [];
  let train = 0;
  let val = 0;
  for (const line of (await readFile(path.join(src, 'pairs.jsonl'), 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const p = JSON.parse(line) as Pair;
    const labels = p.labels.filter((l) => verbs.has(l));
    if (!labels.length) continue;
    if (p.split === 'train') {
      if (maxTrain && train >= maxTrain) continue;
      train++;
    } else val++;
    out.push({ ...p, labels });
  }
  await writeFile(path.join(dir, 'pairs.jsonl'), `${out.map((p) => JSON.stringify(p)).join('\n')}\n`);
  await writeFile(path.join(dir, 'classes.json'), JSON.stringify({ classes: kept }, null, 1));
  return { dir, train, val, classes: kept.map((c) => c.verb) };
}

const pairs = await actionPairs(await allPairs());
console.error(`${pairs.train} train / ${pairs.val} val pairs of ${pairs.classes.length} action classes`);
const pairsInput = { stage: 'pairs', kind: 'pairs.build', key: 'eval', dir: pairs.dir, outputs: {} };

const bert = { encoder: 'bert', bert_path: a.bert, pooling: 'cls', hidden: 0, epochs, max_tokens: 64, batch_size: 32 };
const runs: { name: string; params: Record<string, unknown> }[] = [
  { name: 'ngram', params: { encoder: 'ngram', epochs } },
  { name: 'bert frozen', params: { ...bert, finetune: 'frozen' } },
  {
    name: 'bert full',
    params: {
      ...bert,
      finetune: 'full',
      finetune_learning_rate: Number(a['ft-lr']),
      warmup_steps: 50,
      checkpoint_every: 0,
    },
  },
];

interface Ap {
  s2a_mean_ap: number;
  keyword_mean_ap: number;
  classes: { verb: string; val_count: number; s2a_ap: number | null; keyword_ap: number | null }[];
}
const results: { name: string; trainS: number; evalS: number; ap: Ap; loss?: number }[] = [];
for (const r of runs) {
  const slug = r.name.replace(/\s+/g, '-');
  const t = await runKind(trainKind, r.params, [pairsInput], path.join(a.work, `train-${slug}`), { seed, quiet: true });
  const e = await runKind(evaluateKind, {}, [t.input, pairsInput], path.join(a.work, `eval-${slug}`), {
    seed,
    quiet: true,
  });
  const ap = JSON.parse(await readFile(path.join(e.input.dir, 'ap.json'), 'utf8')) as Ap;
  results.push({ name: r.name, trainS: t.seconds, evalS: e.seconds, ap, loss: t.metrics['s2a.train.loss'] });
  console.error(
    `${r.name}: train ${t.seconds.toFixed(1)} s, evaluate ${e.seconds.toFixed(1)} s, mean AP ${ap.s2a_mean_ap.toFixed(4)}`,
  );
}

const f = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : v.toFixed(3));
const verbs = results[0]!.ap.classes.filter((c) => c.val_count > 0).sort((x, y) => y.val_count - x.val_count);
console.log(`| verb | val sentences | ${results.map((r) => `${r.name} AP`).join(' | ')} | keyword AP |`);
console.log(`|---|---:|${results.map(() => '---:|').join('')}---:|`);
for (const c of verbs) {
  const aps = results.map((r) => f(r.ap.classes.find((x) => x.verb === c.verb)?.s2a_ap));
  console.log(`| ${c.verb} | ${c.val_count} | ${aps.join(' | ')} | ${f(c.keyword_ap)} |`);
}
console.log(
  `| **mean AP** | ${pairs.val} | ${results.map((r) => `**${f(r.ap.s2a_mean_ap)}**`).join(' | ')} | ${f(results[0]!.ap.keyword_mean_ap)} |`,
);
console.log(`| final training loss | | ${results.map((r) => f(r.loss)).join(' | ')} | |`);
console.log(`| train time (s) | ${pairs.train} pairs | ${results.map((r) => r.trainS.toFixed(1)).join(' | ')} | |`);
console.log(`| evaluate time (s) | | ${results.map((r) => r.evalS.toFixed(1)).join(' | ')} | |`);
console.log(
  JSON.stringify({
    bert: a.bert,
    epochs,
    finetune_learning_rate: Number(a['ft-lr']),
    train_pairs: pairs.train,
    val_sentences: pairs.val,
    classes: pairs.classes.length,
    results: results.map((r) => ({
      name: r.name,
      mean_ap: r.ap.s2a_mean_ap,
      train_s: r.trainS,
      eval_s: r.evalS,
      loss: r.loss,
    })),
    keyword_mean_ap: results[0]!.ap.keyword_mean_ap,
  }),
);
