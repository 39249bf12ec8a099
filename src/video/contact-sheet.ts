// Contact sheets: per class, the middle frame of every mined clip in a grid PNG (frames only, in
// reading order), and one HTML page that shows each frame (a CSS crop of the grid) over its number
// and sentence, so a person can judge mining precision by eye as the paper did for its Table 2.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { safeName } from './corpus.ts';
import { FrameMosaic } from './mosaic.ts';
import { iterateClips, readShardIndex } from './shards.ts';
import type { ShardClip } from './shards.ts';

export interface ContactSheetOptions {
  /** Frames per row (default 8). */
  columns?: number;
  /** At most this many clips per class (default 200). */
  maxPerClass?: number;
  onWarning?: (message: string) => void;
}

export interface ContactSheetResult {
  html: string;
  pngs: Record<string, string>;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Reads `shardsDir` and writes `<outDir>/<class>.png` and `<outDir>/index.html`. */
export async function writeContactSheets(
  shardsDir: string,
  outDir: string,
  opts: ContactSheetOptions = {},
): Promise<ContactSheetResult> {
  const index = await readShardIndex(shardsDir);
  const columns = Math.max(1, opts.columns ?? 8);
  const maxPer = opts.maxPerClass ?? 200;
  const S = index.size;
  const T = index.frames;
  const frameBytes = S * S * 3;
  const byClass = new Map<string, { clip: ShardClip; frame: Uint8Array }[]>();
  for await (const { clip, data } of iterateClips(shardsDir, { index, onWarning: opts.onWarning })) {
    const mid = Math.floor(T / 2);
    for (const label of clip.labels.length ? clip.labels : ['(none)']) {
      let list = byClass.get(label);
      if (!list) byClass.set(label, (list = []));
      if (list.length < maxPer) list.push({ clip, frame: data.slice(mid * frameBytes, (mid + 1) * frameBytes) });
    }
  }
  await mkdir(outDir, { recursive: true });
  const pad = 4;
  const pngs: Record<string, string> = {};
  const sections: string[] = [];
  const classes = [...byClass.keys()].sort();
  for (const cls of classes) {
    const list = byClass.get(cls)!;
    const cols = Math.min(columns, list.length);
    const rows = Math.ceil(list.length / cols);
    const cellW = S + pad;
    const cellH = S + pad;
    const r = new FrameMosaic(cols * cellW + pad, rows * cellH + pad, [245, 245, 245]);
    const figures: string[] = [];
    list.forEach(({ clip }, i) => {
      const x = pad + (i % cols) * cellW;
      const y = pad + Math.floor(i / cols) * cellH;
      r.place(list[i]!.frame, S, S, x, y);
      const meta = clip.meta ?? {};
      const sentence = typeof meta.sentence === 'string' ? meta.sentence : '';
      const where = `${typeof meta.movie === 'string' ? meta.movie : clip.id} @ ${typeof meta.t_center === 'number' ? meta.t_center.toFixed(1) : '?'} s`;
      const score = typeof meta.score === 'number' ? ` · ${meta.score.toFixed(2)}` : '';
      figures.push(
        `<figure><div class="f" style="width:${S}px;height:${S}px;background:url('${esc(encodeURIComponent(`${safeName(cls)}.png`))}') -${x}px -${y}px"></div>` +
          `<figcaption><b>${i + 1}.</b> ${esc(sentence)}<br><small>${esc(where)}${esc(score)}</small></figcaption></figure>`,
      );
    });
    const file = `${safeName(cls)}.png`;
    await writeFile(path.join(outDir, file), r.toPng());
    pngs[cls] = file;
    sections.push(
      `<section><h2>${esc(cls)} <small>(${list.length} clip${list.length === 1 ? '' : 's'})</small></h2>\n${figures.join('\n')}\n</section>`,
    );
  }
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Mined clips: contact sheets</title>
<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;vertical-align:top;width:${Math.max(S, 160)}px;margin:4px}
.f{border:1px solid #ccc}figcaption{font-size:12px}section{margin-bottom:2em}</style></head>
<body><h1>Mined clips: the middle frame of each clip, with the sentence that mined it</h1>
<p>${index.clips.length} clips, ${classes.length} classes, ${T} frames of ${S}×${S} per clip.</p>
${sections.join('\n') || '<p>No clips.</p>'}
</body></html>
`;
  await writeFile(path.join(outDir, 'index.html'), html);
  return { html: 'index.html', pngs };
}
