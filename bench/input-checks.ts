// How long `exp validate` / `exp plan` spend looking inside the data folders a spec names, on
// folders of 100,000 files (the checks list folders, read CSV/split/manifest text and sample a
// few screenplays; no video is opened when sidecars exist). Files are empty but for the text
// the checks read. Wall time depends on the machine's load and its file cache; the CPU time
// (user + system) of this process is the steadier figure. Run: npx tsx bench/input-checks.ts [files, default 100000]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { inspectScreenplayCorpus } from '../src/screenplay/files.ts';
import { inspectMovieCorpus } from '../src/video/corpus.ts';
import { inspectAvaFolder, inspectHmdbFolder } from '../src/video/datasets/prepare.ts';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = 3;
const root = mkdtempSync(path.join(tmpdir(), 'exp-bench-inputs-'));
const pad = (i: number): string => String(i).padStart(6, '0');
const SCREENPLAY =
  'INT. KITCHEN - NIGHT\n\nJohn picks up the phone.\n\n                    JOHN\n          Hello? Who is this?\n\nMary opens the door.\n';

function files(dir: string, names: Iterable<string>, text = ''): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) {
    mkdirSync(path.dirname(path.join(dir, n)), { recursive: true });
    writeFileSync(path.join(dir, n), text);
  }
}
const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

interface Case {
  name: string;
  files: number;
  look(): Promise<unknown>;
}
const cases: Case[] = [];
try {
  const movies = path.join(root, 'movies');
  files(
    movies,
    range(N / 2, (i) => `m${pad(i)}.mp4`),
  );
  files(
    movies,
    range(N / 2, (i) => `m${pad(i)}.srt`),
    '1\n00:00:01,000 --> 00:00:02,000\nHi.\n',
  );
  cases.push({ name: 'movies: videos + sidecars (usable)', files: N, look: () => inspectMovieCorpus(movies) });
  const subs = path.join(root, 'subs');
  files(
    subs,
    range(N, (i) => `m${pad(i)}.srt`),
  );
  cases.push({ name: 'movies: subtitles only (refused)', files: N, look: () => inspectMovieCorpus(subs) });
  const manifest = path.join(root, 'movies.csv');
  writeFileSync(
    manifest,
    `id,video,subtitles\n${range(N / 2, (i) => `m${i},movies/m${pad(i)}.mp4,movies/m${pad(i)}.srt`).join('\n')}\n`,
  );
  cases.push({ name: 'movies: CSV manifest of N/2 rows (usable)', files: N, look: () => inspectMovieCorpus(manifest) });
  const scripts = path.join(root, 'scripts');
  files(
    scripts,
    range(N, (i) => `s${pad(i)}.txt`),
    SCREENPLAY,
  );
  cases.push({ name: 'screenplays (usable)', files: N, look: async () => inspectScreenplayCorpus(scripts) });
  const ava = path.join(root, 'ava');
  files(
    path.join(ava, 'videos'),
    range(N, (i) => `v${pad(i)}.mkv`),
  );
  writeFileSync(
    path.join(ava, 'ava_train_v2.2.csv'),
    range(N, (i) => `v${pad(i)},0902,0.1,0.2,0.3,0.4,12,1`).join('\n'),
  );
  writeFileSync(path.join(ava, 'ava_val_v2.2.csv'), range(N, (i) => `v${pad(i)},0903,0.1,0.2,0.3,0.4,12,1`).join('\n'));
  cases.push({
    name: 'AVA: N videos, N-row CSVs (usable)',
    files: N + 2,
    look: () => inspectAvaFolder(ava, ['train', 'val']),
  });
  const hmdb = path.join(root, 'hmdb');
  const perClass = Math.ceil(N / 51);
  for (let c = 0; c < 51; c++) {
    files(
      path.join(hmdb, `class${c}`),
      range(perClass, (i) => `c${c}_${pad(i)}.avi`),
    );
    for (const k of [1, 2, 3])
      files(
        path.join(hmdb, 'splits'),
        [`class${c}_test_split${k}.txt`],
        range(perClass, (i) => `c${c}_${pad(i)}.avi ${1 + (i % 2)}`).join('\n'),
      );
  }
  cases.push({
    name: 'HMDB51: 51 class folders, 153 split files (usable)',
    files: perClass * 51 + 153,
    look: () => inspectHmdbFolder(hmdb, [1, 2, 3]),
  });

  const rows: { name: string; files: number; ms: number[]; cpu: number[]; problem: boolean }[] = [];
  for (const c of cases) {
    const ms: number[] = [];
    const cpu: number[] = [];
    let problem = false;
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const before = process.cpuUsage();
      problem = (await c.look()) !== undefined;
      const used = process.cpuUsage(before);
      ms.push(performance.now() - t);
      cpu.push((used.user + used.system) / 1000);
    }
    rows.push({ name: c.name, files: c.files, ms, cpu, problem });
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`| check | files | first wall / cpu ms | median of ${RUNS} wall / cpu ms | refused |`);
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.files} | ${r.ms[0]!.toFixed(0)} / ${r.cpu[0]!.toFixed(0)} | ${median(r.ms).toFixed(0)} / ${median(r.cpu).toFixed(0)} | ${r.problem ? 'yes' : 'no'} |`,
    );
  console.log(
    JSON.stringify({
      bench: 'input-checks',
      files: N,
      cases: Object.fromEntries(
        rows.map((r) => [
          r.name,
          { median_wall_ms: Math.round(median(r.ms)), median_cpu_ms: Math.round(median(r.cpu)), refused: r.problem },
        ]),
      ),
      worst_median_wall_ms: Math.round(Math.max(...rows.map((r) => median(r.ms)))),
      worst_median_cpu_ms: Math.round(Math.max(...rows.map((r) => median(r.cpu)))),
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
