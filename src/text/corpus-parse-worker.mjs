// Plain-JS entry of the parser's piscina worker: registers tsx's loader, then loads the TypeScript
// task (a .ts entry file cannot load itself: the loader is not registered yet).
import { register } from 'tsx/esm/api';

register();
const { default: parseChunk } = await import('./corpus-parse-worker.ts');
export default parseChunk;
