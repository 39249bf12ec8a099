// Generation time and size of the default demo world (stage demo.world), with the real encoder
// and with a null encoder (drawing frames only), plus the polysemy the world plants for keyword
// spotting. Run: npx tsx bench/demo-world.ts [outDir]
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateWorld, DEFAULT_WORLD } from '../src/demo/world.ts';
import { allForms, CLASS_VERBS } from '../src/demo/verbs.ts';
import { encodeRawVideo } from '../src/video/ffmpeg.ts';

async function folderBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += (await stat(path.join(e.parentPath, e.name))).size;
  }
  return { files, bytes };
}

async function main(): Promise<void> {
  const keep = process.argv[2];
  const root = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), 'bench-demo-world-'));

  let frames = 0;
  const t0 = performance.now();
  await generateWorld(path.join(root, 'null'), {}, async (fr) => {
    for await (const _ of fr as AsyncIterable<Uint8Array>) frames++;
  });
  const drawS = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  let textS = 0;
  const { manifest } = await generateWorld(path.join(root, 'world'), {}, encodeRawVideo, {
    onProgress: (done) => {
      if (done === 0) textS = (performance.now() - t1) / 1000;
    },
  });
  const totalS = (performance.now() - t1) / 1000;

  const sizes: Record<string, { files: number; bytes: number }> = {};
  for (const part of ['screenplays', 'movies', 'ava', 'hmdb51'])
    sizes[part] = await folderBytes(path.join(root, 'world', part));
  const captions = manifest.movies.flatMap((m) => m.captions);
  const keyword: Record<string, { hits: number; precision: number; truth_precision: number }> = {};
  for (const verb of ['point', 'open'] as const) {
    const re = new RegExp(`\\b(${allForms(CLASS_VERBS[verb].forms).join('|')})\\b`, 'i');
    const hits = captions.filter((c) => re.test(c.text));
    const events = captions.filter((c) => c.class === verb);
    const shown = (c: (typeof captions)[number]) => c.class === verb && c.on_screen && c.in_window;
    keyword[verb] = {
      hits: hits.length,
      precision: hits.filter(shown).length / Math.max(1, hits.length),
      truth_precision: events.filter(shown).length / Math.max(1, events.length),
    };
  }

  const mb = (b: number) => (b / 1e6).toFixed(1);
  console.log(
    `defaults: ${DEFAULT_WORLD.screenplays} screenplays × ${DEFAULT_WORLD.elementsPerScript} elements, ${DEFAULT_WORLD.movies} movies × ${DEFAULT_WORLD.movieSeconds} s, ${DEFAULT_WORLD.width}×${DEFAULT_WORLD.height} @ ${DEFAULT_WORLD.fps} fps`,
  );
  console.log('phase                         seconds');
  console.log(`text + plans (no video)       ${textS.toFixed(1)}`);
  console.log(`draw ${frames} frames (null enc)  ${drawS.toFixed(1)}`);
  console.log(`whole world with ffmpeg       ${totalS.toFixed(1)}`);
  console.log('part          files     MB');
  for (const [k, v] of Object.entries(sizes))
    console.log(`${k.padEnd(12)} ${String(v.files).padStart(6)} ${mb(v.bytes).padStart(6)}`);
  console.log(
    `captions ${captions.length}, with an action ${captions.filter((c) => c.class).length}; keyword point ${keyword.point!.precision.toFixed(2)} vs truth ${keyword.point!.truth_precision.toFixed(2)}, open ${keyword.open!.precision.toFixed(2)} vs ${keyword.open!.truth_precision.toFixed(2)}`,
  );
  if (!keep) await rm(root, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'demo-world',
      text_s: +textS.toFixed(2),
      draw_only_s: +drawS.toFixed(2),
      total_s: +totalS.toFixed(2),
      frames,
      sizes,
      captions: captions.length,
      keyword,
    }),
  );
}

await main();
