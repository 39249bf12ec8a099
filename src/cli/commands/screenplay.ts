// `exp screenplay parse <file> [--lines | --elements]`: parse one screenplay (IMSDb text or HTML)
// and print its line tags ({"line", "tag"} per line of the file split on \n) or its elements,
// as JSON lines.
import { readFileSync } from 'node:fs';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
// The command's own modules load when it runs: `exp --help` and `exp <command> --help` read only
// the declaration below (see test/engine/startup-imports.test.ts).
import { type CommandSpec, helpText, parseCommand, subcommand } from '../args.ts';

export const screenplaySpec: CommandSpec = {
  name: 'screenplay',
  usage: 'screenplay parse <file> [--lines | --elements]',
  summary: 'Parse a screenplay (IMSDb text or HTML) and print its line tags or its elements as JSON lines.',
  options: [
    { name: 'lines', type: 'boolean', description: 'one {"line", "tag"} per line of the file (tags S N C D E T O)' },
    { name: 'elements', type: 'boolean', description: 'the element stream: headings, actions, speech (the default)' },
  ],
  examples: ['exp screenplay parse scripts/Alien.txt', 'exp screenplay parse scripts/Alien.html --lines | head'],
  success: 'parsed',
  errors: ['EXP_INPUT_MISSING', 'EXP_DATA_INVALID'],
  without: ['runs', 'plugin'],
};

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export async function screenplayCommand(argv: string[], io: Io): Promise<number> {
  try {
    return await screenplay(argv, io);
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}

async function screenplay(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(screenplaySpec, argv[0] === 'screenplay' ? argv.slice(1) : argv);
  if (values.help) {
    io.stdout.write(helpText(screenplaySpec));
    return 0;
  }
  const files = subcommand(screenplaySpec, positionals, ['parse']).rest;
  if (values.lines && values.elements)
    throw new ExpError('EXP_ARGS_INVALID', 'exp screenplay: give either --lines or --elements, not both', {
      hint: `usage: exp ${screenplaySpec.usage}`,
    });
  if (files.length !== 1)
    throw new ExpError(
      'EXP_ARGS_INVALID',
      `exp screenplay parse: give exactly one screenplay file (got ${files.length})`,
      {
        hint: `usage: exp ${screenplaySpec.usage}`,
      },
    );
  const file = files[0]!;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (e as Error).message;
    throw new ExpError('EXP_INPUT_MISSING', `cannot read ${file}: ${why}`, {
      hint: 'give the path of a .txt or .html screenplay',
    });
  }
  const { decodeScreenplayBytes } = await import('../../screenplay/decode.ts');
  const { parseScreenplay } = await import('../../screenplay/parse.ts');
  const decoded = decodeScreenplayBytes(bytes);
  if (!decoded.ok)
    throw new ExpError('EXP_DATA_INVALID', `cannot read ${file} as a screenplay: ${decoded.reason}`, {
      hint: 'give a plain-text or HTML screenplay (UTF-8, UTF-16 or Windows-1252)',
    });
  const parsed = parseScreenplay(decoded.text);
  const out: string[] = [];
  if (values.lines) parsed.tags.forEach((tag, line) => out.push(`{"line":${line},"tag":"${tag}"}`));
  else for (const e of parsed.elements) out.push(JSON.stringify(e));
  // One write per 4,096 lines keeps large scripts fast without building one huge string.
  for (let i = 0; i < out.length; i += 4096) io.stdout.write(`${out.slice(i, i + 4096).join('\n')}\n`);
  return 0;
}
