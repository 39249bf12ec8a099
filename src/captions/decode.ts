// Bytes → text for subtitle files found in the wild: a BOM decides (UTF-8/16/32), else strict
// UTF-8, else UTF-16 without BOM when every other byte is zero, else cp1252 (the usual encoding
// of older fan subtitles; it maps every byte, so decoding never fails).
import type { CaptionEncoding } from './types.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf16le = new TextDecoder('utf-16le', { ignoreBOM: true });
const utf16be = new TextDecoder('utf-16be', { ignoreBOM: true });
// Node's TextDecoder('windows-1252') decodes as latin-1 (0x80-0x9F become C1 controls), so the
// 32 bytes where cp1252 differs are mapped here.
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const latin1 = new TextDecoder('latin1');

function decodeCp1252(b: Uint8Array): string {
  const s = latin1.decode(b);
  return /[\u0080-\u009f]/.test(s) ? s.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!) : s;
}

export interface DecodedText {
  text: string;
  encoding: CaptionEncoding;
}

export function decodeSubtitleBytes(bytes: Uint8Array): DecodedText {
  const b = bytes;
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) {
    return { text: decodeUtf32(b.subarray(4), true), encoding: 'utf-32le' };
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) {
    return { text: decodeUtf32(b.subarray(4), false), encoding: 'utf-32be' };
  }
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    return { text: decodeUtf8OrCp1252(b.subarray(3)).text, encoding: 'utf-8-bom' };
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe)
    return { text: utf16le.decode(b.subarray(2)), encoding: 'utf-16le' };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff)
    return { text: utf16be.decode(b.subarray(2)), encoding: 'utf-16be' };
  const bomless16 = sniffUtf16(b);
  if (bomless16 === 'le') return { text: utf16le.decode(b), encoding: 'utf-16le' };
  if (bomless16 === 'be') return { text: utf16be.decode(b), encoding: 'utf-16be' };
  return decodeUtf8OrCp1252(b);
}

function decodeUtf8OrCp1252(b: Uint8Array): DecodedText {
  try {
    return { text: utf8.decode(b), encoding: 'utf-8' };
  } catch {
    return { text: decodeCp1252(b), encoding: 'cp1252' };
  }
}

/** UTF-16 without a BOM: ASCII-heavy text has a zero in every other byte of the first bytes. */
function sniffUtf16(b: Uint8Array): 'le' | 'be' | null {
  const n = Math.min(b.length & ~1, 512);
  if (n < 8) return null;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0) evenZero++;
    if (b[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero > pairs * 0.7 && evenZero < pairs * 0.1) return 'le';
  if (evenZero > pairs * 0.7 && oddZero < pairs * 0.1) return 'be';
  return null;
}

function decodeUtf32(b: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: string[] = [];
  let chunk: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const cp = view.getUint32(i, littleEndian);
    chunk.push(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? cp : 0xfffd);
    if (chunk.length === 8192) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
}
