import { describe, expect, it } from 'vitest';
import { isExpError } from '../errors.ts';
import { describeVerbThresholds, resolveVerbThresholds } from './verb-thresholds.ts';

describe('resolveVerbThresholds', () => {
  // the paper: min_count 50 and drop_top 100 on 1,070 scripts ≈ 46.7 and 93.5 per 1,000
  const paper = { min_count_per_1000_scripts: 46.7, drop_top_per_1000_scripts: 93.5 };
  it.each([
    [0, 1, 0],
    [1, 1, 0], // 0.047 → 0, floored to 1; 0.09 → 0
    [80, 4, 7], // 3.74 → 4; 7.48 → 7 (the demo world's size)
    [309, 14, 29],
    [400, 19, 37],
    [1070, 50, 100],
  ])('%i scripts → min_count %i, drop_top %i', (scripts, minCount, dropTop) => {
    expect(resolveVerbThresholds(paper, scripts)).toMatchObject({ minCount, dropTop });
  });

  it('rounds half up and says how it got there', () => {
    const t = resolveVerbThresholds({ min_count_per_1000_scripts: 25, drop_top_per_1000_scripts: 10 }, 100);
    expect(t).toEqual({
      minCount: 3,
      dropTop: 1,
      minCountRule: '25 per 1000 scripts × 100 scripts = 2.5 → 3',
      dropTopRule: '10 per 1000 scripts × 100 scripts = 1 → 1',
    });
  });

  it('absolute values stay as given, whatever the corpus; defaults are the paper’s 50 / 100', () => {
    expect(resolveVerbThresholds({ min_count: 10, drop_top: 5 }, 1070)).toMatchObject({ minCount: 10, dropTop: 5 });
    expect(resolveVerbThresholds({}, 3)).toMatchObject({ minCount: 50, dropTop: 100 });
    // mixed: a scaled min_count with an absolute drop_top
    expect(resolveVerbThresholds({ min_count_per_1000_scripts: 46.7, drop_top: 100 }, 309)).toMatchObject({
      minCount: 14,
      dropTop: 100,
    });
    // the older form (reference_movies) still scales min_count
    expect(resolveVerbThresholds({ min_count: 50, reference_movies: 1070 }, 309)).toMatchObject({
      minCount: 14,
      dropTop: 100,
    });
  });

  it.each([
    [{ min_count: 50, min_count_per_1000_scripts: 46.7 }, 'min_count_per_1000_scripts'],
    [{ drop_top: 100, drop_top_per_1000_scripts: 93.5 }, 'drop_top_per_1000_scripts'],
    [{ reference_movies: 1070, min_count_per_1000_scripts: 46.7 }, 'min_count_per_1000_scripts'],
  ])('both forms of one threshold: a typed error naming the key (%o)', (params, key) => {
    let e: unknown;
    try {
      resolveVerbThresholds(params, 80);
    } catch (x) {
      e = x;
    }
    expect(isExpError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'EXP_SPEC_INVALID', detail: { key } });
    expect((e as Error).message).toContain(`"${key}"`);
  });

  it('describes the formula before the scripts are counted (exp plan)', () => {
    expect(describeVerbThresholds(paper)).toBe('min_count 46.7 per 1000 scripts, drop_top 93.5 per 1000 scripts');
    expect(describeVerbThresholds({ min_count: 10, drop_top: 5 })).toBe('min_count 10, drop_top 5');
  });
});
