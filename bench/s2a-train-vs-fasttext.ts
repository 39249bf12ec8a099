// bench/s2a.ts, part 2 (issue 16): s2a.train (ngram) against Debian's `fasttext supervised` on the
// same train split of the shared screenplays: seconds per epoch, held-out mean AP (the s2a.evaluate
// metric over the same val sentences) and the peak RSS of the text pipeline in this process.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { dataPath } from '../eval/data.ts';
import type { StageInput } from '../src/plan/stage-kind.ts';
import { readClasses, readPairs, type PairRecord } from '../src/stages/s2a-data.ts';
import { kind as trainKind } from '../src/stages/s2a-train.ts';
import { loadSentenceClassifier } from '../src/text/classifier/index.ts';
import { evaluateClassifier } from '../src/text/evaluate.ts';
import type { VerbClass } from '../src/text/keyword.ts';
import { runKind } from '../test/helpers/run-kind.ts';

/** verbs.mine as experiments/base/speech2action.yaml runs it on real scripts (the paper's 50 / 100 on 1,070 scripts). */
export const BENCH_VERBS = { min_count_per_1000_scripts: 46.7, drop_top_per_1000_scripts: 75 };

export interface TrainingBenchOptions {
  pairs?: string;
  scripts?: number;
  epochs: number;
  /** fastText thread counts, one run each; the ratio is against the first. */
  ftThreads: number[];
  work: string;
  /** Also train a linear head (hidden 0, as s2a_text.yaml's matrix does) for this many epochs (0: skip). */
  linearEpochs?: number;
  /** s2a.train `threads`, one run each (hidden 64 and, with linearEpochs, linear); the ratio is the first's. */
  expThreads?: number[];
}

async function buildPairs(scripts: number | undefined, work: string): Promise<{ input: StageInput; scripts: number }> {
  const corpus = dataPath('screenplays');
  const files = (await readdir(corpus)).filter((f) => f.endsWith('.txt')).sort();
  const n = Math.min(scripts ?? files.length, files.length);
  const dir = path.join(
    work,
    `scripts-${n}-${BENCH_VERBS.min_count_per_1000_scripts}-${BENCH_VERBS.drop_top_per_1000_scripts}`,
  );
  const pairsDir = path.join(dir, 'pairs');
  if (existsSync(path.join(pairsDir, 'done'))) {
    console.error(`reusing ${pairsDir}`);
    return {
      input: {
        stage: 'pairs',
        kind: 'pairs.build',
        key: 'cached',
        dir: pairsDir,
        outputs: JSON.parse(await readFile(path.join(pairsDir, 'done'), 'utf8')),
      },
      scripts: n,
    };
  }
  await rm(dir, { recursive: true, force: true });
  const subset = path.join(dir, 'corpus');
  await mkdir(subset, { recursive: true });
  for (const f of files.slice(0, n)) await symlink(path.join(corpus, f), path.join(subset, f));
  const parse = (await import('../src/stages/screenplay-parse.ts')).kind;
  const verbs = (await import('../src/stages/verbs-mine.ts')).kind;
  const pairs = (await import('../src/stages/pairs-build.ts')).kind;
  const p = await runKind(parse, { corpus: subset }, [], path.join(dir, 'parse'), { seed: 1, quiet: true });
  const v = await runKind(verbs, BENCH_VERBS, [p.input], path.join(dir, 'verbs'), { seed: 1, quiet: true });
  console.error(
    `${n} scripts: parse ${p.seconds.toFixed(1)} s, verbs ${v.seconds.toFixed(1)} s (${v.input.outputs.min_count_rule}; drop_top ${v.input.outputs.drop_top_rule}; ${v.input.outputs.classes} classes)`,
  );
  const pr = await runKind(pairs, {}, [p.input, v.input], pairsDir, { seed: 1, quiet: true });
  await writeFile(path.join(pairsDir, 'done'), JSON.stringify(pr.input.outputs));
  return { input: pr.input, scripts: n };
}

