// Bytes → text for scraped screenplays: UTF-8 (with or without BOM), UTF-16 LE/BE (BOM or
// the NUL pattern of ASCII text), Windows-1252 (smart quotes 0x91-0x94 that are invalid UTF-8).
// Binary, empty and mostly-unreadable files are refused with a reason a user can act on.

export type ScreenplayEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export type DecodeResult = { ok: true; text: string; encoding: ScreenplayEncoding } | { ok: false; reason: string };

// Windows-1252 code points for bytes 0x80-0x9F (undefined bytes map to U+FFFD).
const CP1252_HIGH = [
  0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd,
  0x017d, 0xfffd, 0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0xfffd, 0x017e, 0x0178,
];

export function decodeWindows1252(buf: Uint8Array): string {
  const parts: string[] = [];
  const chunk = 8192;
  for (let start = 0; start < buf.length; start += chunk) {
    const end = Math.min(buf.length, start + chunk);
    const codes = new Array<number>(end - start);
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      codes[i - start] = b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b;
    }
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function looksUtf16(buf: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const n = Math.min(buf.length - (buf.length % 2), 4096);
  if (n < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i] === 0) evenNul++;
    if (buf[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.4 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.4 && oddNul < pairs * 0.05) return 'utf-16be';
  return null;
}

/** Share of characters that are control characters other than tab/CR/LF/FF (binary sniffing). */
function controlShare(text: string): number {
  const n = Math.min(text.length, 65536);
  if (n === 0) return 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd) bad++;
  }
  return bad / n;
}

/**
 * Decodes a screenplay file's bytes. Returns `{ok: false, reason}` for empty, binary or
 * undecodable input (the caller skips the file with a warning naming it).
 */
export function decodeScreenplayBytes(buf: Uint8Array): DecodeResult {
  if (buf.length === 0) return { ok: false, reason: 'empty file' };
  let text: string;
  let encoding: ScreenplayEncoding;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    text = new TextDecoder('utf-8').decode(buf.subarray(3));
    encoding = 'utf-8';
  } else if (buf[0] === 0xff && buf[1] === 0xfe) {
    text = new TextDecoder('utf-16le').decode(buf.subarray(2));
    encoding = 'utf-16le';
  } else if (buf[0] === 0xfe && buf[1] === 0xff) {
    text = new TextDecoder('utf-16be').decode(buf.subarray(2));
    encoding = 'utf-16be';
  } else {
    const wide = looksUtf16(buf);
    if (wide) {
      text = new TextDecoder(wide).decode(buf);
      encoding = wide;
    } else {
      try {
        text = utf8Fatal.decode(buf);
        encoding = 'utf-8';
      } catch {
        text = decodeWindows1252(buf);
        encoding = 'windows-1252';
      }
    }
  }
  if (text.indexOf('\u0000') >= 0 || controlShare(text) > 0.02) {
    return { ok: false, reason: `binary content (not text in UTF-8, UTF-16 or Windows-1252)` };
  }
  if (text.trim().length === 0) return { ok: false, reason: 'no text (only whitespace)' };
  return { ok: true, text, encoding };
}
