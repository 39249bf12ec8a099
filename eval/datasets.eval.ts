// The AVA and HMDB51 readers on the official files (label maps, split files, mmaction2 fixtures).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AVA_CLASSES } from '../src/demo/ava.ts';
import {
  AVA_TABLE4_CLASSES,
  avaKeyframes,
  clipLevelApFromBoxes,
  parseAvaLabelMap,
  readAvaCsv,
} from '../src/video/datasets/ava.ts';
import { loadHmdbSplits } from '../src/video/datasets/hmdb51.ts';
import { dataPath } from './data.ts';

describe('Table 4 class mapping against the official AVA v2.2 label map', () => {
  it('every mapped id exists with the stated name, and there are the paper’s 14 classes', async () => {
    const map = parseAvaLabelMap(await readFile(dataPath('ava/official_v2.2/ava_action_list_v2.2.pbtxt'), 'utf8'));
    expect(map.size).toBe(80);
    expect(AVA_TABLE4_CLASSES.map((c) => c.name)).toEqual([
      'drive',
      'phone',
      'kiss',
      'dance',
      'eat',
      'drink',
      'run',
      'point',
      'open',
      'hit',
      'shoot',
      'push',
      'hug',
      'enter',
    ]);
    for (const c of AVA_TABLE4_CLASSES) {
      expect(c.avaIds.map((id) => map.get(id))).toEqual(c.avaNames);
    }
  });

  it('parses the `item { name id }` form too', async () => {
    const map = parseAvaLabelMap(
      await readFile(dataPath('ava/official_v2.2/ava_action_list_v2.2_for_activitynet_2019.pbtxt'), 'utf8'),
    );
    expect(map.size).toBe(60);
    expect(map.get(4)).toBe('dance');
  });
});

describe('clip-level AP on real AVA rows', () => {
  it('on the mmaction2 gt/pred fixture', async () => {
    const dir = dataPath('ava/mmaction2_test_fixtures/eval_detection');
    const gt = await readAvaCsv(`${dir}/gt.csv`);
    const pred = await readAvaCsv(`${dir}/pred.csv`, undefined, 'score');
    expect(avaKeyframes(gt)).toHaveLength(3);
    const { perClass, mean } = clipLevelApFromBoxes(gt, pred, [1, 2, 3]);
    // By hand: every keyframe holds classes 1 and 3; class 2 is in 3reY9zJKhqN@1774 and
    // 5HNXoce1raG@1097, whose best class-2 boxes (0.753, 0.976) outrank HmR8SmNIoxu@1384's 0.518.
    // Every class thus ranks its positives first: AP 1 each. The negative scores do not matter,
    // so a perturbation that demotes a positive must lower the AP:
    expect(perClass.map((p) => p.ap)).toEqual([1, 1, 1]);
    expect(mean).toBe(1);
    const swapped = pred.map((p) => (p.videoId === 'HmR8SmNIoxu' && p.actionId === 2 ? { ...p, score: 0.99 } : p));
    // class 2 ranking: HmR8 0.99 (neg), 5HNX 0.976 (pos), 3reY 0.753 (pos): AP = (1/2 + 2/3) / 2.
    expect(clipLevelApFromBoxes(gt, swapped, [2]).perClass[0]!.ap).toBeCloseTo((1 / 2 + 2 / 3) / 2, 12);
  });
});

describe('HMDB51 official splits', () => {
  it('the official splits: 51 classes, 3 splits of 3570 train / 1530 test videos', async () => {
    const ds = await loadHmdbSplits(dataPath('hmdb51'));
    expect(ds.classes).toHaveLength(51);
    expect(ds.splits.map((s) => [s.split, s.train.length, s.test.length])).toEqual([
      [1, 3570, 1530],
      [2, 3570, 1530],
      [3, 3570, 1530],
    ]);
    for (const s of ds.splits) {
      const perClass = new Map<string, number>();
      for (const v of s.test) perClass.set(v.class, (perClass.get(v.class) ?? 0) + 1);
      expect([...perClass.values()].every((n) => n === 30)).toBe(true);
      const train = new Set(s.train.map((v) => v.video));
      expect(s.test.some((v) => train.has(v.video))).toBe(false);
    }
  });
});

describe('the demo world', () => {
  it('uses the official AVA v2.2 ids and names', async () => {
    const official = await readFile(dataPath('ava', 'official_v2.2', 'ava_action_list_v2.2.pbtxt'), 'utf8');
    const names = new Map<number, string>();
    for (const m of official.matchAll(/name: "([^"]+)"\s+label_id: (\d+)/g)) names.set(Number(m[2]), m[1]!);
    for (const c of AVA_CLASSES) expect(names.get(c.id), String(c.id)).toBe(c.name);
  });
});

describe('AVA CSV reader on the mmaction2 sample', () => {
  it('reads the mmaction2 AVA sample (official 8-column format)', async () => {
    const rows = await readAvaCsv(dataPath('ava/mmaction2_test_fixtures/ava_dataset/ava_sample.csv'));
    expect(rows).toHaveLength(8);
    const ks = avaKeyframes(rows);
    expect(ks.map((k) => `${k.videoId}@${k.timestamp}:${k.actionIds.join('+')}`)).toEqual([
      '0f39OWEqJ24@902:12+17+79',
      '0f39OWEqJ24@903:12+17',
      '_-Z6wFjXtGQ@902:12+74+80',
    ]);
  });
});
