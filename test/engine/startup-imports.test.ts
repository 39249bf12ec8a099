// `exp --help`, `exp validate` and `exp plan` start in a fraction of a second because the modules
// the CLI loads at start (the static imports reachable from src/cli/main.ts) leave out the heavy
// libraries: those are imported (`await import(...)`) in the commands and stage runs that use them.
// Checked on the source, so a new file or a new static import anywhere under src/ is covered.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

/** Packages whose load costs tens to hundreds of milliseconds (or starts native code). */
const HEAVY_PACKAGES = [
  '@tensorflow/',
  '@huggingface/',
  'onnxruntime',
  'bullmq',
  'ioredis',
  'piscina',
  'vega',
  'pngjs',
  'tsx',
  'playwright',
  'puppeteer',
];
/** Our own modules that only a running node or a remote executor needs. */
// (src/exec/bullmq.ts is no longer one: its definition is part of the executor registry the CLI
// reads, and it imports bullmq and ioredis only when a run or a worker opens a queue.)
const HEAVY_MODULES = ['src/video/ffmpeg.ts', 'src/ml/backend.ts'];

interface Graph {
  /** Each module reached, with the module that imported it first (for the chain in a failure). */
  parent: Map<string, string | undefined>;
  /** `file:line package` for each heavy package imported statically. */
  heavy: string[];
}

/** The static (not `await import()`, not `import type`) import graph from `entry`, within the repo. */
function staticGraph(entry: string): Graph {
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const heavy: string[] = [];
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift()!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^[ \t]*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)) {
      const spec = m[1]!;
      const line = text.slice(0, m.index).split('\n').length;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (!existsSync(target) || parent.has(target)) continue;
        parent.set(target, file);
        queue.push(target);
      } else if (HEAVY_PACKAGES.some((p) => spec === p || spec.startsWith(p.endsWith('/') ? p : `${p}/`))) {
        heavy.push(`${path.relative(repoRoot, file)}:${line} imports ${spec}`);
      }
    }
  }
  return { parent, heavy };
}

function chain(g: Graph, file: string): string {
  const steps: string[] = [];
  for (let f: string | undefined = file; f; f = g.parent.get(f)) steps.unshift(path.relative(repoRoot, f));
  return steps.join(' → ');
}

// What every command loads: the CLI's own modules, then (validate, plan, run, kinds, ...) the stage
// kinds' declarations. Neither may pull in a heavy library or a node-only module statically.
const ENTRIES = ['src/cli/main.ts', 'src/stages/index.ts'];

describe.each(ENTRIES)('what %s loads statically', (entryFile) => {
  const g = staticGraph(path.join(repoRoot, entryFile));

  it('imports no heavy package statically (tfjs, transformers, bullmq, ioredis, piscina, vega, pngjs, tsx)', () => {
    const problems = g.heavy.map((h) => {
      const file = path.join(repoRoot, h.slice(0, h.indexOf(':')));
      return `${h}\n    via ${chain(g, file)}\n    → import it where it is used: const { x } = await import('...')`;
    });
    expect(problems).toEqual([]);
  });

  it('reaches none of the modules only a running node needs (ffmpeg, the tfjs backend, remote executors)', () => {
    const reached = HEAVY_MODULES.map((m) => path.join(repoRoot, m)).filter((m) => g.parent.has(m));
    expect(reached.map((m) => chain(g, m))).toEqual([]);
  });
});

describe('the import graph checker', () => {
  it('follows the imports it checks (a pattern that missed imports would make the tests above pass on nothing)', () => {
    const reached = (entry: string) =>
      [...staticGraph(path.join(repoRoot, entry)).parent.keys()].map((f) => path.relative(repoRoot, f));
    expect(reached('src/cli/main.ts')).toContain('src/cli/commands/engine.ts');
    expect(reached('src/stages/index.ts')).toContain('src/stages/video-train.ts');
    // and it does see a heavy import where there is one
    expect(staticGraph(path.join(repoRoot, 'src/ml/backend.ts')).heavy.join('\n')).toContain('@tensorflow/tfjs');
  });
});
