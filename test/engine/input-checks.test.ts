// Inputs checked before work starts (issue 24): `exp validate`, `exp plan` and `exp run` look
// inside the data folders a spec names (listing, headers, a sample; no video decoded) and stop
// with a spec error (exit 2) naming the data key, where it was written, the path, what was
// expected and the counts found. None of these cases starts a node: nothing is written under the
// runs folder's cache, and no invocation is recorded.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRawVideo } from '../../src/video/ffmpeg.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const base = path.join(repoRoot, 'experiments/base/speech2action.yaml');
const hmdbSpec = path.join(repoRoot, 'experiments/hmdb51.yaml');

const SRT = '1\n00:00:01,000 --> 00:00:02,000\nPick up the phone!\n';
const SCREENPLAY = `INT. KITCHEN - NIGHT

John walks to the table and picks up the phone.

                    JOHN
          Hello? Who is this?

                    MARY
          It's me. Open the door.

Mary opens the door and enters.
`;
const AVA_ROW = (id: string) => `${id},0902,0.1,0.2,0.3,0.4,12,0\n${id},0903,0.1,0.2,0.3,0.4,80,0\n`;

let video = ''; // one real, tiny video (no subtitle stream) to copy
beforeAll(async () => {
  video = path.join(mkdtempSync(path.join(os.tmpdir(), 'exp-inputs-video-')), 'v.mp4');
  const frame = new Uint8Array(16 * 16 * 3).fill(90);
  await encodeRawVideo([frame, frame.map((x) => x + 40)], { width: 16, height: 16, fps: 1, outPath: video });
});

/** Files under a new folder: a path ending in .mp4 gets the real video, others their text. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-inputs-'));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    if (rel.endsWith('/')) mkdirSync(file, { recursive: true });
    else if (rel.endsWith('.mp4') || rel.endsWith('.avi')) copyFileSync(video, file);
    else writeFileSync(file, text);
  }
  return dir;
}

interface Outcome {
  code: number;
  err: string;
  /** The spec file, as the error names it. */
  spec: string;
  /** What the runs folder holds afterwards. */
  runs: string[];
}

/**
 * A spec in `dir` extending `extendsFile` whose `data.<key>` (line 4) is `value`, run with
 * `exp run` (so that "nothing started" is checked on the command that would start nodes).
 */
async function runWithData(dir: string, key: string, value: string, extendsFile = base): Promise<Outcome> {
  writeFileSync(path.join(dir, 'spec.yaml'), `name: inputs\nextends: ${extendsFile}\ndata:\n  ${key}: ${value}\n`);
  const runs = path.join(dir, 'runs');
  const r = await runExp(['run', path.join(dir, 'spec.yaml'), '--runs', runs, '--no-track', '--quiet'], {
    ...process.env,
    EXP_PLUGINS: '',
  });
  return {
    code: r.code,
    err: r.err,
    spec: path.join(dir, 'spec.yaml'),
    runs: existsSync(runs) ? readdirSync(runs) : [],
  };
}

