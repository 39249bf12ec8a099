// One error catalogue: src/error-codes.ts is the source, docs/ERRORS.md its rendering, and every
// `EXP_*` code the sources mention is in it (and every entry is thrown somewhere).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, exitCodeFor, isErrorCode } from '../../src/error-codes.ts';
import { renderErrorsDoc } from '../../src/errors-doc.ts';
import { ExpError } from '../../src/errors.ts';
import { repoRoot } from '../helpers/repo.ts';

/** `EXP_*` names that are environment variables, not error codes. */
const ENVIRONMENT_VARIABLES = new Set([
  'EXP_RUNS',
  'EXP_DEBUG',
  'EXP_ALLOW_STALE',
  'EXP_GPUS',
  'EXP_PLUGINS',
  'EXP_TF_BACKEND',
  'EXP_TF_THREADS',
  'EXP_TF_NATIVE_DIR',
  'EXP_LEXICON',
  'EXP_DATA',
  'EXP_PYTHON',
  'EXP_REDIS',
  'EXP_CLAIM_LEASE_MS',
  'EXP_CHILD_GUARD',
  'EXP_UNHOSTABLE_WARN_MS',
  // set only by tests
  'EXP_TEST_TALLY',
  'EXP_TAG',
  'EXP_OTHER',
]);

/** Folders of shipped code whose text is scanned for codes. */
const SCANNED = ['src', 'eval', 'bench', 'scripts', 'bin'];
const CATALOGUE_FILE = path.join('src', 'error-codes.ts');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.(ts|js|cjs|mjs)$/.test(entry.name)) out.push(rel);
  }
  return out;
}

function codesIn(file: string): Set<string> {
  return new Set(readFileSync(path.join(repoRoot, file), 'utf8').match(/\bEXP_[A-Z_]+\b/g) ?? []);
}

const files = SCANNED.flatMap(sourceFiles);

describe('error catalogue', () => {
  it('docs/ERRORS.md equals the render of the catalogue (run npm run errors-doc)', () => {
    expect(readFileSync(path.join(repoRoot, 'docs/ERRORS.md'), 'utf8')).toBe(renderErrorsDoc());
  });

  it('has one entry per code, each with a one-line meaning and hint and an exit code in 1..125', () => {
    const codes = ERROR_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of ERROR_CODES) {
      expect(e.code, e.code).toMatch(/^EXP_[A-Z_]+$/);
      expect(Number.isInteger(e.exit) && e.exit >= 1 && e.exit <= 125, `${e.code} exit ${e.exit}`).toBe(true);
      for (const text of [e.meaning, e.hint]) expect(text.trim().length > 0 && !text.includes('\n'), e.code).toBe(true);
    }
  });

  it('knows every EXP_* code the sources mention', () => {
    const unknown: string[] = [];
    for (const file of files) {
      for (const code of codesIn(file))
        if (!isErrorCode(code) && !ENVIRONMENT_VARIABLES.has(code)) unknown.push(`${code} (${file})`);
    }
    expect(
      unknown,
      'add these to src/error-codes.ts (or, for an environment variable, to ENVIRONMENT_VARIABLES here)',
    ).toEqual([]);
  });

  it('has no dead codes: each is used by code outside the catalogue and the tests', () => {
    const used = new Set<string>();
    for (const file of files)
      if (file !== CATALOGUE_FILE && !file.endsWith('.test.ts')) for (const code of codesIn(file)) used.add(code);
    expect(ERROR_CODES.map((e) => e.code).filter((c) => !used.has(c))).toEqual([]);
  });

  it('keeps the exit codes the CLI has always used', () => {
    for (const c of ['EXP_ARGS_INVALID', 'EXP_SPEC_INVALID', 'EXP_PLUGIN_INVALID', 'EXP_NOT_FOUND'])
      expect(exitCodeFor(c), c).toBe(2);
    for (const c of [
      'EXP_INPUT_MISSING',
      'EXP_DATA_INVALID',
      'EXP_TRACK_INVALID',
      'EXP_MODEL_MISMATCH',
      'EXP_MEDIA_UNREADABLE',
      'EXP_FFMPEG_MISSING',
      'EXP_FFMPEG_FAILED',
    ]) {
      expect(exitCodeFor(c), c).toBe(1);
    }
    expect(exitCodeFor('SOMETHING_ELSE')).toBe(1);
  });

  it('gives an ExpError the default hint of its code when the thrower gives none', () => {
    expect(new ExpError('EXP_NOT_FOUND', 'x').hint).toBe(ERROR_CODES.find((e) => e.code === 'EXP_NOT_FOUND')!.hint);
    expect(new ExpError('EXP_NOT_FOUND', 'x', { hint: 'own' }).hint).toBe('own');
    expect(new ExpError('EXP_NOT_FOUND', 'x').format()).toContain('\n  → ');
    // @ts-expect-error: a code outside the catalogue does not typecheck
    void new ExpError('EXP_NO_SUCH_CODE', 'x');
  });
});
