// The paper's finding on mining (§4.2, Table 2), asserted on a small demo world: clips mined with
// Speech2Action are labelled more precisely than clips mined by keyword spotting for polysemous
// verbs ("you missed the point", "an open question"), and S2A beats keywords in validation AP.
// Precision is measured against the world's truth: a clip is right when its caption belongs to
// the clip's class and the action happens on screen inside the clip's window.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

interface Truth {
  start: number;
  end: number;
  class?: string;
  on_screen?: boolean;
  in_window?: boolean;
}
interface Clip {
  movie: string;
  class: string;
  t_center: number;
}

function precision(clips: Clip[], truth: Map<string, Truth[]>, cls: string): { precision: number; n: number } {
  const mine = clips.filter((c) => c.class === cls);
  let right = 0;
  for (const c of mine) {
    const caps = truth.get(c.movie) ?? [];
    const cap = caps.find((t) => c.t_center >= t.start - 0.01 && c.t_center <= t.end + 0.01);
    if (cap && cap.class === cls && cap.on_screen && cap.in_window) right++;
  }
  return { precision: mine.length ? right / mine.length : 0, n: mine.length };
}

describe('findings: Speech2Action mining vs keyword spotting (demo world)', () => {
  it('S2A labels are more precise for point and open, and S2A beats keywords in AP', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-findings-'));
    const spec = path.join(dir, 'mining.yaml');
    writeFileSync(
      spec,
      [
        'name: findings-mining',
        `extends: ${JSON.stringify(path.join(repoRoot, 'experiments/base/speech2action.yaml'))}`,
        'settings: { targets: [mining] }',
        'stages:',
        '  world: { with: { seed: 3, screenplays: 50, movies: 16, movie_seconds: 120, ava_keyframes: 40, ava_video_seconds: 20, hmdb_per_class: 3 } }',
        // The paper raised the thresholds of some classes (phone, run, open) above precision 0.3.
        '  s2a_eval: { with: { target_precision: 0.5 } }',
        '  mining: { with: { max_per_class: 1000 } }',
        'matrix:',
        '  mining.method: [keyword, s2a]',
        '',
      ].join('\n'),
    );
    const runs = path.join(dir, 'runs');
    const r = await runExp(['run', spec, '--runs', runs, '--json', '--quiet', '--no-track']);
    expect(r.code, r.err).toBe(0);
    const result = r.json<{ points: { params: Record<string, string>; metrics: Record<string, number> }[] }>();
    // s2a.evaluate scores both S2A and keyword spotting; only the s2a point needs it
    const metrics = result.points.find((p) => p.params['mining.method'] === 's2a')!.metrics;
    expect(metrics['s2a.mean_ap']).toBeGreaterThan(metrics['keyword.mean_ap']! + 0.1);

    const plan = JSON.parse(
      readFileSync(path.join(runs, 'invocations', readdirOne(path.join(runs, 'invocations'))), 'utf8'),
    ) as {
      points: { assignment: Record<string, string>; nodes: Record<string, string> }[];
    };
    const worldKey = plan.points[0]!.nodes.world!;
    const manifest = JSON.parse(
      readFileSync(path.join(runs, 'cache/demo.world', worldKey, 'world/manifest.json'), 'utf8'),
    ) as {
      movies: { id: string; captions: Truth[] }[];
    };
    const truth = new Map(manifest.movies.map((m) => [m.id, m.captions]));
    const clipsOf = (method: string): Clip[] => {
      const point = plan.points.find((p) => p.assignment['mining.method'] === method)!;
      const text = readFileSync(path.join(runs, 'cache/captions.mine', point.nodes.mining!, 'clips.jsonl'), 'utf8');
      return text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Clip);
    };
    const keyword = clipsOf('keyword');
    const s2a = clipsOf('s2a');
    for (const verb of ['point', 'open']) {
      const k = precision(keyword, truth, verb);
      const s = precision(s2a, truth, verb);
      expect(k.n, `keyword clips for ${verb}`).toBeGreaterThanOrEqual(3);
      expect(s.n, `s2a clips for ${verb}`).toBeGreaterThan(3);
      expect(
        s.precision,
        `${verb}: s2a ${s.precision.toFixed(2)} (${s.n}) vs keyword ${k.precision.toFixed(2)} (${k.n})`,
      ).toBeGreaterThan(k.precision + 0.1);
    }
  }, 240_000);
});

function readdirOne(dir: string): string {
  return readdirSync(dir).filter((n) => n.endsWith('.json'))[0]!;
}
