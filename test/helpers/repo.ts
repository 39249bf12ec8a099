// The repository's root, for tests that read fixtures under test/fixtures or shipped data.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
