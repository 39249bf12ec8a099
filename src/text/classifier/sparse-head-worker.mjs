// Plain-JS entry of a Hogwild training thread (sparse-head-threads.ts): registers tsx's loader,
// then loads the TypeScript worker (a .ts entry file cannot load itself: no loader yet).
import { register } from 'tsx/esm/api';

register();
await import('./sparse-head-worker.ts');
