// Writes schemas/stages/<kind>.schema.json from each built-in kind's paramsSchema (the code is
// the source; test/engine/schemas.test.ts fails when the files drift). Run: npx tsx scripts/write-stage-schemas.ts
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtinKinds } from '../src/stages/index.ts';
import { stageSchemaDocument } from '../src/plan/registry.ts';

for (const kind of builtinKinds) {
  const file = path.join('schemas/stages', `${kind.name}.schema.json`);
  writeFileSync(file, `${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
