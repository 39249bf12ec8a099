import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/repo.ts';
import { captionsCommand } from './captions.ts';

function capture(): {
  io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } };
  out: () => string;
  err: () => string;
} {
  let o = '';
  let e = '';
  return {
    io: {
      stdout: {
        write: (s: string) => {
          o += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          e += s;
          return true;
        },
      },
    },
    out: () => o,
    err: () => e,
  };
}

describe('exp captions parse', () => {
  it('prints cues and sentences as JSON', async () => {
    const c = capture();
    const code = await captionsCommand(
      ['parse', path.join(repoRoot, 'test/fixtures/captions/short.sbv'), '--json'],
      c.io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(c.out())).toEqual({
      cues: 2,
      sentences: [
        { text: 'First line second line.', start: 1, end: 2.5 },
        { text: 'Third.', start: 3, end: 4 },
      ],
    });
  });
  it('reports a missing file with its name and a non-zero exit code', async () => {
    const c = capture();
    // a file name that starts with a dash comes after `--`, as in every command
    expect(await captionsCommand(['parse', '--json', '--', '-missing file.srt'], c.io)).toBe(1);
    expect(c.err()).toMatch(/EXP_INPUT_MISSING.*-missing file\.srt/);
    expect(c.out()).toBe('');
  });
  it('rejects unknown subcommands and options', async () => {
    const c = capture();
    expect(await captionsCommand(['frobnicate'], c.io)).toBe(2);
    expect(await captionsCommand(['parse', 'x.srt', '--jsn'], c.io)).toBe(2);
    expect(c.err()).toMatch(/Unknown option '--jsn'[\s\S]*did you mean --json\?/);
    expect(await captionsCommand(['parse', 'x.srt', '--format', 'svb'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--format "svb" is not one of srt, vtt, sbv[\s\S]*did you mean --format sbv\?/);
  });
});
