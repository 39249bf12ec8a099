import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kindLookup } from '../../test/fixtures/spec/kinds.ts';
import { loadSpec } from './index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exp-spec-extends-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const kinds = kindLookup();

describe('extends', () => {
  it('merges a list of bases in order, the file itself last; lists are replaced and null deletes', async () => {
    writeFileSync(
      join(tmp, 'one.yaml'),
      'vars: { a: 1, b: 1, list: [1, 2] }\nstages:\n  verbs: { uses: toy.mine, with: { min_count: 3 } }\n  extra: { uses: toy.eval }\n',
    );
    writeFileSync(join(tmp, 'two.yaml'), 'vars: { b: 2, list: [3] }\nstages:\n  verbs: { with: { drop_top: 4 } }\n');
    writeFileSync(
      join(tmp, 'main.yaml'),
      'name: merged\nextends: [one.yaml, two.yaml]\nvars: { a: 3 }\nstages:\n  extra: null\n  train: { uses: toy.train, needs: [verbs], resources: { gpus: 1, memory_mb: 2048 }, retries: 2 }\n',
    );
    const spec = await loadSpec(join(tmp, 'main.yaml'), { kinds, cwd: tmp });
    const point = spec.points[0]!;
    expect(point.config.vars).toEqual({ a: 3, b: 2, list: [3] });
    expect(Object.keys(point.stages)).toEqual(['verbs', 'train']);
    expect(point.stages.verbs!.with).toEqual({ min_count: 3, drop_top: 4 });
    expect(point.stages.train!.resources).toEqual({ gpus: 1, memoryMb: 2048 });
    expect(point.stages.train!.retries).toBe(2);
    expect(spec.files.map((f) => f.slice(tmp.length + 1))).toEqual(['main.yaml', 'one.yaml', 'two.yaml']);
  });

  it('documents every key of the experiment schema', async () => {
    const { getExperimentSchema } = await import('./schema.ts');
    const missing: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      const record = schema as Record<string, unknown>;
      const props = record.properties as Record<string, unknown> | undefined;
      for (const [key, sub] of Object.entries(props ?? {})) {
        if (typeof (sub as Record<string, unknown>).description !== 'string') missing.push(`${path}.${key}`);
        walk(sub, `${path}.${key}`);
      }
      for (const key of ['additionalProperties', 'items']) walk(record[key], `${path}.${key}`);
      for (const [key, sub] of Object.entries((record.$defs as Record<string, unknown>) ?? {}))
        walk(sub, `$defs.${key}`);
    };
    walk(getExperimentSchema(), '');
    expect(missing).toEqual([]);
  });
});
