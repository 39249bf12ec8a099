// experiments/s2a_bert.yaml runs unchanged on a CPU with the tiny BERT fixture (small world and
// one epoch set from the command line, as a user would): frozen BERT, fine-tuned BERT, n-gram.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-s2a-bert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('experiments/s2a_bert.yaml', () => {
  it('runs the frozen / fine-tuned / n-gram grid on the tiny BERT on a CPU', async () => {
    const spec = path.join(repoRoot, 'experiments/s2a_bert.yaml');
    const small = [
      'world.screenplays=30',
      'world.movies=1',
      'world.movie_seconds=20',
      'world.ava_keyframes=8',
      'world.ava_video_seconds=8',
      'world.hmdb_per_class=3',
      's2a.epochs=1',
      's2a.finetune_learning_rate=0.001',
      's2a.checkpoint_every=10',
    ].flatMap((s) => ['--set', s]);
    const r = await runExp([
      'run',
      spec,
      ...small,
      '--runs',
      path.join(dir, 'runs'),
      '--json',
      '--quiet',
      '--no-track',
    ]);
    expect(r.code, r.err).toBe(0);
    const result = r.json<{ points: { params: Record<string, unknown>; metrics: Record<string, number> }[] }>();
    expect(result.points).toHaveLength(3);
    for (const p of result.points) expect(p.metrics['s2a.mean_ap'], JSON.stringify(p.params)).toBeGreaterThan(0);
    // one s2a.train node fine-tuned the encoder and saved it (s2a.evaluate loaded it from there)
    const cache = path.join(dir, 'runs/cache/s2a.train');
    const modes = readdirSync(cache).map((key) => {
      const manifest = JSON.parse(readFileSync(path.join(cache, key, 'model/classifier.json'), 'utf8')) as {
        encoder: { kind: string; bert?: { finetune?: { mode: string } } };
      };
      const mode = manifest.encoder.bert?.finetune?.mode ?? 'frozen';
      if (mode === 'full') expect(existsSync(path.join(cache, key, 'model/encoder.safetensors'))).toBe(true);
      return `${manifest.encoder.kind}:${mode}`;
    });
    expect(modes.sort()).toEqual(['bert:frozen', 'bert:full', 'ngram:frozen']);
  }, 120_000);
});
