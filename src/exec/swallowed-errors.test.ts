// No error in the executors is swallowed without a word: an ignored rejection or 'error' event is
// either handled (retried, reported, turned into an outcome) or logged once with what it means.
// This fails when one of the usual silent forms appears in src/exec/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SILENT: RegExp[] = [
  // .catch(() => {}), .catch((_e) => undefined), .catch(() => null), .catch(() => void 0)
  /\.catch\(\s*(?:\(\s*\w*\s*(?::\s*\w+)?\s*\)|\w+)\s*=>\s*(?:\{\s*\}|undefined|null|void 0)\s*\)/,
  // .on('error', () => {}) and once(...)
  /\.(?:on|once)\(\s*['"]error['"]\s*,\s*(?:\(\s*\w*\s*(?::\s*\w+)?\s*\)|\w+)\s*=>\s*(?:\{\s*\}|undefined|null)\s*\)/,
  // catch {} / catch (e) {} with nothing inside, not even a comment saying why
  /catch\s*(?:\(\s*\w*\s*\))?\s*\{\s*\}/,
];

function silentIn(text: string): number[] {
  const lines: number[] = [];
  for (const re of SILENT) {
    const g = new RegExp(re.source, 'g');
    for (let m = g.exec(text); m; m = g.exec(text)) lines.push(text.slice(0, m.index).split('\n').length);
  }
  return lines.sort((a, b) => a - b);
}

describe('src/exec swallows no error', () => {
  it('recognises the silent forms (and not a handled one)', () => {
    for (const silent of [
      'p.catch(() => {})',
      'p.catch((e) => {  })',
      'p.catch((_e: Error) => undefined)',
      'x.catch(() => null)',
      "conn.on('error', () => {})",
      'w.once("error", (e) => {})',
      'try { f() } catch {}',
      'try { f() } catch (e) { }',
    ])
      expect(silentIn(silent), silent).toHaveLength(1);
    for (const handled of [
      'p.catch((e: Error) => log(e.message))',
      "conn.on('error', (e) => watch.error(e))",
      'try { f() } catch {\n  // not created yet: nothing to read\n  return [];\n}',
    ])
      expect(silentIn(handled), handled).toHaveLength(0);
  });

  it('has none in src/exec/', () => {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    const found: string[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      for (const line of silentIn(readFileSync(path.join(dir, f), 'utf8'))) found.push(`src/exec/${f}:${line}`);
    }
    expect(found, 'handle these errors, or log them once saying what they mean').toEqual([]);
  });
});
