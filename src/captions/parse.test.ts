import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import { parseCaptionBytes, readCaptionFile } from './read.ts';
import { parseCaptions } from './parse.ts';
import { stripMarkup } from './markup.ts';
import { parseTimestamp } from './timestamps.ts';

const fixture = (name: string): string => path.join(repoRoot, 'test/fixtures/captions', name);

describe('timestamps and markup', () => {
  it('reads SRT, VTT and SBV times, with or without hours', () => {
    expect(parseTimestamp('01:02:03,250')).toBeCloseTo(3723.25);
    expect(parseTimestamp('02:03.5')).toBeCloseTo(123.5);
    expect(parseTimestamp('0:00:13.f89')).toBeNaN();
    expect(parseTimestamp('00:61:00,000')).toBeNaN();
  });
  it('removes tags but keeps text that only looks like one', () => {
    expect(stripMarkup('<font color="#0000FF">blue</font> <i>it</i>')).toBe('blue it');
    expect(stripMarkup('{\\an8}top &amp; <00:19.000><c.colorE5E5E5>amore</c>')).toBe('top & amore');
    expect(stripMarkup('2<3,5>1,4<6')).toBe('2<3,5>1,4<6');
  });
});

describe('our fixtures', () => {
  it('reads CRLF SRT with tags and a missing index', async () => {
    const t = await readCaptionFile(fixture('spans.srt'));
    expect(t.format).toBe('srt');
    expect(t.cues).toHaveLength(5);
    expect(t.cues[0]).toEqual({ start: 1, end: 3, text: 'I was going to...' });
    expect(t.cues[3]!.text).toBe('- Drive!\n- Where to?');
    expect(t.warnings).toEqual([]);
  });
  it('reads WebVTT with comments, identifiers, voices, settings and entities', async () => {
    const t = await readCaptionFile(fixture('voices.vtt'));
    expect(t.cues.map((c) => c.text)).toEqual(['Hello there, Mr. Smith.', 'Phone & keys [door slams]']);
    expect(t.cues[0]!.start).toBe(1);
  });
  it('reads SBV with multi-line cues', async () => {
    const t = await readCaptionFile(fixture('short.sbv'));
    expect(t.cues).toEqual([
      { start: 1, end: 2.5, text: 'First line\nsecond line.' },
      { start: 3, end: 4, text: 'Third.' },
    ]);
  });
  it('falls back to cp1252 and sniffs UTF-16 without a BOM', async () => {
    const a = await readCaptionFile(fixture('cp1252.srt'));
    expect(a.encoding).toBe('cp1252');
    expect(a.cues[0]!.text).toBe('Café ’naïve’ — résumé.');
    const b = await readCaptionFile(fixture('utf16-nobom.srt'));
    expect(b.encoding).toBe('utf-16le');
    expect(b.cues[0]!.text).toBe('Hello from UTF-16.');
  });
  it('names a missing file in an ExpError and warns on an empty one', async () => {
    await expect(readCaptionFile(fixture('nope.srt'))).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringContaining('nope.srt'),
    });
    const t = parseCaptionBytes(new Uint8Array(0), 'x.srt');
    expect(t.cues).toEqual([]);
    expect(t.warnings[0]!.message).toMatch(/empty/);
  });
  it('skips a broken cue with a warning naming its line and keeps the rest', () => {
    const r = parseCaptions(
      '1\n00:00:01,000 --> 00:00:0x,000\nbad\n\n2\n00:00:03,000 --> 00:00:02,000\nbackwards\n\n3\n00:00:04,000 --> 00:00:05,000\ngood\n',
      'srt',
    );
    expect(r.cues).toEqual([{ start: 4, end: 5, text: 'good' }]);
    expect(r.warnings.map((w) => w.line)).toEqual([2, 6]);
    expect(r.warnings[1]!.message).toMatch(/before it starts/);
  });
  it('starts a new cue at a timing line even without a blank line before it', () => {
    const r = parseCaptions(
      '1\n00:00:01,000 --> 00:00:02,000\nfirst\n2\n00:00:03,000 --> 00:00:04,000\nsecond\n',
      'srt',
    );
    expect(r.cues.map((c) => c.text)).toEqual(['first', 'second']);
  });
});
