// Issue 16 on real screenplays: verb thresholds per 1,000 scripts give sensible classes on a slice
// and on the whole corpus, and the plain-JS ngram trainer learns from real pairs, deterministically.
import { mkdtemp, readdir, rm, symlink, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataPath } from './data.ts';
import { runKind } from '../test/helpers/run-kind.ts';
import { kind as parseKind } from '../src/stages/screenplay-parse.ts';
import { kind as verbsKind } from '../src/stages/verbs-mine.ts';
import { kind as pairsKind } from '../src/stages/pairs-build.ts';
import { readClasses, readPairs } from '../src/stages/s2a-data.ts';
import { trainSentenceClassifier } from '../src/text/classifier/index.ts';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-eval-s2a-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const BASE_VERBS = { min_count_per_1000_scripts: 46.7, drop_top_per_1000_scripts: 75 }; // experiments/base/speech2action.yaml

async function slice(n: number): Promise<string> {
  const files = (await readdir(dataPath('screenplays')))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .slice(0, n);
  const dir = path.join(tmp, `corpus-${n}`);
  await mkdir(dir, { recursive: true });
  for (const f of files) await symlink(dataPath('screenplays', f), path.join(dir, f));
  return dir;
}

describe('S2A text pipeline on real screenplays (issue 16)', () => {
  it('scaled thresholds: 60 scripts and the whole corpus both keep hundreds of classes', async () => {
    const small = await runKind(parseKind, { corpus: await slice(60) }, [], path.join(tmp, 'parse-60'), {
      quiet: true,
    });
    const v = await runKind(verbsKind, BASE_VERBS, [small.input], path.join(tmp, 'verbs-60'), { quiet: true });
    expect(v.input.outputs).toMatchObject({ scripts: 60, min_count: 3, drop_top: 5 });
    expect(v.input.outputs.classes).toBeGreaterThan(300);

    const all = await runKind(parseKind, { corpus: dataPath('screenplays') }, [], path.join(tmp, 'parse-all'), {
      quiet: true,
    });
    const va = await runKind(verbsKind, BASE_VERBS, [all.input], path.join(tmp, 'verbs-all'), { quiet: true });
    expect(va.input.outputs).toMatchObject({ min_count: 14, drop_top: 23 });
    expect(va.input.outputs.classes).toBeGreaterThan(1500);
    expect(va.input.outputs.classes).toBeLessThan(4000);

    // the sparse trainer on 60 scripts' pairs: learns (loss falls, val top-1 well above 1/K) and repeats itself
    const pr = await runKind(pairsKind, {}, [small.input, v.input], path.join(tmp, 'pairs-60'), { quiet: true });
    const classes = (await readClasses(path.join(pr.input.dir, 'classes.json'))).map((c) => c.verb);
    const pairs = await readPairs(path.join(pr.input.dir, 'pairs.jsonl'), () => {});
    const train = pairs.filter((p) => p.split === 'train');
    const val = pairs.filter((p) => p.split === 'val');
    const opts = { classes, encoder: { kind: 'ngram' as const }, epochs: 3, seed: 1, validation: val };
    const a = await trainSentenceClassifier(train, opts);
    expect(a.history.at(-1)!.loss).toBeLessThan(a.history[0]!.loss);
    expect(a.history.at(-1)!.valAccuracy!).toBeGreaterThan(5 / classes.length);
    const b = await trainSentenceClassifier(train, opts);
    const sentences = val.slice(0, 200).map((p) => p.speech);
    expect(Array.from(await b.classifier.predict(sentences))).toEqual(
      Array.from(await a.classifier.predict(sentences)),
    );
  });
});
