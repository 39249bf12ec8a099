// HMDB51 (Kuehne et al. 2011) with its official three train/test splits: files
// `<class>_test_split{1,2,3}.txt`, lines `<video>.avi <id>` with id 1 = train, 2 = test,
// 0 = unused. The reported number is top-1 accuracy averaged over the three splits.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import type { Dirent } from 'node:fs';

export interface HmdbVideo {
  video: string;
  class: string;
}

export interface HmdbSplit {
  split: number;
  train: HmdbVideo[];
  test: HmdbVideo[];
}

export interface HmdbDataset {
  classes: string[];
  splits: HmdbSplit[];
}

export const SPLIT_FILE = /^(.+)_test_split([123])\.txt$/;

/** Parse one split file's lines; malformed lines are skipped with a warning naming file:line. */
export function parseHmdbSplitFile(
  text: string,
  cls: string,
  file: string,
  warn: (m: string) => void = () => undefined,
): { train: HmdbVideo[]; test: HmdbVideo[] } {
  const train: HmdbVideo[] = [];
  const test: HmdbVideo[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const m = /^(\S+)\s+([012])$/.exec(line);
    if (!m) {
      warn(`${file}:${i + 1}: skipping malformed split line "${line.slice(0, 80)}"`);
      return;
    }
    if (m[2] === '1') train.push({ video: m[1]!, class: cls });
    else if (m[2] === '2') test.push({ video: m[1]!, class: cls });
  });
  return { train, test };
}

/** The split files `<class>_test_split<k>.txt` under `root` (any depth ≤ 3), sorted. */
export async function findSplitFiles(root: string, depth = 3): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `cannot read HMDB51 folder ${root}`, { cause: e, detail: { dir: root } });
  }
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (e.isFile() && SPLIT_FILE.test(e.name)) out.push(p);
    else if (e.isDirectory() && depth > 0) out.push(...(await findSplitFiles(p, depth - 1)));
  }
  return out.sort();
}

/** Read every `<class>_test_split<k>.txt` found under `root` (any depth ≤ 3). */
export async function loadHmdbSplits(root: string, warn: (m: string) => void = () => undefined): Promise<HmdbDataset> {
  const files = await findSplitFiles(root);
  if (files.length === 0) {
    throw new ExpError('EXP_INPUT_MISSING', `no HMDB51 split files (<class>_test_split1.txt ...) under ${root}`, {
      hint: 'point the data path at the HMDB51 folder that holds testTrainMulti_7030_splits/',
      detail: { dir: root },
    });
  }
  const splits = new Map<number, HmdbSplit>();
  const classes = new Set<string>();
  for (const f of files) {
    const m = SPLIT_FILE.exec(path.basename(f))!;
    const cls = m[1]!;
    const k = Number(m[2]);
    classes.add(cls);
    const part = parseHmdbSplitFile(await readFile(f, 'utf8'), cls, f, warn);
    let s = splits.get(k);
    if (!s) splits.set(k, (s = { split: k, train: [], test: [] }));
    s.train.push(...part.train);
    s.test.push(...part.test);
  }
  return { classes: [...classes].sort(), splits: [...splits.values()].sort((a, b) => a.split - b.split) };
}
