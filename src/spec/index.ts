// The spec room: YAML spec files → resolved, validated grid points (see docs in
// schemas/experiment.schema.json for the syntax).
export type {
  JsonSchema,
  KindInfo,
  KindLookup,
  LoadOptions,
  LoadedSpec,
  ResolvedPoint,
  ResolvedStage,
  SpecIssue,
} from './types.ts';
export { loadSpec } from './load.ts';
export { canonicalJson, shortHash } from '../canonical.ts';
export { SpecError, formatSpecIssues } from './issues.ts';
export { didYouMean } from './did-you-mean.ts';
export { parseKeyPath, absolutePath, formatPath } from './key-path.ts';
export type { PortInfo, PortSource } from './types.ts';
export { bindPorts, isPortActive, producedBy, wirePorts } from './ports.ts';
