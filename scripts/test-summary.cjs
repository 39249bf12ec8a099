// Prints vitest's JSON report as one line, `tests: N passed, N failed, N skipped`, and fails when
// anything failed or was skipped: in this project no test may skip itself.
//   node scripts/test-summary.cjs REPORT.json [VITEST_EXIT_STATUS]
// With the exit status of vitest (the Makefile passes it), a run that died without writing its
// report (killed by a signal, out of memory, a crashed pool) is explained instead of ending in
// silence: how it ended, which test files were still running, and the machine's load, from the
// timeline that test/helpers/timeline-reporter.ts keeps beside the report.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const file = process.argv[2];
const status = process.argv[3] === undefined ? undefined : Number(process.argv[3]);

function signalName(code) {
  if (!(code > 128)) return undefined;
  const n = code - 128;
  return Object.keys(os.constants.signals).find((k) => os.constants.signals[k] === n) ?? `signal ${n}`;
}

function explainDeath() {
  const timeline = path.join(path.dirname(file), 'test-timeline.log');
  const how = signalName(status) ? `was killed by ${signalName(status)}` : `exited with status ${status}`;
  console.log(`tests: vitest ${how} without writing ${file}`);
  let lines = [];
  try {
    lines = fs.readFileSync(timeline, 'utf8').trim().split('\n');
  } catch {
    console.log(`  (no timeline at ${timeline}: vitest died before its first test file)`);
    return;
  }
  const open = new Map();
  for (const l of lines) {
    const m = /MB (start|end) (\S+)/.exec(l);
    if (!m) continue;
    if (m[1] === 'start') open.set(m[2], l);
    else open.delete(m[2]);
  }
  console.log(`  test files still running: ${open.size ? [...open.keys()].join(', ') : 'none'}`);
  for (const l of [...open.values()]) console.log(`    ${l}`);
  console.log(`  last timeline lines (${timeline}):`);
  for (const l of lines.slice(-5)) console.log(`    ${l}`);
  console.log(`  now: load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, free ${Math.round(os.freemem() / 2 ** 20)} MB`);
}

let r;
try {
  r = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch {
  if (status !== undefined) explainDeath();
  else console.log(`tests: no report at ${file}`);
  process.exit(1);
}
const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
if (status !== undefined && status !== 0 && r.numFailedTests === 0) {
  console.log(`  vitest exited with status ${status}${signalName(status) ? ` (${signalName(status)})` : ''} although no test failed: see its unhandled errors above`);
}
if (r.numFailedTests > 0 || skipped > 0 || r.success === false || (status !== undefined && status !== 0)) process.exit(1);
