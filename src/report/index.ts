// `exp report` and `exp compare` from the run records of a runs folder. The generic part of the
// engine's output: it reads invocation records and node manifests, and lays out what stage kinds
// declare (StageKind.report); it imports no stage and no domain room.
export { buildReport, defaultReportFile, type ReportOptions, type ReportResult } from './build.ts';
export { compareTable, formatCompareCsv, formatCompareText, globToRegExp, type CompareTable } from './compare.ts';
export type { Declaration } from './declared.ts';
export {
  describeValues,
  readRunSet,
  selectInvocations,
  type PointRecord,
  type RunSet,
  type Selection,
} from './records.ts';
