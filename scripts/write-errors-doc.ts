// Writes docs/ERRORS.md from the error catalogue in src/error-codes.ts (the code is the source;
// test/engine/errors.test.ts fails when the file drifts). Run: npm run errors-doc
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/errors-doc.ts';

const file = 'docs/ERRORS.md';
writeFileSync(file, renderErrorsDoc());
console.log(`wrote ${file}`);
