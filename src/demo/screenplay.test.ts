import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';
import { generateScreenplay, type ScreenplayOptions } from './screenplay.ts';
import { ACTION_CLASSES, allForms, CLASS_VERBS, NEUTRAL_STAGE_VERBS, NEUTRAL_VERBS } from './verbs.ts';

const opts: ScreenplayOptions = {
  elements: 250,
  noise: { pGeneric: 0.3, pAmbiguous: 0.12, pHeldOut: 0.4 },
  pPolysemous: 0.2,
  pActionBeat: 0.45,
};

/** Columns of leading whitespace, tabs every 8 columns (as a text viewer shows IMSDb files). */
function indentOf(line: string): number {
  let col = 0;
  for (const ch of line) {
    if (ch === ' ') col += 1;
    else if (ch === '\t') col = (Math.floor(col / 8) + 1) * 8;
    else break;
  }
  return col;
}

describe('generateScreenplay', () => {
  it('is deterministic by seed and differs across seeds', () => {
    const a = generateScreenplay(new Rng(7), opts).text;
    expect(generateScreenplay(new Rng(7), opts).text).toBe(a);
    expect(generateScreenplay(new Rng(8), opts).text).not.toBe(a);
  });

  it('has the IMSDb layout: headings, margin action, indented caps cues, less-indented dialogue, parentheticals, transitions, page numbers', () => {
    const sp = generateScreenplay(new Rng(11), { ...opts, elements: 400 });
    const lines = sp.text.split(/\r?\n/);
    const L = sp.layout;
    expect(lines.some((l) => /^\s*(\d+ )?(INT|EXT)\. [A-Z ]+ - [A-Z]+( \d+)?$/.test(l))).toBe(true);
    const cues = lines.filter((l) => indentOf(l) === L.cueIndent && /^[A-Z][A-Z' .()]+$/.test(l.trim()));
    expect(cues.length).toBeGreaterThan(50);
    expect(L.cueIndent).toBeGreaterThanOrEqual(24);
    expect(L.dialogueIndent).toBeGreaterThan(L.actionIndent);
    expect(L.dialogueIndent).toBeLessThan(L.cueIndent);
    // The line after a cue is a parenthetical or dialogue, indented less than the cue.
    for (let i = 0; i < lines.length - 1; i++) {
      if (!cues.includes(lines[i]!)) continue;
      const next = lines[i + 1]!;
      expect(indentOf(next)).toBeLessThan(L.cueIndent);
      expect(indentOf(next)).toBeGreaterThanOrEqual(L.dialogueIndent);
    }
    expect(
      lines.some((l) => /^\s+\((quietly|beat|smiling|angry|to himself|whispering|off her look|pause)\)$/.test(l)),
    ).toBe(true);
    expect(lines.some((l) => /^\s{20,}.*(CUT|DISSOLVE) TO:$/.test(l.replace(/\t/g, '        ')))).toBe(true);
    expect(lines.some((l) => /^\s{40,}\d+\.$/.test(l))).toBe(true);
    const actionLines = lines.filter((l) => l.trim() !== '' && indentOf(l) === L.actionIndent);
    expect(actionLines.some((l) => / (opens|kisses|points|runs|drives|phones) /.test(l))).toBe(true);
    expect(sp.truth.elements).toBeGreaterThanOrEqual(400);
  });

  it('varies margins, tabs, line endings and scene numbers between scripts', () => {
    const layouts = Array.from({ length: 30 }, (_, i) =>
      generateScreenplay(new Rng(100 + i), { ...opts, elements: 30 }),
    );
    expect(new Set(layouts.map((s) => s.layout.cueIndent)).size).toBeGreaterThan(3);
    expect(new Set(layouts.map((s) => s.layout.actionIndent)).size).toBeGreaterThan(2);
    expect(layouts.some((s) => s.layout.tabs && s.text.includes('\t'))).toBe(true);
    expect(layouts.some((s) => s.text.includes('\r\n'))).toBe(true);
    expect(layouts.some((s) => !s.text.includes('\r\n'))).toBe(true);
    expect(layouts.some((s) => /^\s*\d+ (INT|EXT)\./m.test(s.text))).toBe(true);
  });

  it('uses all 18 action verbs in several conjugations, and the neutral verbs more often than any of them', () => {
    const text = Array.from({ length: 12 }, (_, i) => generateScreenplay(new Rng(i), opts).text).join('\n');
    const count = (w: string) => (text.match(new RegExp(`\\b${w}\\b`, 'g')) ?? []).length;
    let maxClass = 0;
    for (const c of ACTION_CLASSES) {
      const forms = allForms(CLASS_VERBS[c].forms).filter((f) => count(f) > 0);
      expect(forms.length, c).toBeGreaterThanOrEqual(2);
      maxClass = Math.max(maxClass, count(CLASS_VERBS[c].forms.s));
    }
    for (const v of NEUTRAL_VERBS) expect(count(NEUTRAL_STAGE_VERBS[v].forms.s), v).toBeGreaterThan(maxClass);
  });

  it('follows the noise knobs: all-generic speech has no typical line, no polysemy when switched off', () => {
    const quiet = generateScreenplay(new Rng(3), {
      ...opts,
      noise: { ...opts.noise, pGeneric: 1, pAmbiguous: 0 },
      pPolysemous: 0,
    });
    expect(quiet.truth.lines.typical).toBe(0);
    expect(quiet.truth.lines.polysemous).toBe(0);
    expect(quiet.text).not.toMatch(/missed the point|open question/);
    const noisy = generateScreenplay(new Rng(3), { ...opts, pPolysemous: 1 });
    expect(noisy.truth.lines.polysemous).toBeGreaterThan(20);
    expect(noisy.truth.lines.typical).toBeGreaterThan(10);
  });
});
