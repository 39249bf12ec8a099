// Issue 14, media: corrupt, truncated, 0-byte and random-bytes movies, an audio-only file named
// .mp4, a folder named like a movie, a subtitle file whose movie is missing and an unreadable
// file are each skipped by path with a reason (node log, manifest, `exp show`, the run summary,
// `--json`, an MLflow metric); the rest of the corpus is mined and extracted. When every movie is
// bad, the stage fails with EXP_CORPUS_UNUSABLE naming some of them.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRawVideo, findFfmpeg } from '../../src/video/ffmpeg.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const spec = path.join(repoRoot, 'test/fixtures/engine/bad-movies.yaml');
const STACK = /\n\s+at .*[(:]\d+/;
const SUBS =
  '1\n00:00:02,000 --> 00:00:04,000\nPick up the phone!\n\n2\n00:00:10,000 --> 00:00:12,000\nGet in the car and drive.\n\n3\n00:00:20,000 --> 00:00:22,000\nNothing happens here.\n';

let good = ''; // one good movie to copy and break
function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'exp-bad-media-'));
}

beforeAll(async () => {
  good = path.join(tmp(), 'good.mp4');
  const f = new Uint8Array(16 * 16 * 3).fill(90);
  await encodeRawVideo(
    Array.from({ length: 30 }, (_, i) => f.map((x) => (x + i * 5) % 256)),
    { width: 16, height: 16, fps: 1, outPath: good },
  );
});

/** Writes `name.mp4` (+ its .srt) made by `make` from the good movie. */
function movie(dir: string, name: string, make: 'good' | 'empty' | 'truncated' | 'random' | 'audio'): string {
  const file = path.join(dir, `${name}.mp4`);
  const bytes = readFileSync(good);
  if (make === 'good') copyFileSync(good, file);
  else if (make === 'empty') writeFileSync(file, '');
  else if (make === 'truncated')
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6))); // head -c
  else if (make === 'random')
    writeFileSync(file, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919 + 13) % 251)));
  else {
    const r = spawnSync(findFfmpeg().ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'sine=duration=30', '-y', file]);
    expect(r.status).toBe(0);
  }
  writeFileSync(path.join(dir, `${name}.srt`), SUBS);
  return file;
}

function exp(args: string[]) {
  return runExp(args, { ...process.env, EXP_PLUGINS: plugin, MLFLOW_TRACKING_URI: '' });
}

/** The metric files of every run in the MLflow file store, by key: last value. */
function mlflowMetric(runs: string, key: string): number[] {
  const root = path.join(runs, 'mlruns');
  const out: number[] = [];
  for (const e of readdirSync(root).filter((x) => /^\d+$/.test(x)))
    for (const r of readdirSync(path.join(root, e))) {
      const f = path.join(root, e, r, 'metrics', key);
      if (existsSync(f)) out.push(Number(readFileSync(f, 'utf8').trim().split('\n').at(-1)!.split(' ')[1]));
    }
  return out;
}

