// Fine-tuning throughput of the tfjs BERT (bert-finetune.ts) on this machine's backend: seconds
// per Adam step, tokens/s and achieved GFLOP/s (≈ 6 × parameters × tokens per step), to check
// the cost arithmetic of the README's "BERT fine-tuning" section. Synthetic token ids.
//   npx tsx bench/bert-finetune.ts [--bert DIR] [--batch 8] [--micro N] [--tokens 64] [--steps 3] [--mode full|last_n|frozen]
// (wasm has a 4 GB heap: BERT-base fine-tuned in full needs micro-batches of ~2 × 64 tokens)
// A BERT-base-shaped random model for --bert:
//   /usr/bin/python3 scripts/make-tiny-bert.py --vocab ../shared/data/bert/bert-base-cased-vocab.txt \
//     --out /tmp/bert-base-shaped --hidden 768 --layers 12 --heads 12 --intermediate 3072
import path from 'node:path';
import { parseArgs } from 'node:util';
import { finetuneBert, type FinetuneMode } from '../src/text/classifier/bert-finetune.ts';
import { openTfBert } from '../src/text/classifier/bert-tfjs.ts';
import { mulberry32 } from '../src/random.ts';

const { values: a } = parseArgs({
  options: {
    bert: { type: 'string', default: path.resolve(import.meta.dirname, '../test/fixtures/tiny-bert') },
    batch: { type: 'string', default: '8' },
    micro: { type: 'string' },
    tokens: { type: 'string', default: '64' },
    steps: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'full' },
  },
});
const B = Number(a.batch);
const T = Number(a.tokens);
const steps = Number(a.steps);
const o = await openTfBert(a.bert, T);
const params = [...o.model.variables.values()].reduce((n, v) => n + v.size, 0);
const rand = mulberry32(1);
const K = 18;
const N = B * (steps + 1);
const rows = Array.from({ length: N }, () => [
  2,
  ...Array.from({ length: T - 2 }, () => 100 + Math.floor(rand() * (o.arch.vocabSize - 100))),
  3,
]);
const targets = new Float32Array(N * K);
for (let i = 0; i < N; i++) targets[i * K + Math.floor(rand() * K)] = 1;
const times: number[] = [];
let last = performance.now();
const res = await finetuneBert(o.model, rows, targets, K, {
  mode: a.mode as FinetuneMode,
  lastN: 1,
  pooling: 'cls',
  epochs: 1,
  batchSize: B,
  ...(a.micro ? { microBatchSize: Number(a.micro) } : {}),
  learningRate: 5e-5,
  seed: 1,
  padId: o.tokenizer.padId,
  maxSteps: steps + 1,
  onStep: () => {
    const now = performance.now();
    times.push((now - last) / 1000);
    last = now;
  },
});
// the first step includes kernel warm-up: leave it out
const steady = times.slice(1);
const sPerStep = steady.reduce((x, y) => x + y, 0) / steady.length;
const tokensPerStep = B * T;
const gflops = (6 * params * tokensPerStep) / sPerStep / 1e9;
console.log('| model | params | mode | backend | batch × tokens (micro) | s/step | tokens/s | GFLOP/s (6·P·tokens) |');
console.log('|---|---:|---|---|---:|---:|---:|---:|');
console.log(
  `| ${path.basename(a.bert)} (${o.arch.layers}×${o.arch.hidden}) | ${(params / 1e6).toFixed(1)}M | ${a.mode} | ${res.backend} | ${B} × ${T} (${a.micro ?? B}) | ${sPerStep.toFixed(2)} | ${(tokensPerStep / sPerStep).toFixed(0)} | ${gflops.toFixed(1)} |`,
);
console.log(
  JSON.stringify({
    bench: 'bert-finetune',
    bert: a.bert,
    params,
    layers: o.arch.layers,
    hidden: o.arch.hidden,
    mode: a.mode,
    backend: res.backend,
    batch: B,
    tokens: T,
    s_per_step: sPerStep,
    tokens_per_s: tokensPerStep / sPerStep,
    gflops,
  }),
);
o.model.dispose();
