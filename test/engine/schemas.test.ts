// The params schema of every built-in stage kind lives in code and is mirrored in
// schemas/stages/<kind>.schema.json for editors and users; this keeps the two equal.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { builtinKinds } from '../../src/stages/index.ts';
import { repoRoot } from '../helpers/repo.ts';
import { stageSchemaDocument } from '../../src/plan/registry.ts';
import { builtinExecutorRegistry } from '../../src/exec/builtin.ts';
import { withExecutors } from '../../src/spec/schema.ts';

const dir = path.join(repoRoot, 'schemas/stages');

describe('stage schemas', () => {
  it('registers the Speech2Action kinds', () => {
    const names = builtinKinds.map((k) => k.name).sort();
    for (const expected of [
      'screenplay.parse',
      'verbs.mine',
      'pairs.build',
      's2a.train',
      's2a.evaluate',
      'captions.mine',
      'clips.extract',
      'video.train',
      'video.finetune',
      'video.evaluate',
      'demo.world',
    ]) {
      expect(names).toContain(expected);
    }
  });

  for (const kind of builtinKinds) {
    it(`${kind.name}: schema file equals the code (run npx tsx scripts/write-stage-schemas.ts)`, () => {
      const file = path.join(dir, `${kind.name}.schema.json`);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
    });
    it(`${kind.name}: schema compiles, closes its keys, documents every param, and its defaults validate`, () => {
      const schema = kind.paramsSchema as {
        type?: string;
        additionalProperties?: boolean;
        properties?: Record<string, { description?: string }>;
      };
      expect(schema.type).toBe('object');
      expect(schema.additionalProperties).toBe(false);
      for (const [key, prop] of Object.entries(schema.properties ?? {}))
        expect(prop.description, `${kind.name}.${key}`).toBeTruthy();
      const ajv = new Ajv2020({ useDefaults: true, strict: false, allErrors: true });
      const validate = ajv.compile(kind.paramsSchema);
      const params = {};
      // Kinds whose required params have no default are checked by their own tests.
      if (!(kind.paramsSchema.required as string[] | undefined)?.length)
        expect(validate(params), JSON.stringify(validate.errors)).toBe(true);
    });
  }

  it('experiment.schema.json knows the built-in executors as they register (run npx tsx scripts/write-stage-schemas.ts)', () => {
    const file = path.join(repoRoot, 'schemas/experiment.schema.json');
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(readFileSync(file, 'utf8')).toBe(
      `${JSON.stringify(withExecutors(onDisk, builtinExecutorRegistry()), null, 2)}\n`,
    );
    const settings = (onDisk.properties as Record<string, { properties: Record<string, { enum?: string[] }> }>)
      .settings!;
    expect(settings.properties.executor!.enum).toEqual(['local', 'slurm', 'bullmq']);
  });

  it('has no schema file without a kind', () => {
    const names = new Set(builtinKinds.map((k) => `${k.name}.schema.json`));
    for (const f of readdirSync(dir)) expect(names.has(f), f).toBe(true);
  });
});
