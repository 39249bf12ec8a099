// `exp screenplay parse <file> [--lines | --elements]`: parse one screenplay (IMSDb text or HTML)
// and print its line tags ({"line", "tag"} per line of the file split on \n) or its elements,
// as JSON lines.
import { readFileSync } from 'node:fs';
import { decodeScreenplayBytes } from '../../screenplay/decode.ts';
import { parseScreenplay } from '../../screenplay/parse.ts';

const USAGE =
  'usage: exp screenplay parse <file> [--lines | --elements]\n  --lines     one {"line", "tag"} per line (S N C D E T O)\n  --elements  the element stream (default)\n';

export async function screenplayCommand(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  const args = argv[0] === 'screenplay' ? argv.slice(1) : argv;
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'parse') {
    io.stderr.write(`✖ unknown screenplay command ${sub === undefined ? '(none)' : JSON.stringify(sub)}\n${USAGE}`);
    return 2;
  }
  let mode: 'lines' | 'elements' | null = null;
  const files: string[] = [];
  for (const a of rest) {
    if (a === '--lines' || a === '--elements') {
      const m = a === '--lines' ? 'lines' : 'elements';
      if (mode && mode !== m) {
        io.stderr.write(`✖ give either --lines or --elements, not both\n${USAGE}`);
        return 2;
      }
      mode = m;
    } else if (a === '--help' || a === '-h') {
      io.stdout.write(USAGE);
      return 0;
    } else if (a.startsWith('--')) {
      io.stderr.write(`✖ unknown option ${a}\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (files.length !== 1) {
    io.stderr.write(`✖ give exactly one screenplay file (got ${files.length})\n${USAGE}`);
    return 2;
  }
  const file = files[0]!;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (e as Error).message;
    io.stderr.write(`✖ cannot read ${file}: ${why}\n  → give the path of a .txt or .html screenplay\n`);
    return 2;
  }
  const decoded = decodeScreenplayBytes(bytes);
  if (!decoded.ok) {
    io.stderr.write(
      `✖ cannot read ${file} as a screenplay: ${decoded.reason}\n  → give a plain-text or HTML screenplay (UTF-8, UTF-16 or Windows-1252)\n`,
    );
    return 2;
  }
  const parsed = parseScreenplay(decoded.text);
  const out: string[] = [];
  if (mode === 'lines') parsed.tags.forEach((tag, line) => out.push(`{"line":${line},"tag":"${tag}"}`));
  else for (const e of parsed.elements) out.push(JSON.stringify(e));
  // One write per 4,096 lines keeps large scripts fast without building one huge string.
  for (let i = 0; i < out.length; i += 4096) io.stdout.write(`${out.slice(i, i + 4096).join('\n')}\n`);
  return 0;
}
