// Screenplay pipeline benchmark: screenplay.parse → verbs.mine → pairs.build on the real corpus
// (../shared/data/screenplays, 309 IMSDb scripts), with each stage's throughput, peak RSS, and
// the verb tagger checked against compromise on a sample of stage-direction sentences.
//   npx tsx bench/screenplay.ts [--corpus DIR] [--sample 400]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nlp from 'compromise';
import type { JsonValue, StageContext, StageInput, StageKind } from '../src/plan/stage-kind.ts';
import { listScreenplayFiles } from '../src/screenplay/files.ts';
import type { ScreenplayRecord } from '../src/screenplay/types.ts';
import { kind as pairsKind } from '../src/stages/pairs-build.ts';
import { kind as parseKind } from '../src/stages/screenplay-parse.ts';
import { kind as verbsKind } from '../src/stages/verbs-mine.ts';
import { resolveLexicon } from '../src/text/lexicon-path.ts';
import { splitSentences } from '../src/sentences.ts';
import type { MinedVerbs } from '../src/text/verb-classes.ts';
import { findVerbs } from '../src/text/verbs.ts';
import { scoreAgainstGold } from '../src/screenplay/gold.ts';
import { parseScreenplay } from '../src/screenplay/parse.ts';
import { dataPath, repoRoot } from '../eval/data.ts';
import { portsFor } from '../src/run/ports.ts';
import { ACTION_CLASSES } from '../src/demo/verbs.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const corpus = opt('corpus', dataPath('screenplays'));
const sampleSize = Number(opt('sample', '400'));
const PAPER_18: readonly string[] = ACTION_CLASSES;
const REFERENCE_MOVIES = 1070; // the paper's corpus: min_count 50 at 1,070 scripts

const work = mkdtempSync(path.join(os.tmpdir(), 'exp-bench-screenplay-'));
const metrics: Record<string, number> = {};