describe('bad movies in a corpus', () => {
  it('0-byte, truncated (head -c), random-bytes and audio-only movies, a folder named Film.mp4, a subtitle without its movie: skipped by path, the rest goes on', async () => {
    const dir = tmp();
    const movies = path.join(dir, 'movies');
    mkdirSync(movies);
    movie(movies, 'good1', 'good');
    movie(movies, 'good2', 'good');
    const bad = {
      empty: movie(movies, 'empty', 'empty'),
      truncated: movie(movies, 'truncated', 'truncated'),
      random: movie(movies, 'random', 'random'),
      audio: movie(movies, 'audio', 'audio'),
      folder: path.join(movies, 'folder.mp4'),
      orphan: path.join(movies, 'lost.srt'),
      folderSubtitles: path.join(movies, 'folder.srt'), // its movie is the folder: missing
    };
    mkdirSync(bad.folder);
    writeFileSync(path.join(movies, 'folder.srt'), SUBS);
    writeFileSync(bad.orphan, SUBS);
    const runs = path.join(dir, 'runs');
    const r = await exp(['run', spec, '--runs', runs, '--set', `vars.movies=${movies}`]);
    expect(r.err).not.toMatch(STACK);
    expect(r.code, r.out + r.err).toBe(0);
    // The run summary counts them and names the first ones.
    const line = r.out.split('\n').find((l) => l.startsWith('! mining skipped'));
    expect(line, r.out).toContain('! mining skipped 7 input(s)');
    expect(line).toContain(bad.folder);
    expect(line).toContain('and 4 more');
    expect(line).toContain('exp show ');
    // exp show of the mining node: every one by path, with what is wrong with it.
    const key = /exp show (\w+)/.exec(line!)![1]!;
    const show = await exp(['show', key, '--runs', runs]);
    expect(show.code).toBe(0);
    expect(show.out).toContain('skipped 7 input(s):');
    expect(show.out).toContain(`${bad.empty}: ${bad.empty} is empty (0 bytes)`);
    expect(show.out).toMatch(new RegExp(`${bad.truncated}: .*truncated or corrupt near its end`));
    expect(show.out).toContain(`${bad.random}: ffprobe cannot read ${bad.random}`);
    expect(show.out).toContain(`${bad.audio} has no video stream (only audio)`);
    expect(show.out).toContain(`${bad.folder} is a directory, not a video file`);
    expect(show.out).toContain(`${bad.orphan} has no video beside it`);
    // The node's log names them too, and the good movies were mined and extracted.
    const log = readFileSync(
      path.join(runs, 'logs', `${readdirSync(path.join(runs, 'cache', 'captions.mine'))[0]}.log`),
      'utf8',
    );
    for (const f of Object.values(bad)) expect(log).toContain(f);
    expect(log).toContain('mining 2 movies');
    // --json (cached rerun) carries them; MLflow has the count as a metric.
    const again = await exp(['run', spec, '--runs', runs, '--json', '--set', `vars.movies=${movies}`]);
    const json = again.json<{
      points: { status: string; metrics: Record<string, number> }[];
      skipped: { stage: string; items: { item: string }[] }[];
    }>();
    expect(json.points[0]!.status).toBe('done');
    expect(json.points[0]!.metrics['mining.skipped_movies']).toBe(7);
    expect(json.points[0]!.metrics['clips.extracted']).toBeGreaterThan(0);
    expect(json.skipped.map((s) => s.stage)).toEqual(['mining']);
    expect(json.skipped[0]!.items.map((i) => i.item).sort()).toEqual(Object.values(bad).sort());
    expect(mlflowMetric(runs, 'mining.skipped_movies')).toEqual([7, 7]);
  }, 240_000);

  it('a corpus in which every movie is bad: EXP_CORPUS_UNUSABLE naming the files and what to do, exit 1', async () => {
    const dir = tmp();
    const movies = path.join(dir, 'movies');
    mkdirSync(movies);
    movie(movies, 'a-empty', 'empty');
    movie(movies, 'b-random', 'random');
    movie(movies, 'c-truncated', 'truncated');
    movie(movies, 'd-audio', 'audio');
    const runs = path.join(dir, 'runs');
    const r = await exp(['run', spec, '--runs', runs, '--set', `vars.movies=${movies}`]);
    expect(r.code).toBe(1);
    expect(r.err + r.out).not.toMatch(STACK);
    const line = r.out.split('\n').find((l) => l.startsWith('✖ mining failed'));
    expect(line, r.out).toContain(`none of the 4 movie(s) in ${movies} can be used`);
    expect(line).toContain(path.join(movies, 'a-empty.mp4'));
    expect(line).toContain('and 1 more');
    const show = await exp(['show', /exp show (\w+)/.exec(line!)![1]!, '--runs', runs, '--json']);
    expect(show.json<{ code: string; error: string }>()).toMatchObject({ code: 'EXP_CORPUS_UNUSABLE' });
    expect(show.json<{ error: string }>().error).toContain(`${path.join(movies, 'b-random.mp4')}: moov atom not found`);
  }, 240_000);

  it('a movie the user cannot read (mode 000, as uid 65534): skipped as "cannot be read (EACCES)"', () => {
    const dir = tmp();
    chmodSync(dir, 0o755);
    const movies = path.join(dir, 'movies');
    mkdirSync(movies);
    movie(movies, 'fine', 'good');
    const locked = movie(movies, 'locked', 'good');
    chmodSync(locked, 0o000);
    const script = `import { loadMovieCorpus } from ${JSON.stringify(path.join(repoRoot, 'src/video/corpus.ts'))};
      const c = await loadMovieCorpus(${JSON.stringify(movies)});
      console.log(JSON.stringify({ movies: c.movies.map((m) => m.id), skipped: c.skipped }));`;
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, HOME: os.tmpdir() },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EPERM') return; // no right to drop privileges here
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      movies: string[];
      skipped: { video: string; reason: string }[];
    };
    expect(out.movies).toEqual(['fine']);
    expect(out.skipped).toEqual([{ id: 'locked', video: locked, reason: `${locked} cannot be read (EACCES)` }]);
  }, 240_000);
});
