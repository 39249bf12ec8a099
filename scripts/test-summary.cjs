// Prints vitest's JSON report as one line, `tests: N passed, N failed, N skipped`, and fails when
// anything failed or was skipped: in this project no test may skip itself.
const fs = require('node:fs');
const file = process.argv[2];
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
if (r.numFailedTests > 0 || skipped > 0 || r.success === false) process.exit(1);
