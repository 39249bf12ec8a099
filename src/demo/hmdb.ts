// An evaluation set in HMDB51's layout (Kuehne et al. 2011): one folder per class of trimmed clips
// named `<source>_<class>_<tags>_<n>.<ext>` (HMDB51 ships .avi; our encoder writes MP4, so .mp4 by default), and the official three splits as
// `<class>_test_split<1|2|3>.txt` with lines `<video> <1|2|0> ` (1 train, 2 test, 0 unused).
import type { VideoPlan } from './render.ts';
import type { Rng } from './rng.ts';
import { drawPlacement, type SignatureKind } from './signatures.ts';

/** HMDB51 class names that overlap the mined verbs or the neutral verbs, and how each is drawn. */
export const HMDB_CLASSES: readonly { name: string; draw: SignatureKind }[] = [
  { name: 'drink', draw: 'drink' },
  { name: 'eat', draw: 'eat' },
  { name: 'fall_floor', draw: 'fall' },
  { name: 'hit', draw: 'hit' },
  { name: 'hug', draw: 'hug' },
  { name: 'kiss', draw: 'kiss' },
  { name: 'push', draw: 'push' },
  { name: 'run', draw: 'run' },
  { name: 'shoot_gun', draw: 'shoot' },
  { name: 'sit', draw: 'sit' },
  { name: 'stand', draw: 'stand' },
  { name: 'walk', draw: 'walk' },
];

export interface HmdbVideoPlan {
  className: string;
  /** File name inside the class folder. */
  file: string;
  plan: VideoPlan;
}

export interface HmdbOptions {
  perClass: number;
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** Container extension of the clips. */
  ext: 'avi' | 'mp4';
}

const SOURCES = ['Demo_Movie', 'Home_Video', 'Old_Film', 'Street_Clip', 'Youtube_Clip'];

export function planHmdb(rng: Rng, o: HmdbOptions): HmdbVideoPlan[] {
  const out: HmdbVideoPlan[] = [];
  for (const c of HMDB_CLASSES) {
    for (let i = 0; i < o.perClass; i++) {
      // HMDB's tags: body part visible, camera motion, people, viewpoint, quality.
      const tags = [
        rng.pick(['f', 'h', 'u']),
        rng.pick(['cm', 'nm']),
        `np${rng.int(1, 2)}`,
        rng.pick(['fr', 'le', 'ri', 'ba']),
        rng.pick(['goo', 'med', 'bad']),
      ];
      const file = `${rng.pick(SOURCES)}_${i + 1}_${c.name}_${tags.join('_')}_${i % 3}.${o.ext}`;
      out.push({
        className: c.name,
        file,
        plan: {
          width: o.width,
          height: o.height,
          fps: o.fps,
          seconds: o.seconds,
          actions: [{ kind: c.draw, start: 0, end: o.seconds, place: drawPlacement(rng, o.width, o.height) }],
          drift: rng.chance(0.3),
        },
      });
    }
  }
  return out;
}

/** The three split files of one class: about 70 % train, 30 % test of the used clips, a few unused. */
export function formatSplits(rng: Rng, files: readonly string[]): [string, string, string] {
  const n = files.length;
  const nTest = Math.max(1, Math.round(n * 0.3));
  const nUnused = n >= 10 ? Math.round(n * 0.1) : 0;
  const make = (): string => {
    const order = rng.shuffle(files.map((_, i) => i));
    const id = new Array<number>(n).fill(1);
    order.slice(0, nTest).forEach((i) => (id[i] = 2));
    order.slice(nTest, nTest + nUnused).forEach((i) => (id[i] = 0));
    return files.map((f, i) => `${f} ${id[i]} \n`).join('');
  };
  return [make(), make(), make()];
}
