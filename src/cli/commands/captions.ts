// `exp captions parse <file> [--json] [--format srt|vtt|sbv]`: read one subtitle file and print its
// sentences with time spans. Warnings (skipped cues) go to stderr, each naming the file and line.
import { readCaptionFile, splitSentences, formatTimestamp } from '../../captions/index.ts';
import type { CaptionFormat } from '../../captions/index.ts';
import { exitCodeFor } from '../../error-codes.ts';
import { isExpError } from '../../errors.ts';

export interface CommandIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

const USAGE = 'usage: exp captions parse <file> [--json] [--format srt|vtt|sbv]\n';

export async function captionsCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'parse') {
    io.stderr.write(`✖ unknown captions command ${sub === undefined ? '(none)' : JSON.stringify(sub)}\n${USAGE}`);
    return 2;
  }
  let json = false;
  let format: CaptionFormat | undefined;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json') json = true;
    else if (a === '--format') {
      const f = rest[++i];
      if (f !== 'srt' && f !== 'vtt' && f !== 'sbv') {
        io.stderr.write(`✖ --format takes srt, vtt or sbv (got ${f ?? 'nothing'})\n`);
        return 2;
      }
      format = f;
    } else if (a === '--') {
      files.push(...rest.slice(i + 1));
      i = rest.length;
    } else if (a.startsWith('--')) {
      io.stderr.write(`✖ unknown option ${a}\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (files.length !== 1) {
    io.stderr.write(`✖ give exactly one subtitle file\n${USAGE}`);
    return 2;
  }
  const file = files[0]!;
  try {
    const track = await readCaptionFile(file, format);
    for (const w of track.warnings) io.stderr.write(`⚠ ${file}${w.line ? `:${w.line}` : ''}: ${w.message}\n`);
    const sentences = splitSentences(track.cues);
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ cues: track.cues.length, sentences: sentences.map((s) => ({ text: s.text, start: s.start, end: s.end })) })}\n`,
      );
    } else {
      io.stdout.write(
        `${file}: ${track.format}, ${track.encoding}, ${track.cues.length} cues, ${sentences.length} sentences\n`,
      );
      for (const s of sentences)
        io.stdout.write(`${formatTimestamp(s.start)} → ${formatTimestamp(s.end)}  ${s.text}\n`);
    }
    return 0;
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}