/** The spec error names the key, where it was written (spec.yaml line 4), the stage param and what was found. */
function expectRefused(o: Outcome, key: string, stageParam: string, ...found: (string | RegExp)[]): void {
  expect(o.code, o.err).toBe(2);
  expect(o.err).toContain(`✖ data.${key}: `);
  expect(o.err).toContain(`→ at ${stageParam} (${o.spec}:4:${2 + key.length + 3})`);
  for (const f of found)
    expect(o.err).toMatch(f instanceof RegExp ? f : new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  expect(o.err).toMatch(/nothing was run\.\n$/);
  expect(o.err).not.toMatch(/\n\s+at .*:\d+/); // no stack trace
  // nothing started: no node, no invocation
  expect(o.runs.filter((f) => f === 'cache' || f === 'invocations')).toEqual([]);
}

describe('data.movies', () => {
  it('a folder of subtitles with no videos', async () => {
    const dir = folder({ 'movies/Alien.srt': SRT, 'movies/Heat.en.srt': SRT });
    const o = await runWithData(dir, 'movies', './movies');
    expectRefused(
      o,
      'movies',
      'stages.mining.with.movies',
      `no video (.mp4, .mkv, .avi, .mov, ...) in ${path.join(dir, 'movies')}`,
      'found 0 video(s) and 2 subtitle file(s)',
    );
  });

  it('a folder of videos without subtitles (none beside them, none embedded)', async () => {
    const dir = folder({ 'movies/Alien.mp4': '', 'movies/Heat.mp4': '', 'movies/Other.srt': SRT });
    const o = await runWithData(dir, 'movies', './movies');
    expectRefused(
      o,
      'movies',
      'stages.mining.with.movies',
      'no subtitles for the videos',
      'found 2 video(s) and 1 subtitle file(s)',
      'the subtitle files belong to no video: Other.srt',
      'none of the 2 video(s) probed (Alien.mp4, Heat.mp4) has an embedded text subtitle stream',
    );
  });

  it('a CSV manifest in the wrong format, and a JSONL one with lines that are no JSON', async () => {
    const dir = folder({
      'm.csv': 'name,file\nAlien,Alien.mp4\n',
      'm.jsonl': '{"id":"a","video":"a.mp4"}\nnot json\n',
      'a.mp4': '',
    });
    const csv = await runWithData(dir, 'movies', './m.csv');
    expectRefused(
      csv,
      'movies',
      'stages.mining.with.movies',
      'the first line must be a header with a "video" column',
      'its first line is "name,file"',
    );
    const jsonl = await runWithData(dir, 'movies', './m.jsonl');
    expectRefused(
      jsonl,
      'movies',
      'stages.mining.with.movies',
      '1 row(s) in the wrong format, of 2: line 2: not a JSON object',
    );
  });

  it('a manifest naming files that do not exist', async () => {
    const dir = folder({
      'm.csv': 'id,video,subtitles\na,videos/a.mp4,subs/a.srt\nb,videos/b.mp4,subs/b.srt\nc,videos/c.mp4,subs/c.srt\n',
      'videos/a.mp4': '',
      'subs/a.srt': SRT,
      'videos/c.mp4': '',
    });
    const o = await runWithData(dir, 'movies', './m.csv');
    expectRefused(
      o,
      'movies',
      'stages.mining.with.movies',
      'names files that do not exist: 2 of its 3 movie(s) (line 3: video videos/b.mp4, line 4: subtitles subs/c.srt)',
    );
  });
});

describe('data.ava', () => {
  it('annotations without their videos', async () => {
    const dir = folder({
      'ava/ava_train_v2.2.csv': AVA_ROW('-5KQ66BBWC4'),
      'ava/ava_val_v2.2.csv': AVA_ROW('zlVkeKC6Ha8'),
    });
    const o = await runWithData(dir, 'ava', './ava');
    expectRefused(
      o,
      'ava',
      'stages.finetune.with.data',
      'no video (.mp4, .mkv, ...) in',
      'found 0 videos among 2 file(s)',
      'name 1 video id(s), e.g. -5KQ66BBWC4',
    );
  });

  it('videos without the annotation files', async () => {
    const dir = folder({
      'ava/videos/-5KQ66BBWC4.mp4': '',
      'ava/ava_action_list_v2.2.pbtxt': 'label { name: "x" label_id: 1 }',
    });
    const o = await runWithData(dir, 'ava', './ava');
    expectRefused(
      o,
      'ava',
      'stages.finetune.with.data',
      'no AVA train annotation CSV (a file named *train*.csv)',
      'found 0 annotation CSV(s) and 1 video(s) among 2 file(s)',
    );
  });

  it('annotation ids that match no video, and rows that are not AVA rows', async () => {
    const dir = folder({
      'ava/ava_train_v2.2.csv': AVA_ROW('-5KQ66BBWC4'),
      'ava/ava_val_v2.2.csv': AVA_ROW('-5KQ66BBWC4'),
      'ava/videos/clip_0001.mp4': '',
    });
    const o = await runWithData(dir, 'ava', './ava');
    expectRefused(
      o,
      'ava',
      'stages.finetune.with.data',
      'none of the 1 video id(s) annotated in ava_train_v2.2.csv has a video',
      'found 1 video(s) (videos/clip_0001.mp4); expected e.g. -5KQ66BBWC4.mp4',
    );
    expect(o.err).toContain(`→ at stages.eval.with.data (${o.spec}:4:8)`); // evaluation reads the val CSV
    const rows = folder({
      'ava/ava_train.csv': 'video,when\nabc,later\n',
      'ava/ava_val.csv': AVA_ROW('x'),
      'ava/x.mp4': '',
    });
    const bad = await runWithData(rows, 'ava', './ava');
    expectRefused(
      bad,
      'ava',
      'stages.finetune.with.data',
      'ava_train.csv in',
      'holds no AVA annotation row in its first lines (line 1: "video,when")',
    );
  });
});

describe('data.hmdb51', () => {
  const split = (videos: string[]) => videos.map((v, i) => `${v} ${i % 2 ? 2 : 1}\n`).join('');

  it('videos without the split files', async () => {
    const dir = folder({ 'hmdb/kiss/a.avi': '', 'hmdb/kiss/b.avi': '' });
    const o = await runWithData(dir, 'hmdb51', './hmdb', hmdbSpec);
    expectRefused(
      o,
      'hmdb51',
      'stages.finetune.with.data',
      'no HMDB51 split file (<class>_test_split1.txt, ...)',
      'found 0 .txt file(s) and 2 video(s) among 2 file(s)',
    );
  });

  it('split files whose videos are not there, and a split that is missing', async () => {
    const dir = folder({ 'hmdb/splits/kiss_test_split1.txt': split(['a.avi', 'b.avi']), 'hmdb/kiss/other.avi': '' });
    const o = await runWithData(dir, 'hmdb51', './hmdb', hmdbSpec);
    expectRefused(
      o,
      'hmdb51',
      'stages.finetune.with.data',
      'none of the 2 video(s) listed in the split files of split(s) 1 (e.g. a.avi, b.avi)',
      'found 1 video(s) (kiss/other.avi)',
    );
    const none = folder({ 'hmdb/splits/kiss_test_split1.txt': split(['a.avi', 'b.avi', 'c.avi']) });
    expectRefused(
      await runWithData(none, 'hmdb51', './hmdb', hmdbSpec),
      'hmdb51',
      'stages.finetune.with.data',
      'no video (.avi, .mp4, ...) in',
      'found 0 videos among 1 file(s), and the split files of split(s) 1 list 3 video(s)',
    );
    const two = folder({ 'hmdb/splits/kiss_test_split2.txt': split(['a.avi']), 'hmdb/kiss/a.avi': '' });
    const o2 = await runWithData(two, 'hmdb51', './hmdb', hmdbSpec);
    expectRefused(
      o2,
      'hmdb51',
      'stages.finetune.with.data',
      'no HMDB51 split 1 file (<class>_test_split1.txt)',
      'found 1 split file(s), for split(s) 2',
    );
  });
});

describe('data.screenplays', () => {
  it('an empty folder', async () => {
    const dir = folder({ 'scripts/': '' });
    const o = await runWithData(dir, 'screenplays', './scripts');
    expectRefused(
      o,
      'screenplays',
      'stages.parse.with.corpus',
      'no screenplay file (.txt, .html, .htm) in',
      '0 screenplay files, the folder is empty',
    );
  });

  it('a folder with no screenplay-like file', async () => {
    const prose = 'It was a bright cold day in April, and the clocks were striking thirteen.\n'.repeat(40);
    const dir = folder({ 'scripts/a.txt': prose, 'scripts/b.txt': prose, 'scripts/c.pdf': '%PDF' });
    const o = await runWithData(dir, 'screenplays', './scripts');
    expectRefused(
      o,
      'screenplays',
      'stages.parse.with.corpus',
      'no screenplay-like file in',
      '2 .txt/.html/.htm file(s), and none of the 2 sampled looks like a screenplay',
      'a.txt: no screenplay structure found',
    );
    const pdfs = folder({ 'scripts/a.pdf': '%PDF', 'scripts/more/': '' });
    const p = await runWithData(pdfs, 'screenplays', './scripts');
    expectRefused(
      p,
      'screenplays',
      'stages.parse.with.corpus',
      'found 1 other file(s) (e.g. a.pdf) and 1 sub-folder(s), which are not read',
    );
  });
});

describe('a folder that cannot be looked into', () => {
  it('is a spec error saying what the system said (here a link that points to itself)', async () => {
    const dir = folder({ 'scripts/': '' });
    symlinkSync('loop.txt', path.join(dir, 'scripts/loop.txt'));
    const o = await runWithData(dir, 'screenplays', './scripts');
    expectRefused(o, 'screenplays', 'stages.parse.with.corpus', /cannot look inside: ELOOP/);
  });
});

describe('usable data passes', () => {
  it('valid folders for every data key: exp validate and exp plan accept them', async () => {
    const dir = folder({
      'scripts/one.txt': SCREENPLAY,
      'scripts/readme.md': 'notes',
      'movies/Alien.mp4': '',
      'movies/Alien.en.srt': SRT,
      'movies/Stray.srt': SRT, // a subtitle without its movie is skipped at run time, not refused
      'ava/ava_train_v2.2.csv': AVA_ROW('vid1') + AVA_ROW('gone'),
      'ava/ava_val_v2.2.csv': AVA_ROW('vid1'),
      'ava/videos/vid1.mp4': '',
    });
    const spec = path.join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      `name: inputs\nextends: ${base}\ndata: { screenplays: ./scripts, movies: ./movies, ava: ./ava }\n`,
    );
    const v = await runExp(['validate', spec]);
    expect(v.err).toBe('');
    expect(v.code).toBe(0);
    const p = await runExp(['plan', spec, '--runs', path.join(dir, 'runs'), '--json']);
    expect(p.code).toBe(0);
    const hmdb = folder({ 'hmdb/splits/kiss_test_split1.txt': 'a.avi 1\nb.avi 2\n', 'hmdb/kiss/a.avi': '' });
    writeFileSync(path.join(hmdb, 'spec.yaml'), `name: inputs\nextends: ${hmdbSpec}\ndata: { hmdb51: ./hmdb }\n`);
    const h = await runExp(['validate', path.join(hmdb, 'spec.yaml')]);
    expect(h.err).toBe('');
    expect(h.code).toBe(0);
  });

  it('exp validate and exp plan say the same as exp run for bad data', async () => {
    const dir = folder({ 'movies/Alien.srt': SRT });
    writeFileSync(path.join(dir, 'spec.yaml'), `name: inputs\nextends: ${base}\ndata:\n  movies: ./movies\n`);
    for (const cmd of ['validate', 'plan']) {
      const r = await runExp([cmd, path.join(dir, 'spec.yaml'), '--runs', path.join(dir, 'runs')]);
      expect(r.code, cmd).toBe(2);
      expect(r.err, cmd).toContain('✖ data.movies: no video');
      expect(r.err, cmd).toContain(`(${path.join(dir, 'spec.yaml')}:4:11)`);
    }
    expect(existsSync(path.join(dir, 'runs'))).toBe(false);
  });
});
