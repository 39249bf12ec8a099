// Speed of the Speech2Action classifiers (issue 5):
//  1. ngram inference, sentences/s, in 1 and 2 worker threads (target ≥ 200,000/s on 2 cores), for
//     several numbers of verb classes K (the head's cost grows with K; weights are random: speed
//     does not depend on their values);
//  2. training against fastText (issue 16): screenplay.parse → verbs.mine → pairs.build on the
//     shared screenplays (--scripts N: the first N; default all), then s2a.train (ngram defaults,
//     --epochs) and Debian's `fasttext supervised` (full softmax, word bigrams, dim 64, same
//     epochs, --ft-threads) on the same train split, exp on --exp-threads (s2a.train threads, each); seconds per epoch, held-out mean AP (the
//     s2a.evaluate metric, on the same val sentences) and the peak RSS of the text pipeline.
//     --pairs DIR (pairs.jsonl + classes.json) skips building the pairs; --no-train skips it all;
//  3. bert throughput on the tiny fixture model, and on a BERT-base-shaped random ONNX model
//     (--bert-base; built by scripts/make-tiny-bert.py) for the cost model of a real BERT-base.
//   npx tsx bench/s2a.ts [--scripts N] [--epochs 4] [--ft-threads 2[,1]] [--exp-threads 2[,1]] [--linear-epochs N] [--only-train] [--pairs DIR] [--no-train] [--bert-base] [--threads 2]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  BertEncoder,
  defaultNgramConfig,
  saveSentenceClassifier,
  type ClassifierManifest,
} from '../src/text/classifier/index.ts';
import { benchTraining } from './s2a-train-vs-fasttext.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values: a } = parseArgs({
  options: {
    pairs: { type: 'string' },
    'bert-base': { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    classes: { type: 'string', default: '18,100,500,2000' },
    hidden: { type: 'string', default: '0,64' },
    scripts: { type: 'string' },
    epochs: { type: 'string', default: '4' },
    'ft-threads': { type: 'string', default: '2' },
    'no-train': { type: 'boolean', default: false },
    'linear-epochs': { type: 'string', default: '0' },
    'exp-threads': { type: 'string', default: '2,1' },
    'only-train': { type: 'boolean', default: false },
  },
});
const tmp0 = path.join(os.tmpdir(), 'exp-bench-s2a');

// 2. first, so that the peak RSS below is the text pipeline's
let training: Record<string, unknown> | null = null;
if (!a['no-train']) {
  training = await benchTraining({
    pairs: a.pairs,
    scripts: a.scripts ? Number(a.scripts) : undefined,
    epochs: Number(a.epochs),
    ftThreads: a['ft-threads'].split(',').map(Number),
    work: tmp0,
    linearEpochs: Number(a['linear-epochs']),
    expThreads: a['exp-threads'].split(',').map(Number),
  });
}

if (a['only-train']) process.exit(0); // part 2 alone (it printed its table and JSON line)

const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-s2a-'));

/** Real speech: dialogue-like lines of the shared screenplays (or the pairs' speech). */
async function benchSentences(): Promise<string[]> {
  if (a.pairs && existsSync(path.join(a.pairs, 'pairs.jsonl'))) {
    const lines = (await readFile(path.join(a.pairs, 'pairs.jsonl'), 'utf8')).trim().split('\n');
    return lines.slice(0, 50000).map((l) => (JSON.parse(l) as { speech: string }).speech);
  }
  const dir = path.resolve(root, '../shared/data/screenplays');
  const out: string[] = [];
  if (existsSync(dir)) {
    for (const f of (await readdir(dir)).filter((f) => f.endsWith('.txt')).slice(0, 40)) {
      for (const line of (await readFile(path.join(dir, f), 'utf8')).split(/\r?\n/)) {
        const t = line.trim();
        const words = t.split(/\s+/).length;
        if (words >= 3 && words <= 30 && /[a-z]/.test(t)) out.push(t);
      }
    }
  }
  if (out.length < 1000)
    for (let i = 0; i < 20000; i++)
      out.push(`I told you ${i % 97} times, open the door and call me back before ${i % 13} o'clock!`);
  return out.slice(0, 50000);
}

function randomHeadModel(
  K: number,
  hidden: number,
): { manifest: ClassifierManifest; weights: ArrayBuffer; specs: { name: string; shape: number[]; dtype: string }[] } {
  const D = defaultNgramConfig.buckets;
  const shapes: [string, number[]][] =
    hidden > 0
      ? [
          ['hidden/kernel', [D, hidden]],
          ['hidden/bias', [hidden]],
          ['output/kernel', [hidden, K]],
          ['output/bias', [K]],
        ]
      : [
          ['output/kernel', [D, K]],
          ['output/bias', [K]],
        ];
  const total = shapes.reduce((s, [, sh]) => s + sh.reduce((x, y) => x * y, 1), 0);
  const w = new Float32Array(total);
  let seed = 1;
  for (let i = 0; i < total; i++) w[i] = ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1;
  return {
    manifest: {
      format: 'exp.s2a-classifier/1',
      classes: Array.from({ length: K }, (_, i) => `verb${i}`),
      encoder: { kind: 'ngram', ngram: defaultNgramConfig },
      head: { inputDim: D, hidden, topology: 'head.json', weights: 'head.weights.bin' },
    },
    weights: w.buffer,
    specs: shapes.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
  };
}

