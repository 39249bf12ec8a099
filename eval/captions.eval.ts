// Subtitle reading on real material: 69 movie .srt in mixed encodings, the .srt paired with the
// screenplays, and edge-case fixtures of other projects (pysrt, subtitle.js, webvtt-py).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptionFile } from '../src/captions/read.ts';
import { splitSentences } from '../src/captions/sentences.ts';
import { dataPath } from './data.ts';

describe('shared subtitle files', () => {
  const base = dataPath('subtitles');

  it('reads every movie .srt: cue counts match the manifest (empty cues warned about)', async () => {
    const rows = readFileSync(path.join(base, 'movies_srt/manifest.tsv'), 'utf8').trim().split('\n');
    const head = rows[0]!.split('\t');
    const col = (n: string): number => head.indexOf(n);
    for (const row of rows.slice(1)) {
      const f = row.split('\t');
      const file = path.join(base, 'movies_srt', f[col('file')]!);
      const t = await readCaptionFile(file);
      const empty = t.warnings.filter((w) => /no text/.test(w.message)).length;
      const counted = t.cues.length + empty;
      // The manifest counts numbered blocks; an unnumbered advert cue adds one.
      expect(Math.abs(counted - Number(f[col('cues')])), f[0]).toBeLessThanOrEqual(1);
      const enc = f[col('encoding')]!;
      const want = {
        'utf-8': 'utf-8',
        'utf-8-sig': 'utf-8-bom',
        'cp1252-or-latin1': 'cp1252',
        'utf-16-le-bom': 'utf-16le',
      }[enc];
      expect(t.encoding, f[0]).toBe(want);
      for (const c of t.cues) {
        expect(c.text).not.toMatch(/<\/?(i|b|u|font)\b/i);
        expect(c.end).toBeGreaterThan(c.start);
      }
      // No replacement character unless the file itself holds one (Patton's "G\ufffdring").
      if (!readFileSync(file).includes(Buffer.from([0xef, 0xbf, 0xbd]))) {
        expect(
          t.cues.some((c) => c.text.includes('\ufffd')),
          f[0],
        ).toBe(false);
      }
    }
  });

  it('reads every paired .srt with sentences', async () => {
    for (const f of readdirSync(path.join(base, 'paired_with_screenplays')).filter((x) => x.endsWith('.srt'))) {
      const t = await readCaptionFile(path.join(base, 'paired_with_screenplays', f));
      expect(t.cues.length, f).toBeGreaterThan(100);
      expect(
        t.cues.some((c) => c.text.includes('\ufffd')),
        f,
      ).toBe(false);
    }
  });

  it('reads the BOM / encoding variants of one file to the same cues', async () => {
    const ref = await readCaptionFile(path.join(base, 'fixtures/pysrt/bom-utf-8.srt'));
    expect(ref.cues).toHaveLength(7);
    for (const v of ['bom-utf-16-le', 'bom-utf-16-be', 'bom-utf-32-le', 'bom-utf-32-be', 'no-indexes']) {
      const t = await readCaptionFile(path.join(base, `fixtures/pysrt/${v}.srt`));
      expect(t.cues, v).toEqual(ref.cues);
    }
    const u = await readCaptionFile(path.join(base, 'fixtures/pysrt/utf-8.srt'));
    const w = await readCaptionFile(path.join(base, 'fixtures/pysrt/windows-1252.srt'));
    expect(w.encoding).toBe('cp1252');
    expect(w.cues).toEqual(u.cues);
  });

  it('gives the same cues for the SRT and VTT of the same film', async () => {
    for (const film of ['LaLaLand', 'ManOfSteel', 'WonderWoman']) {
      const s = await readCaptionFile(path.join(base, `fixtures/subtitle.js/${film}.srt`));
      const v = await readCaptionFile(path.join(base, `fixtures/subtitle.js/${film}.vtt`));
      expect(v.cues, film).toEqual(s.cues);
    }
  });

  it('handles every edge-case fixture: broken cues skipped with warnings, nothing thrown', async () => {
    const dir = path.join(base, 'fixtures/webvtt-py');
    const byName: Record<string, Awaited<ReturnType<typeof readCaptionFile>>> = {};
    for (const f of readdirSync(dir).filter((x) => /\.(srt|vtt|sbv)$/.test(x)))
      byName[f] = await readCaptionFile(path.join(dir, f));
    for (const [f, t] of Object.entries(byName)) {
      // invalid_timeframe.srt only mixes ',' and '.' before the milliseconds: read, as players do.
      if (/^(invalid|missing|empty|no_captions)/.test(f) && f !== 'invalid_timeframe.srt')
        expect(t.warnings.length, f).toBeGreaterThan(0);
      for (const c of t.cues) expect(c.text.trim(), f).not.toBe('');
    }
    expect(byName['invalid_timeframe.srt']!.cues[1]).toEqual({ start: 7, end: 11.89, text: 'Caption text #2' });
    expect(byName['empty.vtt']!.cues).toEqual([]);
    expect(byName['no_captions.vtt']!.cues).toEqual([]);
    expect(byName['invalid_format3.srt']!.cues).toEqual([]);
    expect(byName['missing_timeframe.srt']!.cues.map((c) => c.text)).not.toContain('Caption text #2');
    expect(byName['missing_caption_text.vtt']!.cues).toHaveLength(4);
    expect(byName['invalid_timeframe.vtt']!.warnings[0]!.line).toBe(6);
    expect(byName['invalid_timeframe.sbv']!.cues.map((c) => c.text)).not.toContain('Caption text #3');
    expect(byName['comments.vtt']!.cues).toHaveLength(3);
    expect(byName['comments.vtt']!.cues.map((c) => c.text).join(' ')).not.toMatch(/NOTE|translation/);
    expect(byName['styles.vtt']!.cues).toEqual([{ start: 0, end: 10, text: '- Hello world.' }]);
    expect(byName['using_identifiers.vtt']!.cues.map((c) => c.text)).not.toContain('second caption');
    expect(byName['youtube_dl.vtt']!.cues.map((c) => c.text)).toEqual([
      'yeah',
      'yeah\nwhat',
      "this will happen is I'm telling",
      "this will happen is I'm telling",
    ]);
    const tester = await readCaptionFile(path.join(base, 'fixtures/pysrt/capability_tester.srt'));
    const all = tester.cues.map((c) => c.text).join('\n');
    expect(all).not.toMatch(/<\/?(b|i|u|s|font)\b|\{\\an\d\}/);
    expect(all).toContain('2<3,5>1,4<6');
    expect(all).toContain('日本語');
    expect(tester.warnings.some((w) => w.line === 2)).toBe(true); // the zero-length hidden cue
  });
});

describe('sentences of a real film', () => {
  it('gives every sentence of a real film a span inside the film', async () => {
    const t = await readCaptionFile(dataPath('subtitles/paired_with_screenplays/forrest-gump.srt'));
    const s = splitSentences(t.cues);
    expect(s.length).toBeGreaterThan(t.cues.length * 0.8);
    const last = Math.max(...t.cues.map((c) => c.end));
    for (const x of s) {
      expect(x.end).toBeGreaterThanOrEqual(x.start);
      expect(x.end).toBeLessThanOrEqual(last + 1e-6);
      expect(x.text).toMatch(/\p{L}|\p{N}/u);
    }
  });
});
