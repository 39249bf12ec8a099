// Plain-JS entry of the parser worker thread: registers tsx's loader, then loads the TypeScript
// worker (a .ts entry file cannot load itself: the loader is not registered yet).
import { register } from 'tsx/esm/api';

register();
await import('./corpus-parse-worker.ts');
