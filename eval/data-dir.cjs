// Where `make eval` finds the real data: $EXP_DATA, else the `shared/data` folder beside the
// checkout (where the project's developers keep it). Plain CommonJS so that the Makefile can
// check it before anything is installed; eval/data-dir.ts re-exports it with types.
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..');
/** The folders the eval checks read; the missing ones are named in the error. */
const REQUIRED = ['screenplays', 'screenplay_parse_gold', 'subtitles', 'ava', 'hmdb51', 'videos', 'bert'];

function dataDirFromEnv(env = process.env) {
  return env.EXP_DATA ? path.resolve(env.EXP_DATA) : path.resolve(repoRoot, '..', 'shared', 'data');
}

/** undefined when the folder is usable, else what is wrong and what to set. */
function checkDataDir(dir) {
  const how = `set EXP_DATA to the folder holding ${REQUIRED.map((d) => `${d}/`).join(', ')} (e.g. make eval EXP_DATA=/data/s2a)`;
  if (!fs.existsSync(dir)) return `eval data not found at ${dir}: ${how}`;
  if (!fs.statSync(dir).isDirectory()) return `eval data ${dir} is not a folder: ${how}`;
  const missing = REQUIRED.filter((d) => !fs.existsSync(path.join(dir, d)));
  if (missing.length) return `eval data at ${dir} lacks ${missing.join(', ')}: ${how}`;
  return undefined;
}

module.exports = { repoRoot, REQUIRED, dataDirFromEnv, checkDataDir };

if (require.main === module) {
  const dir = dataDirFromEnv();
  const problem = checkDataDir(dir);
  if (problem) {
    console.error(`✖ [EXP_EVAL_DATA_MISSING] ${problem}`);
    process.exit(2);
  }
  console.log(`eval data: ${dir}`);
}
