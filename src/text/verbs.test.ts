import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import { loadLexicon, lookup, parseXtagFlat, POS, VF } from './lexicon.ts';
import { SHIPPED_LEXICON } from './lexicon-path.ts';
import { findVerbs } from './verbs.ts';

const mini = loadLexicon(path.join(repoRoot, 'test/fixtures/screenplay/mini-lexicon.flat'));
const lemmas = (s: string, lex = mini): string[] => findVerbs(s, lex).map((h) => h.lemma);

describe('XTAG lexicon', () => {
  it('parses the flat format: parts of speech, verb forms, conjugations', () => {
    const lex = parseXtagFlat(
      ';;; header\nshot \t\tshot\tN 3sg#shot\tA#shoot\tV PAST STR#shoot\tV PPART STR\nshoots \t\tshoot\tV 3sg PRES\nshoot \t\tshoot\tV INF\n',
    );
    const shot = lex.entries.get('shot')!;
    expect(shot.pos & POS.N).toBeTruthy();
    expect(shot.pos & POS.A).toBeTruthy();
    expect(shot.verbs).toEqual([{ lemma: 'shoot', forms: VF.PAST | VF.PPART }]);
    expect(lex.conjugations.get('shoot')).toEqual(['shoot', 'shoots', 'shot']);
  });

  it('derives regular forms the lexicon lacks from a known verb', () => {
    const lex = parseXtagFlat('honk \t\thonk\tV INF\nhonks \t\thonk\tN 3pl\n');
    expect(lookup(lex, 'honks')!.verbs).toEqual([{ lemma: 'honk', forms: VF.S3 }]);
    expect(lookup(lex, 'honking')!.verbs).toEqual([{ lemma: 'honk', forms: VF.PROG }]);
    expect(lookup(lex, 'thinks')).toBeUndefined();
  });
});

describe('findVerbs', () => {
  it('finds present-tense verbs after names, pronouns and nouns', () => {
    expect(lemmas('Maggie runs in and checks the board.')).toEqual(['run', 'check']);
    expect(lemmas('She opens her bag and pulls out a phone.')).toEqual(['open', 'pull']);
    expect(lemmas('The conductor shakes his head and points at the door.')).toEqual(['shake', 'point']);
    expect(lemmas('Rain hammers the glass roof.')).toEqual(['hammer']);
  });

  it('reads the noun reading after a determiner or possessive', () => {
    expect(lemmas('The runs and the checks.')).toEqual([]);
    expect(lemmas("Maggie's kisses.")).toEqual([]);
  });

  it('reads sentences without a subject, -ing forms and auxiliaries', () => {
    expect(lemmas('Checks the board.')).toEqual(['check']);
    expect(lemmas('She is running, kissing the door.')).toEqual(['be', 'run', 'kiss']);
  });
});

describe('findVerbs with the shipped XTAG lexicon on hand-labelled stage directions', () => {
  it('reaches precision ≥ 0.95 and recall ≥ 0.9 (auxiliary be/have/do left out)', () => {
    const lex = loadLexicon(SHIPPED_LEXICON);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const rows = readFileSync(path.join(repoRoot, 'test/fixtures/screenplay/verb-sentences.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) {
      const [sentence, gold = ''] = row.split('\t');
      const want = new Set(gold.split(',').filter(Boolean));
      const got = new Set(lemmas(sentence!, lex).filter((l) => !['be', 'have', 'do'].includes(l)));
      for (const v of got) want.has(v) ? tp++ : fp++;
      for (const v of want) if (!got.has(v)) fn++;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    console.log(
      `verb tagger on ${rows.length} sentences: precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`,
    );
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.9);
  });
});
