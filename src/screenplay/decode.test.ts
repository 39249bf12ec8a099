import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeScreenplayBytes } from './decode.ts';
import { readScreenplayFile, movieIdFromFile, listScreenplayFiles } from './files.ts';

const text = 'INT. ROOM - DAY\n\nShe smiles \u2014 \u201cfine.\u201d\n';

describe('decodeScreenplayBytes', () => {
  it('reads UTF-8 with and without a BOM', () => {
    expect(decodeScreenplayBytes(Buffer.from(text, 'utf8'))).toEqual({ ok: true, text, encoding: 'utf-8' });
    expect(decodeScreenplayBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toMatchObject({
      ok: true,
      text,
    });
  });

  it('reads UTF-16 LE and BE, with or without a BOM', () => {
    const le = Buffer.from(text, 'utf16le');
    expect(decodeScreenplayBytes(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toMatchObject({
      ok: true,
      text,
      encoding: 'utf-16le',
    });
    expect(decodeScreenplayBytes(le)).toMatchObject({ ok: true, text, encoding: 'utf-16le' });
    const be = Buffer.from(le);
    be.swap16();
    expect(decodeScreenplayBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toMatchObject({
      ok: true,
      text,
      encoding: 'utf-16be',
    });
    expect(decodeScreenplayBytes(be)).toMatchObject({ ok: true, text, encoding: 'utf-16be' });
  });

  it('falls back to Windows-1252 for smart quotes that are not UTF-8', () => {
    const bytes = Buffer.from([
      ...Buffer.from('She says '),
      0x93,
      ...Buffer.from('hi'),
      0x94,
      0x20,
      0x97,
      0x20,
      0xe9,
      0x0a,
    ]);
    expect(decodeScreenplayBytes(bytes)).toEqual({
      ok: true,
      text: 'She says \u201chi\u201d \u2014 \u00e9\n',
      encoding: 'windows-1252',
    });
  });

  it('refuses empty, blank and binary input with a reason', () => {
    expect(decodeScreenplayBytes(Buffer.alloc(0))).toEqual({ ok: false, reason: 'empty file' });
    expect(decodeScreenplayBytes(Buffer.from('  \n\n \t'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/whitespace/),
    });
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 0, 0, 0, 7, 8, 9,
    ]);
    expect(decodeScreenplayBytes(png)).toMatchObject({ ok: false, reason: expect.stringMatching(/binary/) });
  });
});

describe('reading screenplay files', () => {
  it('names movies after their files and lists .txt/.html files in name order', () => {
    expect(movieIdFromFile("/x/'Aliens.txt")).toBe('aliens');
    expect(movieIdFromFile('/x/The Thing.html')).toBe('the-thing');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-sp-files-'));
    for (const f of ['b.txt', 'a.html', 'notes.md', 'c.htm']) writeFileSync(path.join(dir, f), text);
    expect(listScreenplayFiles(dir).map((f) => path.basename(f))).toEqual(['a.html', 'b.txt', 'c.htm']);
    expect(listScreenplayFiles(path.join(dir, 'b.txt'))).toEqual([path.join(dir, 'b.txt')]);
  });

  it('skips an HTML page that has no <pre> and no text, and a missing file, with reasons', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-sp-files-'));
    writeFileSync(path.join(dir, 'page.html'), '<html><body><script>var x = 1;</script><div></div></body></html>');
    expect(readScreenplayFile(path.join(dir, 'page.html'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/<pre>/),
    });
    expect(readScreenplayFile(path.join(dir, 'missing.txt'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/unreadable/),
    });
  });
});
