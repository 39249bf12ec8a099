// Keyword spotting, the paper's baseline (§4.2.2): a sentence gets a verb class when one of the
// verb's conjugations occurs in it as a word. Case-insensitive; words are runs of letters, digits
// and inner apostrophes ("don't" is one word and does not contain "don"); quotes around a word
// ('run') do not hide it; ’ counts as '. A multi-word form ("pick up") must occur as consecutive words.

export interface VerbClass {
  verb: string;
  count?: number;
  forms: string[];
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** The words of a sentence as keyword spotting sees them (lowercase, ’ → '). */
export function keywordWords(sentence: string): string[] {
  return (sentence.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/’/g, "'"));
}

/** Returns a function listing the verbs (in class order) whose forms occur in a sentence. */
export function createKeywordSpotter(classes: VerbClass[]): (sentence: string) => string[] {
  // first word of a form → [class index, the form's words]
  const byFirst = new Map<string, { cls: number; words: string[] }[]>();
  classes.forEach((c, cls) => {
    const forms = new Set([c.verb, ...c.forms]);
    for (const form of forms) {
      const words = keywordWords(form);
      if (words.length === 0) continue;
      const list = byFirst.get(words[0]!) ?? [];
      list.push({ cls, words });
      byFirst.set(words[0]!, list);
    }
  });
  return (sentence: string) => {
    const words = keywordWords(sentence ?? '');
    const hit = new Array<boolean>(classes.length).fill(false);
    for (let i = 0; i < words.length; i++) {
      const candidates = byFirst.get(words[i]!);
      if (!candidates) continue;
      for (const { cls, words: fw } of candidates) {
        if (hit[cls]) continue;
        let ok = i + fw.length <= words.length;
        for (let j = 1; ok && j < fw.length; j++) ok = words[i + j] === fw[j];
        if (ok) hit[cls] = true;
      }
    }
    const out: string[] = [];
    hit.forEach((h, cls) => h && out.push(classes[cls]!.verb));
    return out;
  };
}
