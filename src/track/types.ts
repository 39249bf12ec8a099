// Plain data shared by the tracker's modules: the MLflow entities as we hold them in memory.

/** MLflow run statuses (file store meta.yaml holds the integer, REST the name). */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export const STATUS_CODE: Record<RunStatus, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };
export const STATUS_NAME: Record<number, RunStatus> = {
  1: 'RUNNING',
  2: 'SCHEDULED',
  3: 'FINISHED',
  4: 'FAILED',
  5: 'KILLED',
};

export type ParamValue = string | number | boolean | null;

/** One metric observation as the engine logs it (step and timestamp default to 0 and now). */
export interface MetricInput {
  key: string;
  value: number;
  step?: number;
  timestamp?: number;
}

/** One stored metric observation. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export interface ExperimentInfo {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: string;
  creationTime: number | null;
  lastUpdateTime: number | null;
}

export interface RunInfoData {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  lifecycleStage: string;
}

/** A run read back with everything the UI shows. `metrics` holds the latest value per key. */
export interface RunRecord {
  info: RunInfoData;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricPoint>;
}
