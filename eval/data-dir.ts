// Typed view of eval/data-dir.cjs (one definition of where the eval data lives).
import { createRequire } from 'node:module';

const shared = createRequire(import.meta.url)('./data-dir.cjs') as {
  repoRoot: string;
  REQUIRED: readonly string[];
  dataDirFromEnv(env?: NodeJS.ProcessEnv): string;
  checkDataDir(dir: string): string | undefined;
};

export const { repoRoot, REQUIRED, dataDirFromEnv, checkDataDir } = shared;
