import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonValue, StageContext, StageInput, StageKind } from '../plan/stage-kind.ts';
import { repoRoot } from '../../test/helpers/repo.ts';
import { kind as pairsKind } from './pairs-build.ts';
import { kind as parseKind } from './screenplay-parse.ts';
import { kind as verbsKind } from './verbs-mine.ts';
import { portsFor } from '../../test/helpers/ports.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

const sample = readFileSync(path.join(repoRoot, 'test/fixtures/screenplay/sample.txt'), 'utf8');
const lexicon = path.join(repoRoot, 'test/fixtures/screenplay/mini-lexicon.flat');

interface Ran {
  input: StageInput;
  metrics: Record<string, number>;
  logs: string[];
}

async function runKind<P>(kind: StageKind<P>, params: P, inputs: StageInput[] = []): Promise<Ran> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), `exp-${kind.name}-`));
  const metrics: Record<string, number> = {};
  const logs: string[] = [];
  const ctx: StageContext<P> = {
    params,
    inputs,
    ports: portsFor(kind, params as object, inputs),
    outDir,
    scratchDir: outDir,
    sharedDir: outDir,
    seed: 3,
    gpus: [],
    signal: new AbortController().signal,
    log: (m) => logs.push(m),
    progress: () => {},
    metric: (k, v) => {
      metrics[k] = v;
    },
    artifact: () => {},
  };
  const res = await kind.run(ctx);
  return {
    input: {
      stage: kind.name,
      kind: kind.name,
      key: kind.name,
      dir: outDir,
      outputs: (res.outputs ?? {}) as Record<string, JsonValue>,
    },
    metrics,
    logs,
  };
}

