// `exp init [DIR]`: a starter project in a folder of the user's: the paper's specs (experiments/,
// with the quickstart and the shared base), the tiny random BERT the BERT spec defaults to, a short
// README and a .gitignore for runs/. Never overwrites a file unless --force.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpError } from '../../errors.ts';
import { parseCommand, type CommandSpec } from '../args.ts';
import type { Io } from './engine.ts';

export const initSpec: CommandSpec = {
  name: 'init',
  usage: 'init [DIR] [--force]',
  summary: "Start a project in DIR (default: here): the quickstart and the paper's specs, a README.",
  description:
    'Writes experiments/ (quickstart.yaml, ava_fewshot.yaml, hmdb51.yaml, s2a_text.yaml, s2a_bert.yaml and\n' +
    'base/speech2action.yaml), models/tiny-bert (the tiny random BERT s2a_bert.yaml uses by default), README.md\n' +
    'and .gitignore. Stops without writing anything when one of these files exists, unless --force.',
  options: [{ name: 'force', type: 'boolean', description: 'overwrite files of the same name' }],
  examples: ['exp init my-study && cd my-study && exp run experiments/quickstart.yaml', 'exp init --force'],
  success: 'the project was written (the next command to type is printed)',
  errors: [],
  without: ['runs', 'plugin'],
};

// The package's root: two folders above this file, from src/cli/commands and dist/cli/commands alike.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TINY_BERT = 'test/fixtures/tiny-bert';

/** Every file under dir, relative to it. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? filesUnder(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

const README = `# My Speech2Action experiments

Made by \`exp init\`. Each file in \`experiments/\` is one experiment grid; they all extend
\`experiments/base/speech2action.yaml\` (the paper's pipeline: screenplays → verb classes →
speech/action pairs → Speech2Action classifier → mined clips → video model → AVA / HMDB51).
Without real data they run on a small synthetic world that exp generates.

    exp run experiments/quickstart.yaml      # the whole pipeline, small (about 1.5 min on 2 cores)
    exp plan experiments/ava_fewshot.yaml    # what a grid would run, and what is cached
    exp run experiments/ava_fewshot.yaml     # the paper's AVA few-shot grid
    exp show                                 # the last runs
    exp compare experiments/quickstart.yaml  # points side by side

Results go to \`runs/\`: the cache of every node, its logs, and an MLflow store
(\`mlflow ui --backend-store-uri runs/mlruns\`). Real data: set the \`data.*\` entries, e.g.
\`exp run experiments/ava_fewshot.yaml --set data.screenplays=/data/imsdb --set data.movies=/data/movies\`.
\`exp doctor\` says which TensorFlow backend, ffmpeg and GPUs exp will use.
`;

export async function initCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(initSpec, argv);
  if (positionals.length > 1)
    throw new ExpError('EXP_ARGS_INVALID', `exp init takes one folder, got ${positionals.length}`, {
      hint: 'exp init [DIR]',
    });
  const cwd = io.cwd ?? process.cwd();
  const target = path.resolve(cwd, positionals[0] ?? '.');
  if (existsSync(target) && !statSync(target).isDirectory())
    throw new ExpError('EXP_ARGS_INVALID', `exp init: ${target} exists and is not a folder`, {
      hint: 'give a new or existing folder',
    });

  const writes = new Map<string, Buffer | string>();
  const experiments = path.join(packageRoot, 'experiments');
  for (const rel of filesUnder(experiments)) {
    let text = readFileSync(path.join(experiments, rel), 'utf8');
    // The BERT spec points at the tiny BERT in the repository's test fixtures; here it has its own copy.
    text = text.replaceAll(`../${TINY_BERT}`, '../models/tiny-bert').replaceAll(TINY_BERT, 'models/tiny-bert');
    writes.set(path.join('experiments', rel), text);
  }
  const bert = path.join(packageRoot, TINY_BERT);
  if (existsSync(bert))
    for (const rel of filesUnder(bert))
      writes.set(path.join('models/tiny-bert', rel), readFileSync(path.join(bert, rel)));
  writes.set('README.md', README);
  writes.set('.gitignore', 'runs/\n');

  const existing = [...writes.keys()].filter((rel) => existsSync(path.join(target, rel)));
  if (existing.length && !values.force)
    throw new ExpError(
      'EXP_ARGS_INVALID',
      `exp init: ${existing.length} file(s) already in ${target}: ${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}`,
      { hint: 'pass --force to overwrite them, or give another folder: exp init DIR' },
    );
  for (const [rel, content] of writes) {
    mkdirSync(path.dirname(path.join(target, rel)), { recursive: true });
    writeFileSync(path.join(target, rel), content);
  }
  const shown = path.relative(cwd, target) || '.';
  io.stdout.write(
    `✓ a project in ${target}: experiments/ (${[...writes.keys()].filter((k) => k.startsWith('experiments')).length} specs), models/tiny-bert, README.md, .gitignore\n` +
      `  next: ${shown === '.' ? '' : `cd ${shown} && `}exp run experiments/quickstart.yaml\n`,
  );
  return 0;
}
