import { describe, expect, it } from 'vitest';
import { dataPath } from './data.ts';
import { scoreAgainstGold } from '../src/screenplay/gold.ts';

describe('line tags against the MICA gold (screenplay_parse_gold)', () => {
  it('tags at least 97 % of the non-O gold lines correctly', () => {
    const r = scoreAgainstGold(dataPath('screenplay_parse_gold', 'mica'));
    const perTag = Object.entries(r.perTag)
      .map(([t, v]) => `${t} ${(100 * v.accuracy).toFixed(1)}% (${v.lines})`)
      .join(', ');
    console.log(`gold accuracy ${(100 * r.accuracy).toFixed(2)}% of ${r.lines} lines; per tag: ${perTag}`);
    expect(r.lines).toBeGreaterThan(5000);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.97);
    // Every tag the gold uses is found most of the time (no tag left to chance).
    for (const [tag, v] of Object.entries(r.perTag))
      if (v.lines >= 30) expect(v.accuracy, `tag ${tag}`).toBeGreaterThan(0.85);
  });
});
