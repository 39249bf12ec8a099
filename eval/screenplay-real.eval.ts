import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataPath } from './data.ts';
import { parseScreenplay } from '../src/screenplay/parse.ts';
import type { SpeechElement } from '../src/screenplay/types.ts';

const manifest = (): { file: string; crlf: boolean; zeroIndent: number }[] =>
  readFileSync(dataPath('screenplays', 'manifest.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map((c) => ({ file: c[0]!, crlf: c[10] === '1', zeroIndent: Number(c[9]) }));

describe('real IMSDb screenplays', () => {
  it('finds speech and stage directions in scripts of every layout (every 10th script of the corpus)', () => {
    const rows = manifest();
    expect(rows.length).toBeGreaterThan(300);
    for (const row of rows.filter((_, i) => i % 10 === 0)) {
      const { elements } = parseScreenplay(readFileSync(dataPath('screenplays', row.file), 'utf8'));
      const speech = elements.filter((e) => e.type === 'speech').length;
      const actions = elements.filter((e) => e.type === 'action').length;
      expect(speech, row.file).toBeGreaterThan(100);
      expect(actions, row.file).toBeGreaterThan(50);
      // Cues are names, not sentences.
      const odd = elements.filter(
        (e): e is SpeechElement => e.type === 'speech' && /[a-z]/.test(e.character.replace(/\bMa?c(?=[A-Z])/g, '')),
      );
      expect(odd.length / speech, row.file).toBeLessThan(0.02);
    }
  });

  it('knows who talks most in Aliens', () => {
    const { elements } = parseScreenplay(readFileSync(dataPath('screenplays', 'aliens.txt'), 'utf8'));
    const byCharacter = new Map<string, number>();
    for (const e of elements)
      if (e.type === 'speech') byCharacter.set(e.character, (byCharacter.get(e.character) ?? 0) + 1);
    const top = [...byCharacter]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([c]) => c);
    expect(top).toContain('RIPLEY');
  });
});
