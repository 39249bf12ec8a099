// The rooms of docs/ARCHITECTURE.md and what each may import, checked on the source: a new import
// across a wall fails here, naming the file and the import.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

const src = path.join(repoRoot, 'src');
const LEAVES = new Set([
  'errors',
  'children',
  'process-identity',
  'error-codes',
  'errors-doc',
  'canonical',
  'atomic',
  'version',
  'random',
  'sentences',
]);
const ENGINE = ['spec', 'plan', 'exec', 'store', 'track'];
const DOMAIN = ['screenplay', 'captions', 'text', 'video', 'ml', 'demo'];

/** Rooms each room may import (besides itself and the leaf modules). */
const ALLOWED: Record<string, string[]> = {
  spec: [],
  plan: ['spec'], // types only: checked below
  exec: ['plan', 'store'],
  store: [],
  track: [],
  run: [...ENGINE, 'stages'],
  cli: ['*'],
  stages: ['plan', ...DOMAIN],
  screenplay: [],
  captions: [],
  text: ['screenplay', 'ml'],
  video: ['captions', 'text', 'ml'],
  ml: [],
  demo: ['screenplay', 'captions'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [full] : [];
  });
}

function roomOf(file: string): string {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length === 1 ? `leaf:${rel[0]!.replace(/\.ts$/, '')}` : rel[0]!;
}

describe('architecture', () => {
  it('every import stays inside what its room may touch', () => {
    const problems: string[] = [];
    for (const file of sources(src)) {
      const from = roomOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
        const target = path.resolve(path.dirname(file), m[3]!);
        if (!target.startsWith(src + path.sep)) {
          problems.push(`${path.relative(repoRoot, file)} imports ${m[3]} outside src/`);
          continue;
        }
        const to = roomOf(target);
        if (to === from || to.startsWith('leaf:')) {
          if (to.startsWith('leaf:') && !LEAVES.has(to.slice(5)))
            problems.push(`${path.relative(repoRoot, file)} imports ${m[3]}: not a declared leaf module`);
          continue;
        }
        if (from.startsWith('leaf:')) {
          problems.push(`${path.relative(repoRoot, file)} (a leaf module) imports ${m[3]}`);
          continue;
        }
        const allowed = ALLOWED[from];
        if (!allowed) {
          problems.push(`${path.relative(repoRoot, file)}: room "${from}" is not in docs/ARCHITECTURE.md`);
          continue;
        }
        if (allowed.includes('*')) continue;
        if (!allowed.includes(to)) problems.push(`${path.relative(repoRoot, file)} (${from}) imports ${m[3]} (${to})`);
        else if (from === 'plan' && to === 'spec' && !m[2])
          problems.push(`${path.relative(repoRoot, file)} (plan) imports values from spec: types only`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('nothing imports the CLI, and no engine room imports a Speech2Action room', () => {
    for (const file of sources(src)) {
      const from = roomOf(file);
      if (from === 'cli') continue;
      const text = readFileSync(file, 'utf8');
      expect(text, path.relative(repoRoot, file)).not.toMatch(/from '[^']*\/cli\//);
      if (ENGINE.includes(from))
        expect(text, path.relative(repoRoot, file)).not.toMatch(
          new RegExp(`from '[^']*/(${[...DOMAIN, 'stages'].join('|')})/`),
        );
    }
  });
});
