// The real data for `make eval` checks. Missing data is an error at once (never a skip): eval
// exists to measure on real material.
import path from 'node:path';
import { checkDataDir, dataDirFromEnv } from './data-dir.ts';

export { repoRoot } from './data-dir.ts';

export const dataDir = dataDirFromEnv();
const problem = checkDataDir(dataDir);
if (problem) throw new Error(problem);

/** Absolute path inside the data folder. */
export function dataPath(...parts: string[]): string {
  return path.join(dataDir, ...parts);
}
