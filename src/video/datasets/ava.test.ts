import { describe, expect, it } from 'vitest';

import {
  avaKeyframes,
  clipLevelAp,
  clipLevelApFromBoxes,
  keyframeWindow,
  parseAvaCsv,
  parseAvaLabelMap,
  table4Labels,
} from './ava.ts';

describe('AVA annotations', () => {
  it('parses 8-column rows (person id) and 7-column rows, skipping a malformed row with a warning naming file and line', () => {
    const warnings: string[] = [];
    const rows = parseAvaCsv(
      'v1,0902,0.1,0.2,0.3,0.4,12,0\nv1,902,0.1,0.2,0.3,0.4,80,3_\nv2,1000,0,0,1,1,4\n',
      'val.csv',
      (w) => warnings.push(w),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ videoId: 'v1', timestamp: 902, actionId: 12, personId: 0 });
    expect(rows[1]).toMatchObject({ videoId: 'v2', timestamp: 1000, actionId: 4 });
    expect(warnings).toEqual([expect.stringContaining('val.csv:2')]);
  });

  it('a keyframe label set is the union of its boxes; the clip is centred on the keyframe', () => {
    const rows = parseAvaCsv('a,0902,0,0,1,1,12,0\na,0902,0,0,1,1,28,1\na,0902,0,0,1,1,12,1\na,0903,0,0,1,1,72,0\n');
    const ks = avaKeyframes(rows);
    expect(ks).toEqual([
      { videoId: 'a', timestamp: 902, actionIds: [12, 28] },
      { videoId: 'a', timestamp: 903, actionIds: [72] },
    ]);
    expect(table4Labels(ks[0]!.actionIds)).toEqual(['drive']);
    expect(table4Labels([64, 76, 5])).toEqual(['hit', 'push']);
    expect(keyframeWindow(902, 3)).toEqual({ start: 900.5, end: 903.5 });
    expect(keyframeWindow(1, 4)).toEqual({ start: 0, end: 3 });
  });
});

describe('clip-level AP', () => {
  it('hand-computed cases', () => {
    // Class a: positives ranked 1st and 3rd of 4 → AP = (1/1 + 2/3) / 2 = 5/6.
    // Class b: the single positive ranked last of 4 → AP = 1/4. Class c: no positive → NaN, out of the mean.
    const scores = [
      [0.9, 0.1, 0.5],
      [0.8, 0.2, 0.5],
      [0.7, 0.3, 0.5],
      [0.1, 0.05, 0.5],
    ];
    const labels = [['a'], [], ['a'], ['b']];
    const { perClass, mean } = clipLevelAp(['a', 'b', 'c'], scores, labels);
    expect(perClass[0]!.ap).toBeCloseTo(5 / 6, 12);
    expect(perClass[1]!.ap).toBeCloseTo(1 / 4, 12);
    expect(perClass[2]!.ap).toBeNaN();
    expect(perClass.map((p) => p.positives)).toEqual([2, 1, 0]);
    expect(mean).toBeCloseTo((5 / 6 + 1 / 4) / 2, 12);
  });

  it('tied scores enter together (a constant scorer gets the prevalence)', () => {
    const { perClass } = clipLevelAp(['a'], [[0.3], [0.3], [0.3], [0.3]], [['a'], [], [], []]);
    expect(perClass[0]!.ap).toBeCloseTo(0.25, 12);
  });

  it('boxes → clips: a class scores its best box per keyframe', () => {
    const gt = parseAvaCsv('v,1,0,0,1,1,1,0\nv,1,0,0,1,1,2,1\nv,2,0,0,1,1,2,0\nv,3,0,0,1,1,1,0\n');
    const pred = parseAvaCsv(
      'v,1,0,0,1,1,1,0.2\nv,1,0,0,1,1,1,0.9\nv,2,0,0,1,1,1,0.8\nv,3,0,0,1,1,1,0.1\nv,2,0,0,1,1,2,0.4\n',
      'p',
      undefined,
      'score',
    );
    const { perClass } = clipLevelApFromBoxes(gt, pred, [1, 2]);
    // class 1: keyframe scores 1→0.9 (pos), 2→0.8 (neg), 3→0.1 (pos): AP = (1 + 2/3) / 2.
    expect(perClass[0]!.ap).toBeCloseTo(5 / 6, 12);
    // class 2: 2→0.4 (pos), 1→0 (pos), 3→0 (neg, tied with 1): AP = 1/2·1 + 1/2·(2/3).
    expect(perClass[1]!.ap).toBeCloseTo(0.5 + (0.5 * 2) / 3, 12);
  });
});

describe('AVA label map', () => {
  it('rejects a file that is no label map', () => {
    expect(() => parseAvaLabelMap('hello', 'x.pbtxt')).toThrow(/x.pbtxt/);
  });
});
