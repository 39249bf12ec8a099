// Finds ../shared/data (override: EXP_SHARED_DATA). Tests that need it call `sharedData()`:
// under CI=true a missing folder fails loudly; elsewhere the test is skipped with a message.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const sharedDataDir: string = process.env.EXP_SHARED_DATA
  ? path.resolve(process.env.EXP_SHARED_DATA)
  : path.resolve(root, '../shared/data');

export const hasSharedData: boolean = existsSync(sharedDataDir);

if (!hasSharedData && process.env.CI === 'true') {
  throw new Error(
    `shared data not found at ${sharedDataDir}: CI needs ../shared/data beside the checkout (or EXP_SHARED_DATA)`,
  );
}
if (!hasSharedData) {
  console.warn(`[tests] ${sharedDataDir} missing: tests that need shared data are skipped (set EXP_SHARED_DATA)`);
}

/** Absolute path inside the shared data folder. */
export function sharedPath(...parts: string[]): string {
  return path.join(sharedDataDir, ...parts);
}

/** `describe.runIf(hasSharedData)` reads better at call sites as `describeShared`. */
export const repoRoot = root;