async function runStage<P>(
  kind: StageKind<P>,
  name: string,
  params: P,
  inputs: StageInput[],
): Promise<{ input: StageInput; seconds: number; cpuSeconds: number }> {
  const outDir = path.join(work, name);
  mkdirSync(outDir, { recursive: true });
  const ctx: StageContext<P> = {
    params,
    inputs,
    ports: portsFor(kind, params as object, inputs),
    outDir,
    scratchDir: path.join(work, `${name}.scratch`),
    sharedDir: path.join(work, 'shared'),
    seed: 1,
    gpus: [],
    signal: new AbortController().signal,
    log: () => {},
    progress: () => {},
    metric: (k, v) => {
      metrics[k] = v;
    },
    artifact: () => {},
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = await kind.run(ctx);
  const cpu = process.cpuUsage(c0);
  const seconds = (performance.now() - t0) / 1000;
  return {
    input: {
      stage: name,
      kind: kind.name,
      key: name,
      dir: outDir,
      outputs: (res.outputs ?? {}) as Record<string, JsonValue>,
    },
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const files = listScreenplayFiles(corpus);
const bytes = files.reduce((a, f) => a + statSync(f).size, 0);
const wall0 = performance.now();
const parse = await runStage(parseKind, 'parse', { corpus }, []);
const verbs = await runStage(verbsKind, 'verbs', { min_count: 50, drop_top: 100, reference_movies: REFERENCE_MOVIES }, [
  parse.input,
]);
const pairs = await runStage(
  pairsKind,
  'pairs',
  { direction: 'nearest', max_distance: 3, tie: 'after', cross_scenes: false, val_fraction: 0.2056 },
  [parse.input, verbs.input],
);
const wall = (performance.now() - wall0) / 1000;
const peakRssMb = process.resourceUsage().maxRSS / 1024;

// Parsing alone (decoded text in memory → tags + elements), second pass (JIT warm).
const texts = files.map((f) => readFileSync(f, 'utf8'));
let parseOnly = { seconds: 0, cpuSeconds: 0 };
for (let round = 0; round < 2; round++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const t of texts) parseScreenplay(t);
  const c = process.cpuUsage(c0);
  parseOnly = { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
}
const gold = scoreAgainstGold(dataPath('screenplay_parse_gold', 'mica'));

// Hand-labelled stage directions (test/fixtures/screenplay/verb-sentences.tsv): ours and compromise.
function fixtureScores(lemmasOf: (s: string) => string[]): { precision: number; recall: number } {
  let tp = 0,
    fp = 0,
    fn = 0;
  for (const row of readFileSync(path.join(repoRoot, 'test/fixtures/screenplay/verb-sentences.tsv'), 'utf8').split(
    '\n',
  )) {
    if (!row || row.startsWith('#')) continue;
    const [sentence, g = ''] = row.split('\t');
    const want = new Set(g.split(',').filter(Boolean));
    const got = new Set(lemmasOf(sentence!).filter((l) => !['be', 'have', 'do'].includes(l)));
    for (const v of got) want.has(v) ? tp++ : fp++;
    for (const v of want) if (!got.has(v)) fn++;
  }
  return { precision: +(tp / Math.max(1, tp + fp)).toFixed(3), recall: +(tp / Math.max(1, tp + fn)).toFixed(3) };
}

const movies = parse.input.outputs.movies as number;
const sentences = verbs.input.outputs.sentences as number;
const pairCounts = pairs.input.outputs.counts as { train: number; val: number };
const mined = JSON.parse(readFileSync(path.join(verbs.input.dir, 'verbs.json'), 'utf8')) as MinedVerbs;

// Paper classes: in the mined classes, dropped as too frequent, or too rare.
const paper = PAPER_18.map((v) => {
  const cls = mined.classes.find((c) => c.verb === v);
  const rank = mined.dropped_top.indexOf(v);
  return { verb: v, status: cls ? 'mined' : rank >= 0 ? `top-${rank + 1}` : 'rare' };
});

// Tagger agreement with compromise (token level, auxiliaries be/have/do and modals left out).
const lex = resolveLexicon(undefined, 'bench');
const records = readFileSync(path.join(parse.input.dir, 'screenplays.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as ScreenplayRecord);
const allSentences: string[] = [];
for (const r of records)
  for (const e of r.elements) if (e.type === 'action') allSentences.push(...splitSentences(e.text));
const step = Math.max(1, Math.floor(allSentences.length / sampleSize));
const sample = allSentences.filter((_, i) => i % step === 0).slice(0, sampleSize);
const AUX = new Set(['be', 'have', 'do', 'can', 'will', 'would', 'could', 'should', 'may', 'might', 'must', 'shall']);
const lemmaOf = (w: string): string => lex.entries.get(w)?.verbs[0]?.lemma ?? w;
let both = 0,
  oursOnly = 0,
  theirsOnly = 0;
const tOurs0 = performance.now();
const ours = sample.map(
  (s) =>
    new Set(
      findVerbs(s, lex)
        .filter((h) => !AUX.has(h.lemma))
        .map((h) => h.form),
    ),
);
const oursSecs = (performance.now() - tOurs0) / 1000;
const tTheirs0 = performance.now();
const theirs = sample.map((s) => {
  const json = nlp(s).json({ terms: { normal: true, tags: true } }) as {
    terms: { normal: string; tags: string[] }[];
  }[];
  const set = new Set<string>();
  for (const sent of json)
    for (const t of sent.terms) {
      if (
        !t.tags.includes('Verb') ||
        t.tags.includes('Auxiliary') ||
        t.tags.includes('Copula') ||
        t.tags.includes('Particle') ||
        t.tags.includes('Modal')
      )
        continue;
      const w = t.normal.replace(/[^a-z'-]/g, '');
      if (w && !AUX.has(lemmaOf(w))) set.add(w);
    }
  return set;
});
const theirsSecs = (performance.now() - tTheirs0) / 1000;
for (let i = 0; i < sample.length; i++) {
  for (const w of ours[i]!) theirs[i]!.has(w) ? both++ : oursOnly++;
  for (const w of theirs[i]!) if (!ours[i]!.has(w)) theirsOnly++;
}
const agreePrecision = both / Math.max(1, both + oursOnly);
const agreeRecall = both / Math.max(1, both + theirsOnly);
const fixtureOurs = fixtureScores((s) => findVerbs(s, lex).map((h) => h.lemma));
const fixtureCompromise = fixtureScores((s) => {
  const json = nlp(s).json({ terms: { normal: true, tags: true } }) as {
    terms: { normal: string; tags: string[] }[];
  }[];
  return json.flatMap((j) =>
    j.terms
      .filter(
        (t) =>
          t.tags.includes('Verb') &&
          !t.tags.includes('Auxiliary') &&
          !t.tags.includes('Copula') &&
          !t.tags.includes('Particle'),
      )
      .map((t) => lemmaOf(t.normal.replace(/[^a-z'-]/g, ''))),
  );
});

const rows: [string, string, string][] = [
  [
    'screenplay.parse',
    `${parse.seconds.toFixed(1)} s`,
    `${(bytes / 1e6 / parse.seconds).toFixed(1)} MB/s (${(bytes / 1e6 / parse.cpuSeconds).toFixed(1)} MB/CPU-s) incl. reading, writing, Table 1 stats`,
  ],
  [
    '  parsing alone',
    `${parseOnly.seconds.toFixed(1)} s`,
    `${(bytes / 1e6 / parseOnly.seconds).toFixed(1)} MB/s (${(bytes / 1e6 / parseOnly.cpuSeconds).toFixed(1)} MB/CPU-s)`,
  ],
  [
    'verbs.mine',
    `${verbs.seconds.toFixed(1)} s`,
    `${Math.round(sentences / verbs.seconds)} sentences/s (${Math.round(sentences / verbs.cpuSeconds)}/CPU-s), ${sentences} sentences, lexicon load included`,
  ],
  [
    'pairs.build',
    `${pairs.seconds.toFixed(1)} s`,
    `${Math.round((pairCounts.train + pairCounts.val) / pairs.seconds)} pairs/s, ${(movies / pairs.seconds).toFixed(1)} movies/s`,
  ],
  [
    'total',
    `${wall.toFixed(1)} s`,
    `peak RSS ${peakRssMb.toFixed(0)} MB, ${movies} movies, ${(bytes / 1e6).toFixed(1)} MB, load average ${os.loadavg()[0]!.toFixed(1)}`,
  ],
  [
    'gold line tags',
    gold ? `${(100 * gold.accuracy).toFixed(2)} %` : 'n/a',
    gold
      ? Object.entries(gold.perTag)
          .map(([t, v]) => `${t} ${(100 * v.accuracy).toFixed(1)}`)
          .join(' ')
      : '',
  ],
  [
    'tagger vs compromise',
    `${sample.length} sent.`,
    `agreement P ${agreePrecision.toFixed(3)} R ${agreeRecall.toFixed(3)}; ours ${Math.round(sample.length / oursSecs)}/s, compromise ${Math.round(sample.length / theirsSecs)}/s`,
  ],
  [
    'hand-labelled verbs',
    'fixture',
    `ours P ${fixtureOurs.precision} R ${fixtureOurs.recall}; compromise P ${fixtureCompromise.precision} R ${fixtureCompromise.recall}`,
  ],
];
for (const [a, b, c] of rows) console.log(`${a.padEnd(22)} ${b.padStart(12)}  ${c}`);
console.log(
  `min_count ${mined.min_count} (50 × ${movies}/${REFERENCE_MOVIES}), drop_top ${mined.drop_top}: ${mined.classes.length} classes`,
);
console.log(`paper classes: ${paper.map((p) => `${p.verb}:${p.status}`).join(' ')}`);
console.log(
  `corpus: ${['movies', 'scene_descriptions', 'speech_segments', 'sentences', 'words', 'unique_words'].map((k) => `${k} ${metrics[`corpus.${k}`]}`).join(', ')}`,
);
rmSync(work, { recursive: true, force: true });
console.log(
  JSON.stringify({
    movies,
    bytes,
    wall_s: +wall.toFixed(2),
    peak_rss_mb: Math.round(peakRssMb),
    load_average: +os.loadavg()[0]!.toFixed(1),
    parse_s: +parse.seconds.toFixed(2),
    parse_mb_s: +(bytes / 1e6 / parse.seconds).toFixed(1),
    parse_mb_cpu_s: +(bytes / 1e6 / parse.cpuSeconds).toFixed(1),
    parsing_alone_mb_s: +(bytes / 1e6 / parseOnly.seconds).toFixed(1),
    parsing_alone_mb_cpu_s: +(bytes / 1e6 / parseOnly.cpuSeconds).toFixed(1),
    gold_accuracy: gold ? +gold.accuracy.toFixed(4) : null,
    gold_per_tag: gold
      ? Object.fromEntries(Object.entries(gold.perTag).map(([t, v]) => [t, +v.accuracy.toFixed(4)]))
      : null,
    verbs_fixture: { ours: fixtureOurs, compromise: fixtureCompromise },
    verbs_s: +verbs.seconds.toFixed(2),
    verbs_sentences_s: Math.round(sentences / verbs.seconds),
    verbs_sentences_cpu_s: Math.round(sentences / verbs.cpuSeconds),
    pairs_s: +pairs.seconds.toFixed(2),
    pairs: pairCounts,
    classes: mined.classes.length,
    min_count: mined.min_count,
    drop_top: mined.drop_top,
    paper_classes: Object.fromEntries(paper.map((p) => [p.verb, p.status])),
    tagger_vs_compromise: {
      sentences: sample.length,
      precision: +agreePrecision.toFixed(3),
      recall: +agreeRecall.toFixed(3),
    },
    corpus: Object.fromEntries(
      Object.entries(metrics)
        .filter(([k]) => k.startsWith('corpus.'))
        .map(([k, v]) => [k.slice(7), v]),
    ),
  }),
);
