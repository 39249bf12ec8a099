// Where the XTAG lexicon lives when a spec does not say: $EXP_LEXICON, then the copy shipped in
// the repository (data/lexicon, with its UPenn notice).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpError } from '../errors.ts';
import { getLexicon, type Lexicon } from './lexicon.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The XTAG morphology shipped with exp (data/lexicon/xtag/morph_english.flat.gz). */
export const SHIPPED_LEXICON = path.join(repoRoot, 'data', 'lexicon');

export function lexiconCandidates(): string[] {
  const out: string[] = [];
  if (process.env.EXP_LEXICON) out.push(path.resolve(process.env.EXP_LEXICON));
  out.push(SHIPPED_LEXICON);
  return out;
}

/** The first existing default lexicon folder, or null. */
export function defaultLexiconPath(): string | null {
  for (const c of lexiconCandidates()) {
    if (existsSync(path.join(c, 'xtag', 'morph_english.flat.gz')) || existsSync(path.join(c, 'morph_english.flat.gz')))
      return c;
  }
  return null;
}

/** The lexicon named explicitly, else the default location; a clear ExpError if there is none. */
export function resolveLexicon(explicit: string | undefined, who: string): Lexicon {
  const location = explicit ?? defaultLexiconPath();
  if (!location) {
    throw new ExpError('EXP_INPUT_MISSING', `${who}: the XTAG lexicon (morph_english.flat.gz) was not found`, {
      hint: `set \`lexicon:\` to a folder holding xtag/morph_english.flat.gz, or EXP_LEXICON (looked in ${lexiconCandidates().join(', ')})`,
      detail: { key: 'lexicon' },
    });
  }
  try {
    return getLexicon(location);
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `${who}: cannot read the lexicon at ${location}: ${(e as Error).message}`, {
      hint: 'point `lexicon:` at a folder holding xtag/morph_english.flat.gz',
      cause: e,
      detail: { key: 'lexicon', file: location },
    });
  }
}

export const LEXICON_PARAM_DESCRIPTION =
  'Folder holding the XTAG morphology (xtag/morph_english.flat.gz). Default: $EXP_LEXICON, else the copy shipped in data/lexicon.';