async function throughput(modelDir: string, sentences: string[], threads: number): Promise<number> {
  const per = Math.ceil(sentences.length / threads);
  // worker threads do not inherit the TypeScript loader: load the worker through tsx's API
  const boot = `import('tsx/esm/api').then((m) => m.tsImport(${JSON.stringify(new URL('./s2a-worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`;
  const workers = Array.from(
    { length: threads },
    (_, t) =>
      new Worker(boot, {
        eval: true,
        workerData: { modelDir, sentences: sentences.slice(t * per, (t + 1) * per), repeats: 2, batch: 4096 },
      }),
  );
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const t0 = performance.now();
  const results = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ sentences: number }>((r) => {
          w.once('message', r);
          w.postMessage('go');
        }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  return results.reduce((s, r) => s + r.sentences, 0) / seconds;
}

const sentences = await benchSentences();
const threads = Number(a.threads);
console.log(
  `ngram inference on ${sentences.length} real sentences (mean ${(sentences.reduce((s, x) => s + x.split(/\s+/).length, 0) / sentences.length).toFixed(1)} words), ${os.cpus().length} cpus visible`,
);
console.log(`| K classes | hidden | 1 thread (sent/s) | ${threads} threads (sent/s) |\n|---:|---:|---:|---:|`);
const ngram: { classes: number; hidden: number; one: number; many: number }[] = [];
for (const hidden of a.hidden.split(',').map(Number)) {
  for (const K of a.classes.split(',').map(Number)) {
    if (hidden === 0 && K > 500) continue; // a linear head on 65k buckets × 2000 classes is 0.5 GB
    const m = randomHeadModel(K, hidden);
    const dir = path.join(tmp, `ngram-${K}-${hidden}`);
    await saveSentenceClassifier(dir, m.manifest, { modelTopology: {}, weightSpecs: m.specs, weightData: m.weights });
    const one = await throughput(dir, sentences, 1);
    const many = threads > 1 ? await throughput(dir, sentences, threads) : one;
    ngram.push({ classes: K, hidden, one: Math.round(one), many: Math.round(many) });
    console.log(`| ${K} | ${hidden} | ${Math.round(one)} | ${Math.round(many)} |`);
  }
}

async function bertThroughput(dir: string, sents: string[]): Promise<number> {
  const enc = await BertEncoder.open({ path: dir, pooling: 'cls', maxTokens: 64, batchSize: 32 });
  await enc.embed(sents.slice(0, 32));
  const t0 = performance.now();
  await enc.embed(sents);
  const s = sents.length / ((performance.now() - t0) / 1000);
  await enc.dispose();
  return s;
}
const tinyDir = path.join(root, 'test/fixtures/tiny-bert');
const bertTiny = await bertThroughput(tinyDir, sentences.slice(0, 4096));
console.log(`\nbert (tiny fixture: 2 layers, hidden 32), 1 thread, batch 32: ${Math.round(bertTiny)} sentences/s`);

// Cost model of BERT-base (L=12, H=768, I=3072): multiply-adds per token and layer = 4H² (Q, K,
// V, output projections) + 2·H·I (feed-forward) + 2·T·H (attention scores and context).
const tokensPerSentence = (() => {
  const words = sentences.reduce((s, x) => s + x.split(/\s+/).length, 0) / sentences.length;
  return Math.round(words * 1.3 + 2); // ~1.3 WordPieces per word with punctuation, + [CLS] [SEP]
})();
const L = 12,
  H = 768,
  I = 3072,
  T = tokensPerSentence;
const macsPerSentence = L * T * (4 * H * H + 2 * H * I + 2 * T * H);
let bertBase: Record<string, unknown> = {
  tokens_per_sentence: T,
  gflops_per_sentence: Number(((2 * macsPerSentence) / 1e9).toFixed(2)),
};
if (a['bert-base']) {
  const dir = path.join(tmp, 'bert-base-shaped');
  execFileSync(
    '/usr/bin/python3',
    [
      path.join(root, 'scripts/make-tiny-bert.py'),
      '--vocab',
      path.resolve(root, '../shared/data/bert/bert-base-cased-vocab.txt'),
      '--out',
      dir,
      '--hidden',
      '768',
      '--layers',
      '12',
      '--heads',
      '12',
      '--intermediate',
      '3072',
      '--max-position',
      '512',
    ],
    { stdio: 'ignore' },
  );
  const sps = await bertThroughput(dir, sentences.slice(0, 256));
  bertBase = {
    ...bertBase,
    measured_sentences_per_s_1thread: Number(sps.toFixed(1)),
    achieved_gflops: Number(((sps * 2 * macsPerSentence) / 1e9).toFixed(1)),
  };
}
const perSec = (bertBase.measured_sentences_per_s_1thread as number | undefined) ?? 30e9 / (2 * macsPerSentence); // else FACTS.md: ~30 GFLOP/s per core
const captions = 390e6;
bertBase = {
  ...bertBase,
  assumed_sentences_per_s_per_core: Number(perSec.toFixed(1)),
  hours_390M_sentences_2_cores: Number((captions / (perSec * 2) / 3600).toFixed(0)),
};
console.log(`BERT-base cost model: ${JSON.stringify(bertBase)}`);
const best = ngram.find((r) => r.classes === 18 && r.hidden === 0);
if (best)
  console.log(
    `ngram (K=18, linear) on ${threads} threads: 390M sentences in ${(captions / best.many / 60).toFixed(0)} min`,
  );
await rm(tmp, { recursive: true, force: true });
console.log(
  JSON.stringify({
    ngram_inference: ngram,
    threads,
    training,
    bert_tiny_sentences_per_s: Math.round(bertTiny),
    bert_base: bertBase,
  }),
);
