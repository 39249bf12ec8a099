// Writes schemas/stages/<kind>.schema.json from each built-in kind's paramsSchema, and the
// executors' part of schemas/experiment.schema.json (`settings.executor` and each built-in
// executor's `settings.<name>` block) from their registrations: the code is the source;
// test/engine/schemas.test.ts fails when the files drift. Run: npx tsx scripts/write-stage-schemas.ts
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtinExecutorRegistry } from '../src/exec/builtin.ts';
import { stageSchemaDocument } from '../src/plan/registry.ts';
import { withExecutors } from '../src/spec/schema.ts';
import { builtinKinds } from '../src/stages/index.ts';

for (const kind of builtinKinds) {
  const file = path.join('schemas/stages', `${kind.name}.schema.json`);
  writeFileSync(file, `${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
const experiment = 'schemas/experiment.schema.json';
const current = JSON.parse(readFileSync(experiment, 'utf8')) as Record<string, unknown>;
writeFileSync(experiment, `${JSON.stringify(withExecutors(current, builtinExecutorRegistry()), null, 2)}\n`);
console.log(`wrote ${experiment}`);
