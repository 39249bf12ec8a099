import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import { loadLexicon } from './lexicon.ts';
import { mineVerbClasses, mineVerbs, scaleMinCount, VerbCounter } from './verb-classes.ts';

const lex = loadLexicon(path.join(repoRoot, 'test/fixtures/screenplay/mini-lexicon.flat'));

function counter(counts: Record<string, number>): VerbCounter {
  const c = new VerbCounter(lex);
  c.merge(counts, Object.fromEntries(Object.keys(counts).map((k) => [k, [k]])));
  return c;
}

describe('mineVerbs (§3.1)', () => {
  it('counts verbs of stage directions, grouping conjugations under the lemma', () => {
    const c = new VerbCounter(lex);
    c.addElements([
      { type: 'action', text: 'Maggie runs in. She ran out. Running!', line: 0 },
      { type: 'speech', character: 'A', extensions: [], text: 'I run.', parentheticals: [], line: 1 },
    ]);
    expect(c.counts.get('run')).toBe(3);
    expect([...c.seenForms.get('run')!].sort()).toEqual(['ran', 'running', 'runs']);
    expect(c.sentences).toBe(3);
  });

  it('drops the most frequent and the rare verbs, keeping conjugations', () => {
    const mined = mineVerbs(counter({ be: 100, run: 60, kiss: 30, point: 10, shake: 2 }), lex, {
      minCount: 5,
      dropTop: 2,
    });
    expect(mined.dropped_top).toEqual(['be', 'run']);
    expect(mined.classes.map((c) => [c.verb, c.count])).toEqual([
      ['kiss', 30],
      ['point', 10],
    ]);
    expect(mined.classes[0]!.forms).toEqual(['kiss', 'kissed', 'kisses', 'kissing']);
    expect(mined).toMatchObject({ min_count: 5, drop_top: 2 });
  });

  it('keeps listed verbs from being dropped as frequent, or restricts to a list', () => {
    const c = counter({ be: 100, run: 60, kiss: 30, point: 10 });
    expect(mineVerbs(c, lex, { minCount: 5, dropTop: 2, keep: ['run'] }).classes.map((k) => k.verb)).toEqual([
      'run',
      'kiss',
      'point',
    ]);
    expect(
      mineVerbs(c, lex, { minCount: 20, dropTop: 2, only: ['RUN', 'point', 'kiss'] }).classes.map((k) => k.verb),
    ).toEqual(['run', 'kiss']);
  });

  it('mines classes straight from element lists', () => {
    const movie = [{ type: 'action' as const, text: 'Maggie runs. She kisses him. He runs.', line: 0 }];
    const mined = mineVerbClasses([movie, movie], lex, { minCount: 3, dropTop: 0 });
    expect(mined.classes.map((c) => [c.verb, c.count])).toEqual([['run', 4]]);
    expect(mined.sentences).toBe(6);
  });

  it('scales min_count with the corpus size (paper: 50 for 1,070 scripts)', () => {
    expect(scaleMinCount(50, 309, 1070)).toBe(14);
    expect(scaleMinCount(50, 1070, 1070)).toBe(50);
    expect(scaleMinCount(50, 3, 1070)).toBe(1);
  });
});