/** A corpus of three good scripts (text, CRLF, HTML) and bad files that must be skipped. */
function makeCorpus(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-corpus-'));
  writeFileSync(path.join(dir, 'last-train.txt'), sample);
  writeFileSync(path.join(dir, 'night-train.txt'), sample.replace(/MAGGIE/g, 'NORA').replace(/\n/g, '\r\n'));
  writeFileSync(
    path.join(dir, 'ghost-train.html'),
    `<html><body><pre>${sample.replace(/MAGGIE/g, 'ANNA')}</pre></body></html>`,
  );
  writeFileSync(
    path.join(dir, 'utf16-train.txt'),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(sample.replace(/MAGGIE/g, 'IDA'), 'utf16le')]),
  );
  writeFileSync(path.join(dir, 'empty.txt'), '');
  writeFileSync(path.join(dir, 'binary.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3, 0, 0, 7]));
  writeFileSync(path.join(dir, 'prose.txt'), 'Call me Ishmael. Some years ago, never mind how long precisely.\n');
  return dir;
}

describe('screenplay.parse → verbs.mine → pairs.build', () => {
  it('parses a corpus, skips bad files by name, and logs Table 1 statistics', async () => {
    const corpus = makeCorpus();
    const parse = await runKind(parseKind, { corpus });
    expect(parse.input.outputs).toMatchObject({ screenplays_file: 'screenplays.jsonl', movies: 4 });
    const skipped = parse.input.outputs.skipped as { file: string; reason: string }[];
    expect(skipped.map((s) => s.file).sort()).toEqual(['binary.txt', 'empty.txt', 'prose.txt']);
    expect(parse.logs.some((l) => l.includes('binary.txt') && l.includes('binary'))).toBe(true);
    const lines = readFileSync(path.join(parse.input.dir, 'screenplays.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { movie: string; file: string; elements: { type: string }[] });
    expect(lines.map((l) => l.movie)).toEqual(['ghost-train', 'last-train', 'night-train', 'utf16-train']);
    expect(lines[0]!.elements.filter((e) => e.type === 'speech')).toHaveLength(5);
    expect(parse.metrics).toMatchObject({
      'corpus.movies': 4,
      'corpus.scene_descriptions': 16,
      'corpus.speech_segments': 20,
    });
    expect(parse.metrics['corpus.words']).toBeGreaterThan(200);
    expect(parse.metrics['corpus.unique_words']).toBeGreaterThan(40);

    // Files in name order: binary.txt, empty.txt, ghost-train.html.
    const limited = await runKind(parseKind, { corpus, limit: 3 });
    expect(limited.input.outputs).toMatchObject({
      movies: 1,
      skipped: [{ file: 'binary.txt' }, { file: 'empty.txt' }],
    });
  });

  it('parses on worker threads with the same result as in one thread', async () => {
    const corpus = makeCorpus();
    for (let i = 0; i < 20; i++)
      writeFileSync(
        path.join(corpus, `copy-${String(i).padStart(2, '0')}.txt`),
        sample.replace(/MAGGIE/g, `MAGGIE${i}`),
      );
    const one = await runKind(parseKind, { corpus, workers: 1 });
    const two = await runKind(parseKind, { corpus, workers: 2 });
    const read = (r: Ran): string => readFileSync(path.join(r.input.dir, 'screenplays.jsonl'), 'utf8');
    expect(read(two)).toBe(read(one));
    expect(two.input.outputs).toEqual(one.input.outputs);
    expect(two.metrics).toEqual(one.metrics);
    expect(two.input.outputs.movies).toBe(24);
  });

  it('takes the corpus from an upstream `screenplays` output, and fails clearly when nothing parses', async () => {
    const corpus = makeCorpus();
    const upstream: StageInput = {
      stage: 'world',
      kind: 'demo.world',
      key: 'k',
      dir: '/nowhere',
      outputs: { screenplays: corpus },
    };
    expect((await runKind(parseKind, {}, [upstream])).input.outputs.movies).toBe(4);
    await expect(runKind(parseKind, {})).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
    const bad = mkdtempSync(path.join(os.tmpdir(), 'exp-bad-'));
    writeFileSync(path.join(bad, 'a.txt'), '');
    writeFileSync(path.join(bad, 'b.txt'), 'just prose here.\n');
    await expect(runKind(parseKind, { corpus: bad })).rejects.toMatchObject({
      code: 'EXP_DATA_INVALID',
      message: expect.stringMatching(/none of the 2 files/),
    });
    await expect(runKind(parseKind, { corpus: path.join(bad, 'missing') })).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
    });
  });

  it('mines verb classes and pairs them with speech, split by movie', async () => {
    const parse = await runKind(parseKind, { corpus: makeCorpus() });
    const verbs = await runKind(verbsKind, { min_count: 4, drop_top: 1, lexicon }, [parse.input]);
    const mined = JSON.parse(readFileSync(path.join(verbs.input.dir, 'verbs.json'), 'utf8')) as {
      classes: { verb: string; count: number; forms: string[] }[];
      dropped_top: string[];
    };
    // Each of the 4 scripts: runs, checks, opens, pulls, pulls (in), climbs, sits, shakes, points, hammers.
    expect(mined.dropped_top).toEqual(['pull']);
    expect(mined.classes.map((c) => [c.verb, c.count])).toEqual([
      ['check', 4],
      ['climb', 4],
      ['hammer', 4],
      ['open', 4],
      ['point', 4],
      ['run', 4],
      ['shake', 4],
      ['sit', 4],
    ]);
    expect(mined.classes.find((c) => c.verb === 'run')!.forms).toEqual(['ran', 'run', 'running', 'runs']);

    const pairs = await runKind(
      pairsKind,
      {
        direction: 'nearest',
        max_distance: 1,
        tie: 'after',
        cross_scenes: false,
        val_fraction: 0,
        val_movies: ['night-train'],
        lexicon,
      },
      [parse.input, verbs.input],
    );
    const rows = readFileSync(path.join(pairs.input.dir, 'pairs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { movie: string; speech: string; labels: string[]; distance: number; split: string },
      );
    const lastTrain = rows.filter((r) => r.movie === 'last-train');
    expect(lastTrain).toEqual([
      {
        movie: 'last-train',
        speech: 'Come on, come on...',
        labels: ['check', 'hammer', 'run'],
        distance: 1,
        split: 'train',
      },
      {
        movie: 'last-train',
        speech: "Dr. Reyes? It's me. The train is late again.",
        labels: ['open'],
        distance: 1,
        split: 'train',
      },
      { movie: 'last-train', speech: 'Ticket, please.', labels: ['climb', 'sit'], distance: 1, split: 'train' },
      {
        movie: 'last-train',
        speech: 'I... I lost it. Can I pay here?',
        labels: ['point', 'shake'],
        distance: 1,
        split: 'train',
      },
    ]);
    expect(new Set(rows.filter((r) => r.movie === 'night-train').map((r) => r.split))).toEqual(new Set(['val']));
    expect(pairs.input.outputs).toMatchObject({ counts: { train: 12, val: 4 }, movies: { train: 3, val: 1 } });
    const classes = JSON.parse(readFileSync(path.join(pairs.input.dir, 'classes.json'), 'utf8')) as {
      classes: { verb: string; count: number }[];
    };
    expect(classes.classes.find((c) => c.verb === 'run')).toMatchObject({ count: 4 });
    expect(pairs.metrics).toMatchObject({ 'pairs.train': 12, 'pairs.val': 4 });
  });

  it('scales min_count to the corpus, restricts to `only`, and needs its inputs', async () => {
    const parse = await runKind(parseKind, { corpus: makeCorpus() });
    const scaled = await runKind(verbsKind, { min_count: 1070, drop_top: 0, reference_movies: 1070, lexicon }, [
      parse.input,
    ]);
    expect(scaled.input.outputs.min_count).toBe(4);
    const only = await runKind(verbsKind, { min_count: 1, drop_top: 100, only: ['run', 'kiss'], lexicon }, [
      parse.input,
    ]);
    const mined = JSON.parse(readFileSync(path.join(only.input.dir, 'verbs.json'), 'utf8')) as {
      classes: { verb: string }[];
    };
    expect(mined.classes.map((c) => c.verb)).toEqual(['run']);
    expect(only.logs.some((l) => l.includes('kiss (0)'))).toBe(true);
    await expect(runKind(verbsKind, { min_count: 1, drop_top: 0, lexicon }, [])).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
    });
    await expect(
      runKind(verbsKind, { min_count: 1, drop_top: 0, lexicon: '/no/such/lexicon' }, [parse.input]),
    ).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING', message: expect.stringMatching(/lexicon/) });
    await expect(
      runKind(
        pairsKind,
        { direction: 'nearest', max_distance: 1, tie: 'after', cross_scenes: false, val_fraction: 0.2, lexicon },
        [parse.input],
      ),
    ).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });

  it('splits by a folder of validation screenplays', async () => {
    const corpus = makeCorpus();
    const valDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'exp-val-')), 'val');
    mkdirSync(valDir);
    writeFileSync(path.join(valDir, 'ghost-train.html'), 'x');
    const parse = await runKind(parseKind, { corpus });
    const verbs = await runKind(verbsKind, { min_count: 1, drop_top: 0, lexicon }, [parse.input]);
    const pairs = await runKind(
      pairsKind,
      {
        direction: 'after',
        max_distance: 3,
        tie: 'after',
        cross_scenes: false,
        val_fraction: 0.5,
        val_dir: valDir,
        lexicon,
      },
      [parse.input, verbs.input],
    );
    expect(pairs.input.outputs.movies).toEqual({ train: 3, val: 1 });
    // Without the verbs.mine action-verbs file, pairs.build tags the directions itself: same pairs.
    const { action_verbs_file: _dropped, ...outputs } = verbs.input.outputs;
    const retagged = await runKind(
      pairsKind,
      {
        direction: 'after',
        max_distance: 3,
        tie: 'after',
        cross_scenes: false,
        val_fraction: 0.5,
        val_dir: valDir,
        lexicon,
      },
      [parse.input, { ...verbs.input, outputs }],
    );
    const read = (r: Ran): string => readFileSync(path.join(r.input.dir, 'pairs.jsonl'), 'utf8');
    expect(read(retagged)).toBe(read(pairs));
    expect(read(pairs).length).toBeGreaterThan(100);
  });
});

describe('stage kind schemas', () => {
  it.each([parseKind, verbsKind, pairsKind])(
    '$name mirrors schemas/stages/<name>.schema.json byte for byte',
    (kind) => {
      const file = path.join(repoRoot, 'schemas/stages', `${kind.name}.schema.json`);
      expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
      const props = (kind.paramsSchema as { properties: Record<string, { description?: string }> }).properties;
      for (const [k, v] of Object.entries(props)) expect(v.description, k).toBeTruthy();
      expect(kind.paramsSchema.additionalProperties).toBe(false);
    },
  );
});
