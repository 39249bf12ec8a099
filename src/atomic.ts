// Atomic file writes for every room (store, tracker, invocations): a reader sees the old file or
// the new one, never half of one. The temp file sits on the same filesystem so rename() is atomic.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile, copyFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** `tmpDir` (same filesystem) keeps half-written files out of the destination folder. */
function tempName(file: string, tmpDir?: string): string {
  return join(tmpDir ?? dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, tmpDir?: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  if (tmpDir) await mkdir(tmpDir, { recursive: true });
  const tmp = tempName(file, tmpDir);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function copyFileAtomic(from: string, to: string, tmpDir?: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  if (tmpDir) await mkdir(tmpDir, { recursive: true });
  const tmp = tempName(to, tmpDir);
  try {
    await copyFile(from, tmp);
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