/** fastText's tokens: lower case, punctuation split off (it splits on white space only). */
function ftText(speech: string): string {
  const t = speech
    .toLowerCase()
    .replace(/[’]/g, "'")
    .replace(/([.,!?;:"()[\]—–-])/g, ' $1 ')
    .replace(/\s+/g, ' ')
    .trim();
  return t || '_';
}

async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  for (const l of lines) if (!out.write(`${l}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

function ensureFasttext(): string {
  const found = spawnSync('sh', ['-c', 'command -v fasttext'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new Error('fasttext not found: `make bench` installs it (apt-get install -y fasttext), or install it yourself');
}

/** fastText's probabilities for every class, row-major [val × K] in `classes` order. */
async function fasttextScores(
  bin: string,
  model: string,
  valFile: string,
  classes: readonly string[],
  rows: number,
): Promise<Float32Array> {
  const K = classes.length;
  const col = new Map(classes.map((c, k) => [`__label__${c}`, k]));
  const scores = new Float32Array(rows * K);
  const child = spawn(bin, ['predict-prob', model, valFile, String(K)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let i = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    const parts = line.split(' ');
    for (let p = 0; p + 1 < parts.length; p += 2) {
      const k = col.get(parts[p]!);
      if (k !== undefined && i < rows) scores[i * K + k] = Number(parts[p + 1]);
    }
    i++;
  }
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`fasttext predict-prob exited with ${code}`);
  if (i !== rows) throw new Error(`fasttext predict-prob gave ${i} lines for ${rows} sentences`);
  return scores;
}

function meanAp(val: PairRecord[], classes: VerbClass[], scores: Float32Array): number {
  return evaluateClassifier(val, classes, scores, { targetPrecision: 0.3, apThreshold: 0.01, topK: 0 }).s2a_mean_ap;
}

export async function benchTraining(o: TrainingBenchOptions): Promise<Record<string, unknown>> {
  const bin = ensureFasttext();
  await mkdir(o.work, { recursive: true });
  const built = o.pairs
    ? {
        input: { stage: 'pairs', kind: 'pairs.build', key: 'given', dir: path.resolve(o.pairs), outputs: {} },
        scripts: undefined,
      }
    : await buildPairs(o.scripts, o.work);
  const dir = built.input.dir;
  const classes = await readClasses(path.join(dir, 'classes.json'));
  const verbs = new Set(classes.map((c) => c.verb));
  const pairs = await readPairs(path.join(dir, 'pairs.jsonl'), (m) => console.error(m));
  const train = pairs.filter((p) => p.split === 'train' && p.labels.some((l) => verbs.has(l)));
  const val = pairs.filter((p) => p.split === 'val');

  // exp: the s2a.train stage with its defaults (and `threads`), then the s2a.evaluate metric; CPU
  // seconds of this process (worker threads included)
  const expRun = async (params: Record<string, unknown>, epochs: number) => {
    const out = path.join(o.work, `train-${Date.now()}`);
    const cpu0 = process.cpuUsage();
    const load = os.loadavg()[0]!;
    const r = await runKind(trainKind, { ...params, epochs }, [built.input], out, { seed: 1, quiet: true });
    const cpu = process.cpuUsage(cpu0);
    const clf = await loadSentenceClassifier(path.join(out, 'model'));
    const order = clf.classes.map((v) => classes.find((c) => c.verb === v)!);
    const ap = meanAp(val, order, await clf.predict(val.map((p) => p.speech)));
    await rm(out, { recursive: true, force: true });
    return {
      threads: Number(r.input.outputs.threads),
      optimizer: String(r.input.outputs.optimizer),
      seconds_per_epoch: Number((r.seconds / epochs).toFixed(2)),
      cpu_seconds_per_epoch: Number(((cpu.user + cpu.system) / 1e6 / epochs).toFixed(2)),
      mean_ap: Number(ap.toFixed(5)),
      load_avg_1m: Number(((load + os.loadavg()[0]!) / 2).toFixed(1)),
      trainer: r.input.outputs.trainer,
    };
  };
  const expThreads = o.expThreads ?? [1];
  const expRuns = [];
  for (const threads of expThreads) expRuns.push(await expRun({ threads }, o.epochs));
  const exp = expRuns[0]!;
  const expAp = exp.mean_ap;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // fastText on the same pairs (each label of a pair is a __label__; full softmax)
  const trainFile = path.join(o.work, 'fasttext.train.txt');
  const valFile = path.join(o.work, 'fasttext.val.txt');
  await writeLines(
    trainFile,
    (function* () {
      for (const p of train)
        yield `${p.labels
          .filter((l) => verbs.has(l))
          .map((l) => `__label__${l}`)
          .join(' ')} ${ftText(p.speech)}`;
    })(),
  );
  await writeLines(
    valFile,
    (function* () {
      for (const p of val) yield ftText(p.speech);
    })(),
  );
  const model = path.join(o.work, 'fasttext.model');
  const ftRuns: { threads: number; seconds: number; cpuSeconds?: number; ap: number; load: number }[] = [];
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined; // for fastText's CPU seconds
  const timeFile = path.join(o.work, 'fasttext.time');
  for (const threads of o.ftThreads) {
    const args = [
      'supervised',
      '-input',
      trainFile,
      '-output',
      model,
      '-dim',
      '64',
      '-wordNgrams',
      '2',
      '-loss',
      'softmax',
      '-epoch',
      String(o.epochs),
      '-thread',
      String(threads),
      '-minCount',
      '1',
      '-seed',
      '1',
      '-verbose',
      '0',
    ];
    const load0 = os.loadavg()[0]!;
    const t0 = performance.now();
    const ft = timeBin
      ? spawnSync(timeBin, ['-f', '%U %S', '-o', timeFile, bin, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawnSync(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = (performance.now() - t0) / 1000;
    if (ft.status !== 0) throw new Error(`fasttext ${args.join(' ')} exited with ${ft.status}`);
    const cpuSeconds = timeBin
      ? (await readFile(timeFile, 'utf8'))
          .trim()
          .split(/\s+/)
          .map(Number)
          .reduce((a, b) => a + b, 0)
      : undefined;
    const ap = meanAp(
      val,
      classes,
      await fasttextScores(
        bin,
        `${model}.bin`,
        valFile,
        classes.map((c) => c.verb),
        val.length,
      ),
    );
    ftRuns.push({ threads, seconds, cpuSeconds, ap, load: Number(((load0 + os.loadavg()[0]!) / 2).toFixed(1)) });
  }
  const expPerEpoch = exp.seconds_per_epoch;
  const ft = ftRuns[0]!;
  const ftPerEpoch = ft.seconds / o.epochs;
  const row = {
    scripts: built.scripts ?? null,
    classes: classes.length,
    train_pairs: train.length,
    val_sentences: val.length,
    epochs: o.epochs,
    exp_seconds_per_epoch: expPerEpoch,
    fasttext_seconds_per_epoch: Number(ftPerEpoch.toFixed(2)),
    ratio: Number((expPerEpoch / ftPerEpoch).toFixed(2)),
    exp_mean_ap: expAp,
    fasttext_mean_ap: Number(ft.ap.toFixed(5)),
    exp_threads: exp.threads,
    fasttext_threads: ft.threads,
    exp_cpu_seconds_per_epoch: exp.cpu_seconds_per_epoch,
    exp_runs: expRuns,
    fasttext_runs: ftRuns.map((r) => ({
      threads: r.threads,
      seconds_per_epoch: Number((r.seconds / o.epochs).toFixed(2)),
      cpu_seconds_per_epoch: r.cpuSeconds === undefined ? null : Number((r.cpuSeconds / o.epochs).toFixed(2)),
      mean_ap: Number(r.ap.toFixed(5)),
      load_avg_1m: r.load,
    })),
    exp_trainer: exp.trainer,
    peak_rss_mb: Math.round(peakRssMb),
    cpus: os.cpus().length,
    load_avg_1m: Number(os.loadavg()[0]!.toFixed(1)),
  };
  console.log(
    `\ntraining on ${row.train_pairs} pairs, ${row.classes} classes${row.scripts ? ` (${row.scripts} scripts)` : ''}, ${o.epochs} epochs; AP over ${row.val_sentences} val sentences`,
  );
  // on a shared machine wall time swings with the neighbours' load: CPU seconds and the 1-minute
  // load average (mean of its values at the start and the end of each run) are printed beside it
  console.log(
    '| trainer | threads | s/epoch (wall) | CPU s/epoch | load avg | mean AP |\n|---|---:|---:|---:|---:|---:|',
  );
  for (const r of expRuns)
    console.log(
      `| exp s2a.train (ngram defaults: hidden 64, ${r.optimizer}, ${r.trainer}) | ${r.threads} | ${r.seconds_per_epoch} | ${r.cpu_seconds_per_epoch} | ${r.load_avg_1m} | ${r.mean_ap} |`,
    );
  for (const r of row.fasttext_runs)
    console.log(
      `| fasttext supervised (softmax, bigrams, dim 64) | ${r.threads} | ${r.seconds_per_epoch} | ${r.cpu_seconds_per_epoch ?? '?'} | ${r.load_avg_1m} | ${r.mean_ap} |`,
    );
  console.log(
    `ratio exp (${exp.threads} threads) / fastText (${ft.threads} threads): ${row.ratio}×; peak RSS of the text pipeline (parse → verbs → pairs → train → evaluate, this process): ${row.peak_rss_mb} MB; load average ${row.load_avg_1m}`,
  );
  const linear = [];
  if (o.linearEpochs) {
    for (const threads of expThreads) {
      const r = await expRun({ threads, hidden: 0 }, o.linearEpochs);
      linear.push({ ...r, epochs: o.linearEpochs, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) });
      console.log(
        `| exp s2a.train (ngram, linear head: hidden 0, ${r.optimizer}) | ${r.threads} | ${r.seconds_per_epoch} | ${r.cpu_seconds_per_epoch} | ${r.load_avg_1m} | ${r.mean_ap} | (${o.linearEpochs} epoch(s); peak RSS now ${linear.at(-1)!.peak_rss_mb} MB)`,
      );
    }
  }
  console.log(JSON.stringify({ training: { ...row, ...(linear.length ? { linear } : {}) } }));
  return row;
}
