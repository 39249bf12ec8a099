// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`, then the raw
// little-endian tensor bytes. Enough of it to read BERT checkpoints (F32, F16, BF16 → float32)
// and to write our fine-tuned encoders back in the same format.
import { readFile, writeFile } from 'node:fs/promises';
import { ExpError } from '../../errors.ts';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** All float tensors of a .safetensors file as float32 (other dtypes are skipped). */
export async function readSafetensors(file: string): Promise<Map<string, NamedTensor>> {
  const buf = await readFile(file);
  const fail = (why: string): ExpError =>
    new ExpError('EXP_DATA_INVALID', `${file} is not a valid safetensors file (${why})`, {
      hint: 'write it with the safetensors library (save_file / save_pretrained)',
      detail: { file },
    });
  if (buf.byteLength < 8) throw fail('shorter than its header');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.byteLength) throw fail('header longer than the file');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Header;
  } catch (e) {
    throw fail(`header is not JSON: ${(e as Error).message}`);
  }
  const base = 8 + headerLen;
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = t.data_offsets;
    if (base + end > buf.byteLength || begin > end) throw fail(`${name} lies outside the file`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const bytes = buf.subarray(base + begin, base + end);
    const data = new Float32Array(size);
    if (t.dtype === 'F32') {
      if (bytes.byteLength !== size * 4) throw fail(`${name}: ${bytes.byteLength} bytes for ${size} floats`);
      // little-endian hosts (x86, ARM): a byte copy is the conversion
      new Uint8Array(data.buffer).set(bytes);
    } else if (t.dtype === 'F16' || t.dtype === 'BF16') {
      if (bytes.byteLength !== size * 2) throw fail(`${name}: ${bytes.byteLength} bytes for ${size} halves`);
      const u32 = new Uint32Array(1);
      const f32 = new Float32Array(u32.buffer);
      for (let i = 0; i < size; i++) {
        const h = bytes.readUInt16LE(i * 2);
        if (t.dtype === 'F16') data[i] = f16ToF32(h);
        else {
          u32[0] = h << 16;
          data[i] = f32[0]!;
        }
      }
    } else continue;
    out.set(name, { shape: [...t.shape], data });
  }
  return out;
}

/** Writes float32 tensors (sorted by name, as the Python library does). */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, NamedTensor>,
  metadata: Record<string, string> = { format: 'pt' },
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const names = [...tensors.keys()].sort();
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.byteLength + offset);
  out.writeBigUInt64LE(BigInt(json.byteLength), 0);
  json.copy(out, 8);
  let at = 8 + json.byteLength;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  await writeFile(file, out);
}
