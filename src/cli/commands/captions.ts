// `exp captions parse <file> [--json] [--format srt|vtt|sbv]`: read one subtitle file and print its
// sentences with time spans. Warnings (skipped cues) go to stderr, each naming the file and line.
import type { CaptionFormat } from '../../captions/index.ts';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
import { type CommandSpec, helpText, parseCommand, str, subcommand } from '../args.ts';
// The command's own modules load when it runs: `exp --help` and `exp <command> --help` read only
// the declaration below (see test/engine/startup-imports.test.ts).

export interface CommandIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

export const captionsSpec: CommandSpec = {
  name: 'captions',
  usage: 'captions parse <file> [--json] [--format srt|vtt|sbv]',
  summary: 'Parse a subtitle file (SRT, WebVTT, SBV; any common encoding) into sentences with time spans.',
  options: [
    { name: 'json', type: 'boolean', description: 'print {"cues", "sentences": [{text, start, end}]} as JSON' },
    {
      name: 'format',
      type: 'string',
      value: 'FORMAT',
      description: 'the subtitle format (default: from the extension, else the content)',
      choices: ['srt', 'vtt', 'sbv'],
    },
  ],
  examples: ['exp captions parse movies/Alien.srt', 'exp captions parse movies/Alien.en.vtt --json'],
  success: 'parsed (skipped cues are listed on stderr, each with its file and line)',
  errors: ['EXP_INPUT_MISSING', 'EXP_DATA_INVALID'],
  without: ['runs', 'plugin'],
};

export async function captionsCommand(argv: string[], io: CommandIO): Promise<number> {
  try {
    return await captions(argv, io);
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}

async function captions(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommand(captionsSpec, argv);
  if (values.help) {
    io.stdout.write(helpText(captionsSpec));
    return 0;
  }
  const files = subcommand(captionsSpec, positionals, ['parse']).rest;
  if (files.length !== 1)
    throw new ExpError('EXP_ARGS_INVALID', `exp captions parse: give exactly one subtitle file (got ${files.length})`, {
      hint: `usage: exp ${captionsSpec.usage}`,
    });
  const json = Boolean(values.json);
  const format = str(values.format) as CaptionFormat | undefined;
  const file = files[0]!;
  const { readCaptionFile, splitSentences, formatTimestamp } = await import('../../captions/index.ts');
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
    for (const s of sentences) io.stdout.write(`${formatTimestamp(s.start)} → ${formatTimestamp(s.end)}  ${s.text}\n`);
  }
  return 0;
}
