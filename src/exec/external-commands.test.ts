// Every external command the executors run (sbatch, squeue, sacct, scontrol, scancel, sinfo,
// nvidia-smi) is given a timeout: a client that waits on a controller that never answers must not
// hold `exp run` in silence. Node's own children (forkChild: the workers that run nodes) are not
// external commands: their lifetime is the node's, bounded by the grace period on interrupt.
// This fails when a call without a timeout appears in src/exec/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CALL = /\b(execFileChild|execFileSyncChild|spawnChild|execFileSync|execFile|spawnSync|spawn|execSync|exec)\(/g;

/** The calls that start an external command without a timeout: "file:line name". */
function untimed(file: string, text: string): string[] {
  const out: string[] = [];
  for (let m = CALL.exec(text); m; m = CALL.exec(text)) {
    // Skip definitions and method names (`function exec(`, `.exec(` of a RegExp).
    const before = text.slice(Math.max(0, m.index - 9), m.index);
    if (/function\s*$|\.\s*$/.test(before)) continue;
    // The call's argument text, to its closing parenthesis.
    let depth = 0;
    let end = m.index + m[0].length - 1;
    for (; end < text.length; end++) {
      if (text[end] === '(') depth++;
      else if (text[end] === ')' && --depth === 0) break;
    }
    const args = text.slice(m.index + m[0].length, end);
    // A timeout option, or (slurm.ts's runner) one of its TIMEOUT budgets.
    if (!/\btimeout\b|\bTIMEOUT\.\w+/.test(args))
      out.push(`${file}:${text.slice(0, m.index).split('\n').length} ${m[1]}`);
  }
  return out;
}

describe('src/exec gives every external command a timeout', () => {
  it('recognises a call without one (and not one with)', () => {
    expect(untimed('x', "execFileChild('squeue', ['-h'], { env })")).toHaveLength(1);
    expect(untimed('x', "await exec('scancel', ids)")).toHaveLength(1);
    expect(untimed('x', "execFileSyncChild('nvidia-smi', [], { timeout: 5000 })")).toHaveLength(0);
    expect(untimed('x', "await exec('scancel', ids, TIMEOUT.cancel)")).toHaveLength(0);
    expect(untimed('x', '/x/.exec(s); async function exec(cmd) {}')).toHaveLength(0);
  });

  it('has none without one', () => {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    const found: string[] = [];
    let calls = 0;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      const text = readFileSync(path.join(dir, f), 'utf8');
      calls += [...text.matchAll(CALL)].length;
      found.push(...untimed(`src/exec/${f}`, text));
    }
    expect(calls, 'the scan found the Slurm clients').toBeGreaterThan(8);
    expect(found, 'give these commands a timeout').toEqual([]);
  });
});
