import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadHmdbSplits, parseHmdbSplitFile } from './hmdb51.ts';

describe('HMDB51 split files', () => {
  it('reads `<video>.avi 1|2|0` lines (trailing space) and warns on a malformed line', () => {
    const warnings: string[] = [];
    const r = parseHmdbSplitFile(
      'a.avi 1 \nb.avi 2 \nc.avi 0 \nbroken line here\n',
      'chew',
      'chew_test_split1.txt',
      (w) => warnings.push(w),
    );
    expect(r.train).toEqual([{ video: 'a.avi', class: 'chew' }]);
    expect(r.test).toEqual([{ video: 'b.avi', class: 'chew' }]);
    expect(warnings).toEqual([expect.stringContaining('chew_test_split1.txt:4')]);
  });

  it('a folder without split files is a clear user error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hmdb-'));
    await writeFile(path.join(dir, 'readme.txt'), 'x');
    await expect(loadHmdbSplits(dir)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringContaining(dir),
    });
    await rm(dir, { recursive: true, force: true });
  });
});
