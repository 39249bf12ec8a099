// The paper's findings on video (§5, Table 4), asserted on the demo world with the demo's own
// pipeline (the nodes are the same as `make demo`'s, so the figures are those of its table):
// a network pre-trained on S2A-mined clips classifies AVA clips zero-shot far above chance and
// better than one pre-trained on keyword-mined clips, and few-shot fine-tuning raises AP.
// Training is seeded end to end (shuffles, crops, initialisers, dropout), so this is repeatable.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

interface ApReport {
  mean_ap: number;
  classes: { class: string; ap: number | null; positives: number; clips: number }[];
}

describe('findings: video pre-training on mined clips (demo world)', () => {
  it('S2A-mined pre-training: zero-shot well above chance and above keyword-mined; AP rises with k', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-findings-video-'));
    const spec = path.join(dir, 'fewshot.yaml');
    writeFileSync(
      spec,
      [
        'name: findings-video',
        `extends: ${JSON.stringify(path.join(repoRoot, 'experiments/base/speech2action.yaml'))}`,
        'settings: { targets: [eval] }',
        'matrix:',
        '  mining.method: [keyword, s2a]',
        '  finetune.k: [0, 20]',
        '',
      ].join('\n'),
    );
    const runs = path.join(dir, 'runs');
    const r = await runExp(['run', spec, '--runs', runs, '--json', '--quiet', '--no-track']);
    expect(r.code, r.err).toBe(0);
    const result = r.json<{
      points: { id: string; params: Record<string, unknown>; metrics: Record<string, number> }[];
    }>();
    const map = (method: string, k: number): number =>
      result.points.find((p) => p.params['mining.method'] === method && p.params['finetune.k'] === k)!.metrics[
        'video.ava_clip_map'
      ]!;

    // Chance: the AP of a random ranking is each class's share of positive clips.
    const inv = JSON.parse(
      readFileSync(path.join(runs, 'invocations', readdirSync(path.join(runs, 'invocations'))[0]!), 'utf8'),
    ) as {
      points: { nodes: Record<string, string> }[];
    };
    const report = JSON.parse(
      readFileSync(path.join(runs, 'cache/video.evaluate', inv.points[0]!.nodes.eval!, 'ap.json'), 'utf8'),
    ) as ApReport;
    const scored = report.classes.filter((c) => c.positives > 0);
    const chance = scored.reduce((s, c) => s + c.positives / c.clips, 0) / scored.length;

    const figures = `chance ${chance.toFixed(3)}; keyword k0 ${map('keyword', 0).toFixed(3)} k20 ${map('keyword', 20).toFixed(3)}; s2a k0 ${map('s2a', 0).toFixed(3)} k20 ${map('s2a', 20).toFixed(3)}`;
    expect(map('s2a', 0), figures).toBeGreaterThan(2 * chance);
    expect(map('s2a', 0), figures).toBeGreaterThan(map('keyword', 0));
    expect(map('s2a', 20), figures).toBeGreaterThan(map('s2a', 0));
    expect(map('keyword', 20), figures).toBeGreaterThan(map('keyword', 0));
  }, 2_400_000);
});
