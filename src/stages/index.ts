// Every Speech2Action stage kind, registered through the same public registry a plugin uses.
import type { StageKind } from '../plan/stage-kind.ts';

export const builtinKinds: StageKind<any>[] = [];
