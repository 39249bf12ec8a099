// Generated hostile input (issue 14): seeded random command lines and spec mutations. Whatever
// goes in, `exp` ends with 0, 1 or 2, prints no stack trace, and changes nothing under the runs
// folder when it refuses the input (exit 2). The seed is printed with each failing case; try
// more with GEN_SEED=n GEN_CASES=n.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const STACK = /\n\s+at .*[(:]\d+/;
const SEED = Number(process.env.GEN_SEED ?? 14);
const CASES = Number(process.env.GEN_CASES ?? 40);

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      out.push(`${path.relative(dir, p)} ${statSync(p).size} ${statSync(p).mtimeMs}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Values a hostile user types: empty, negative, non-finite, huge, paths that are not what they seem. */
const HOSTILE = [
  '',
  '-1',
  '0',
  '1.5',
  '1e400',
  '-1e309',
  '.inf',
  '.nan',
  'x',
  '99999999999',
  '/etc',
  '/dev/null',
  'a'.repeat(300),
  '[]',
  '{}',
  'null',
  '*nope',
  '&a',
  '${nope}',
  '${env:NOPE}',
  'true',
  '"7"',
  '[1, 2, 3]',
];
/** Values that keep a run short (sleep_ms stays small). */
const SCALARS = ['1', '2', '0', '-1', '1e400', '.nan', 'x', 'null', 'true', '[]', '{}', '[1, 2]', '${vars.nope}', '*a'];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/** grid.yaml with one to three lines mutated: a value replaced, a line dropped or duplicated. */
function mutateSpec(rand: () => number, text: string): string {
  const lines = text.split('\n');
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(rand() * lines.length);
    const line = lines[i]!;
    const what = rand();
    if (what < 0.6 && /:\s*\S/.test(line) && !line.includes('sleep_ms')) {
      lines[i] = line.replace(/:\s*.*$/, `: ${pick(rand, SCALARS)}`);
    } else if (what < 0.8) {
      lines.splice(i, 1);
    } else {
      lines.splice(i, 0, line);
    }
  }
  return lines.join('\n');
}

describe('generated hostile input', () => {
  it(`${CASES} seeded command lines and spec mutations: exit 0/1/2, no stack trace, nothing changed on exit 2`, async () => {
    const rand = mulberry32(SEED);
    const work = mkdtempSync(path.join(os.tmpdir(), 'exp-generated-'));
    const runs = path.join(work, 'runs');
    const first = await runExp(['run', grid, '--runs', runs, '--quiet', '--no-track'], {
      ...process.env,
      EXP_PLUGINS: plugin,
    });
    expect(first.code).toBe(0);
    const aFile = path.join(work, 'notes.txt');
    writeFileSync(aFile, 'a file\n');
    const binary = path.join(work, 'clip.mp4');
    writeFileSync(binary, Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0xff]));
    mkdirSync(path.join(work, 'folder'));
    const gridText = readFileSync(grid, 'utf8');

    for (let n = 0; n < CASES; n++) {
      let spec: string;
      const s = rand();
      if (s < 0.55) {
        spec = path.join(work, `mutant-${n}.yaml`);
        writeFileSync(spec, mutateSpec(rand, gridText));
      } else {
        spec = pick(rand, [
          grid,
          binary,
          path.join(work, 'folder'),
          path.join(work, 'missing.yaml'),
          aFile,
          '/dev/null',
          '',
        ]);
      }
      const command = pick(rand, ['validate', 'plan', 'run', 'run', 'ls', 'show', 'gc']);
      const argv = [command];
      if (['validate', 'plan', 'run'].includes(command)) argv.push(spec);
      if (command === 'show') argv.push(pick(rand, ['nope', '', '-1']));
      const options = Math.floor(rand() * 3);
      for (let o = 0; o < options; o++) {
        const option = pick(rand, [
          '--jobs',
          '-j',
          '--retry',
          '--grace',
          '--set',
          '--rerun',
          '--runs',
          '--gpus',
          '--nope',
          '--force',
        ]);
        if (option === '--force') argv.push(option);
        else if (option === '--set')
          argv.push(
            option,
            `${pick(rand, ['mid.value', 'top.value', 'settings.seed', 'settings.jobs', 'settings.max_points', 'base.sleep_ms', 'nope.x'])}=${pick(rand, HOSTILE)}`,
          );
        else
          argv.push(
            option,
            option === '--runs' ? pick(rand, [aFile, '', path.join(aFile, 'x'), runs]) : pick(rand, HOSTILE),
          );
      }
      if (!argv.includes('--runs')) argv.push('--runs', runs);
      if (command === 'run') argv.push('--quiet', '--no-track');
      if (command === 'gc') argv.push('--dry-run');
      const before = snapshot(runs);
      const r = await runExp(argv, { ...process.env, EXP_PLUGINS: plugin, EXP_DEBUG: '' });
      const label = `case ${n} (seed ${SEED}): exp ${argv.map((a) => JSON.stringify(a)).join(' ')}\n${r.err}`;
      expect([0, 1, 2], label).toContain(r.code);
      expect(r.err, label).not.toMatch(STACK);
      expect(r.err, label).not.toContain('unexpected error');
      if (r.code === 2) expect(snapshot(runs), label).toEqual(before);
    }
  }, 240_000);
});
