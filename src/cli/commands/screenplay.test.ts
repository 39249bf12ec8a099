import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/repo.ts';
import { screenplayCommand } from './screenplay.ts';

const sample = path.join(repoRoot, 'test/fixtures/screenplay/sample.txt');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await screenplayCommand(argv, { stdout, stderr });
  return { code, out, err };
}

describe('exp screenplay parse', () => {
  it('--lines prints one {"line", "tag"} per line of the file', async () => {
    const { code, out } = await run(['parse', sample, '--lines']);
    expect(code).toBe(0);
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; tag: string });
    expect(rows).toHaveLength(46);
    expect(rows[6]).toEqual({ line: 6, tag: 'S' });
    expect(rows[11]).toEqual({ line: 11, tag: 'C' });
    expect(rows.map((r) => r.line)).toEqual(rows.map((_, i) => i));
  });

  it('--elements (the default) prints the element stream as JSON lines', async () => {
    const a = await run(['parse', sample, '--elements']);
    const b = await run(['parse', sample]);
    expect(a.out).toBe(b.out);
    const elements = a.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; character?: string });
    expect(elements.filter((e) => e.type === 'speech').map((e) => e.character)).toEqual([
      'MAGGIE',
      'MAGGIE',
      'REYES',
      'CONDUCTOR',
      'MAGGIE',
    ]);
  });

  it('exits 2 for bad arguments and 1 for files it cannot read (docs/ERRORS.md), each with a message', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['tag', sample])).err).toMatch(/EXP_ARGS_INVALID.*unknown sub-command "tag"/);
    expect((await run(['prase', sample])).err).toMatch(/did you mean "exp screenplay parse"/);
    expect((await run(['parse'])).err).toMatch(/exactly one screenplay file/);
    expect((await run(['parse', sample, '--lines', '--elements'])).err).toMatch(/either --lines or --elements/);
    expect((await run(['parse', sample, '--bogus'])).code).toBe(2);
    const missing = await run(['parse', '/no/such/file.txt', '--lines']);
    expect(missing).toMatchObject({
      code: 1,
      err: expect.stringMatching(/EXP_INPUT_MISSING.*cannot read \/no\/such\/file.txt: no such file/),
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-cli-sp-'));
    writeFileSync(path.join(dir, 'x.bin'), Buffer.from([0x89, 0x50, 0, 0, 1, 2, 0, 0, 3]));
    expect(await run(['parse', path.join(dir, 'x.bin')])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/binary/),
    });
    expect((await run(['parse', dir])).err).toMatch(/is a folder/);
  });

  it('prints usage with --help', async () => {
    expect(await run(['--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^Usage: exp screenplay parse/),
    });
  });
});
