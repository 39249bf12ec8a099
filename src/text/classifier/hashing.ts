// Hashed word and character n-gram features for the `ngram` encoder (the embedded default, which
// needs no download). Plain JS, no allocation per n-gram: inference must reach ≥ 200k sentences/s.

export interface NgramConfig {
  /** Number of hash buckets (a power of two). */
  buckets: number;
  /** Word n-gram orders, e.g. [1, 2]. */
  wordNgrams: number[];
  /** Character n-gram orders inside each word padded with `<` `>`, e.g. [3, 4]; [] for none. */
  charNgrams: number[];
  /** Sentences longer than this many words are truncated to their first `maxTokens` words. */
  maxTokens: number;
  /** Lowercase before hashing. */
  lowercase: boolean;
}

export const defaultNgramConfig: NgramConfig = {
  buckets: 1 << 16,
  wordNgrams: [1, 2],
  charNgrams: [3, 4],
  maxTokens: 64,
  lowercase: true,
};

/** Sparse features of one sentence: bucket ids and values (values already L2-scaled). */
export interface SparseFeatures {
  indices: Int32Array;
  values: Float32Array;
  length: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Distinct seeds keep the word, word-bigram and char-gram spaces apart inside the shared buckets.
const SEED_WORD = 0x9e3779b1;
const SEED_CHAR = 0x85ebca77;

// Lower-case table for the BMP, built once: lower-casing char by char without allocating a string.
const LOWER = new Uint16Array(65536);
for (let c = 0; c < 65536; c++) {
  const l = String.fromCharCode(c).toLowerCase();
  LOWER[c] = l.length === 1 ? l.charCodeAt(0) : c;
}
LOWER[0x2019] = 39; // ’ → '

function isWordChar(c: number): boolean {
  // letters, digits, apostrophes — "don't" stays one word.
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 39 ||
    (c >= 0xc0 && c !== 0x2014 && c !== 0x2013 && c !== 0x201c && c !== 0x201d && c !== 0x2026)
  );
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Reusable feature extractor: `extract(sentence)` fills internal buffers and returns a view on them
 * (valid until the next call). One instance per thread.
 */
export class NgramHasher {
  readonly config: NgramConfig;
  private readonly mask: number;
  private idx: Int32Array;
  private val: Float32Array;
  private readonly wordStart: Int32Array;
  private readonly wordEnd: Int32Array;
  private readonly wordHash: Uint32Array;
  private codes = new Uint16Array(256);
  private readonly charOrders: number[];
  private readonly maxCharOrder: number;

  constructor(config: NgramConfig) {
    if (!Number.isInteger(Math.log2(config.buckets)))
      throw new Error(`buckets must be a power of two, got ${config.buckets}`);
    this.config = config;
    this.mask = config.buckets - 1;
    this.idx = new Int32Array(1024);
    this.val = new Float32Array(1024);
    this.wordStart = new Int32Array(config.maxTokens);
    this.wordEnd = new Int32Array(config.maxTokens);
    this.wordHash = new Uint32Array(config.maxTokens);
    this.charOrders = [...new Set(config.charNgrams)].filter((o) => o > 0).sort((a, b) => a - b);
    this.maxCharOrder = this.charOrders.at(-1) ?? 0;
  }

  private push(n: number, bucket: number): number {
    if (n >= this.idx.length) {
      const idx = new Int32Array(this.idx.length * 2);
      idx.set(this.idx);
      this.idx = idx;
      this.val = new Float32Array(idx.length);
    }
    this.idx[n] = bucket;
    return n + 1;
  }

  extract(sentence: string): SparseFeatures {
    const { maxTokens, wordNgrams, lowercase } = this.config;
    const mask = this.mask;
    // 0. char codes, lower-cased, ’ → '
    const len = sentence.length;
    if (this.codes.length < len + 2) this.codes = new Uint16Array(Math.max(len + 2, this.codes.length * 2));
    const codes = this.codes;
    for (let i = 0; i < len; i++) {
      const c = sentence.charCodeAt(i);
      codes[i] = lowercase ? LOWER[c]! : c === 0x2019 ? 39 : c;
    }
    // 1. split into words (runs of word characters), at most maxTokens of them.
    let words = 0;
    for (let i = 0; i < len && words < maxTokens; ) {
      while (i < len && !isWordChar(codes[i]!)) i++;
      if (i >= len) break;
      let s = i;
      while (i < len && isWordChar(codes[i]!)) i++;
      let e = i;
      // quotes around a word ('run') are not part of it
      while (s < e && codes[s] === 39) s++;
      while (e > s && codes[e - 1] === 39) e--;
      if (e === s) continue;
      let h = FNV_OFFSET;
      for (let j = s; j < e; j++) h = Math.imul(h ^ codes[j]!, FNV_PRIME);
      this.wordStart[words] = s;
      this.wordEnd[words] = e;
      this.wordHash[words] = h >>> 0;
      words++;
    }
    let n = 0;
    // 2. word n-grams
    for (const order of wordNgrams) {
      for (let w = 0; w + order <= words; w++) {
        let h = SEED_WORD + order;
        for (let k = 0; k < order; k++) h = Math.imul(h ^ this.wordHash[w + k]!, FNV_PRIME);
        n = this.push(n, mix(h) & mask);
      }
    }
    // 3. character n-grams of "<word>": one pass per start position extends the hash through
    //    every order (orders must be sorted ascending).
    const maxOrder = this.maxCharOrder;
    if (maxOrder > 0) {
      const orders = this.charOrders;
      for (let w = 0; w < words; w++) {
        const s = this.wordStart[w]!;
        const padded = this.wordEnd[w]! - s + 2;
        for (let p = 0; p + orders[0]! <= padded; p++) {
          let h = SEED_CHAR;
          let next = 0;
          for (let k = 0; k < maxOrder && p + k < padded; k++) {
            const q = p + k;
            const c = q === 0 ? 60 /* < */ : q === padded - 1 ? 62 /* > */ : codes[s + q - 1]!;
            h = Math.imul(h ^ c, FNV_PRIME);
            if (k + 1 === orders[next]) {
              n = this.push(n, mix(h ^ Math.imul(k + 1, 0x9e3779b1)) & mask);
              next++;
            }
          }
        }
      }
    }
    // 4. every feature weighs 1/sqrt(n): sentences of any length land on the same scale.
    const v = n > 0 ? 1 / Math.sqrt(n) : 0;
    this.val.fill(v, 0, n);
    return { indices: this.idx, values: this.val, length: n };
  }
}
