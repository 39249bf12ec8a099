// verbs.mine's thresholds per 1,000 scripts: spec validation, `exp plan`'s note, the stage's outputs.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planNotes } from '../cli/commands/engine.ts';
import { makeRegistry } from '../cli/workspace.ts';
import { buildPlan } from '../plan/dag.ts';
import { loadSpec, SpecError } from '../spec/index.ts';
import type { NodeManifest } from '../store/store.ts';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-verbs-mine-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
// a corpus the spec loader's look inside accepts (one real screenplay)
const corpus = path.join(tmp, 'corpus');
await mkdir(corpus);
await copyFile(
  path.join(import.meta.dirname, '../../test/fixtures/screenplay/sample.txt'),
  path.join(corpus, 'sample.txt'),
);
const registry = await makeRegistry([], {});

async function spec(verbsWith: string) {
  const file = path.join(tmp, `spec-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    `name: t\nstages:\n  parse:\n    uses: screenplay.parse\n    with: { corpus: ${JSON.stringify(corpus)} }\n  verbs:\n    uses: verbs.mine\n    needs: [parse]\n    with: ${verbsWith}\n`,
  );
  return loadSpec(file, { kinds: registry, cwd: tmp, env: {} });
}

describe('verbs.mine thresholds per 1,000 scripts', () => {
  it('an absolute threshold and its scaled form together: a spec error naming the key and its line', async () => {
    const e = await spec('{ min_count: 50, min_count_per_1000_scripts: 46.7, drop_top_per_1000_scripts: 93.5 }').catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SpecError);
    const issues = (e as SpecError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'conflicting_keys',
      path: 'stages.verbs.with.min_count_per_1000_scripts',
      line: 9,
    });
    expect(issues[0]!.message).toBe(
      '"min_count" and "min_count_per_1000_scripts" cannot both be set in stages.verbs.with',
    );
  });

  it('exp plan prints the formula before the scripts are counted, the resolved values once parse ran', async () => {
    const s = await spec('{ min_count_per_1000_scripts: 46.7, drop_top_per_1000_scripts: 93.5 }');
    const plan = buildPlan(s, registry);
    const verbs = plan.nodes.find((n) => n.stage === 'verbs')!;
    const parse = plan.nodes.find((n) => n.stage === 'parse')!;
    expect(planNotes(plan, registry, { readManifest: () => undefined }).get(verbs.key)).toBe(
      'min_count 46.7 per 1000 scripts, drop_top 93.5 per 1000 scripts (resolved once the scripts are counted)',
    );
    const parsed = { kind: 'screenplay.parse', key: parse.key, outputs: { movies: 80 } } as unknown as NodeManifest;
    const notes = planNotes(plan, registry, {
      readManifest: (_kind: string, key: string) => (key === parse.key ? parsed : undefined),
    });
    expect(notes.get(verbs.key)).toBe(
      'min_count 46.7 per 1000 scripts × 80 scripts = 3.74 → 4; drop_top 93.5 per 1000 scripts × 80 scripts = 7.48 → 7',
    );
  });

  it('absolute thresholds keep their old meaning and need no default in the schema', async () => {
    const s = await spec('{ min_count: 10, drop_top: 5 }');
    const verbs = buildPlan(s, registry).nodes.find((n) => n.stage === 'verbs')!;
    expect(verbs.params).toMatchObject({ min_count: 10, drop_top: 5 });
    expect(verbs.params).not.toHaveProperty('min_count_per_1000_scripts');
  });
});
