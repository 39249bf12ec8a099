// A plugin whose stage kind has a broken params schema is refused when it is loaded (exit 2,
// naming the kind and the problem), not when a spec first uses the kind, and never with exit 0.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-plugin-schema-'));

function plugin(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

describe('plugin params schemas', () => {
  it('exp kinds --plugin p.ts with an invalid schema exits 2, naming the kind and where the schema is wrong', async () => {
    const p = plugin(
      'p.ts',
      `export const kinds = [{
  name: 'lab.count', version: '1', description: 'counts',
  paramsSchema: { type: 'object', properties: { k: { type: 'integr' } } },
  async run() { return {}; },
}];
`,
    );
    const r = await runExp(['kinds', '--plugin', p]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /EXP_PLUGIN_INVALID.*stage kind "lab\.count" has an invalid params schema: properties\.k\.type: must be equal to one of the allowed values \(array, boolean, integer, null, number, object, string\), got "integr"/,
    );
  });

  it('a kind registered by a plugin function, and a schema that is no object, are refused too', async () => {
    const fn = plugin(
      'fn.mjs',
      `export default function (registry) {
  registry.register({ name: 'lab.fn', version: '1', description: 'x', paramsSchema: { required: 'k' }, async run() { return {}; } });
}
`,
    );
    const r = await runExp(['kinds', '--plugin', fn]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/stage kind "lab\.fn" has an invalid params schema: required: must be array/);
    const none = plugin(
      'none.mjs',
      `export const kind = { name: 'lab.none', version: '1', description: 'x', paramsSchema: 'object', async run() { return {}; } };\n`,
    );
    const n = await runExp(['validate', 'x.yaml', '--plugin', none]);
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/"lab\.none" has an invalid params schema: expected a JSON Schema object, got string/);
  });

  it('a plugin with a valid schema still loads', async () => {
    const ok = plugin(
      'ok.mjs',
      `export const kind = { name: 'lab.ok', version: '1', description: 'fine', paramsSchema: { type: 'object', properties: { k: { type: 'integer' } } }, async run() { return {}; } };\n`,
    );
    const r = await runExp(['kinds', '--plugin', ok, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ name: string }[]>().map((k) => k.name)).toContain('lab.ok');
  });
});
