// verbs.mine's thresholds, absolute or per 1,000 scripts (§3.1: the paper keeps verbs seen at
// least 50 times and drops the 100 most frequent on 1,070 scripts). Given per 1,000 scripts, one
// spec keeps a sensible number of classes on the 80-script demo world and on 400 or 1,000 real
// scripts. Pure: the stage resolves them once it has counted the scripts; `exp plan` prints the
// formula before.
import { ExpError } from '../errors.ts';

export interface VerbThresholdParams {
  min_count?: number;
  drop_top?: number;
  min_count_per_1000_scripts?: number;
  drop_top_per_1000_scripts?: number;
  /** Older form: min_count × scripts / reference_movies. */
  reference_movies?: number;
}

export interface VerbThresholds {
  minCount: number;
  dropTop: number;
  /** How each was obtained, e.g. "46.7 per 1000 scripts × 309 scripts = 14.43 → 14". */
  minCountRule: string;
  dropTopRule: string;
}

/** Used when neither form is given (the paper's values, absolute). */
export const VERB_THRESHOLD_DEFAULTS = { min_count: 50, drop_top: 100 } as const;

/** Pairs of keys that may not both be set (the second one is reported). */
export const EXCLUSIVE_VERB_KEYS: readonly (readonly [string, string])[] = [
  ['min_count', 'min_count_per_1000_scripts'],
  ['drop_top', 'drop_top_per_1000_scripts'],
  ['reference_movies', 'min_count_per_1000_scripts'],
];

export function checkVerbThresholdParams(params: VerbThresholdParams, who = 'verbs.mine'): void {
  for (const [a, b] of EXCLUSIVE_VERB_KEYS) {
    if (params[a as keyof VerbThresholdParams] !== undefined && params[b as keyof VerbThresholdParams] !== undefined) {
      throw new ExpError('EXP_SPEC_INVALID', `${who}: "${a}" and "${b}" cannot both be set`, {
        hint: `keep one of them: ${a} (absolute) or ${b} (scaled with the number of scripts)`,
        detail: { key: b },
      });
    }
  }
}

const fmt = (x: number) => String(Number(x.toFixed(2)));

/**
 * The thresholds for a corpus of `scriptCount` scripts. A per-1,000 value N gives
 * round(N × scripts / 1000) (half up), at least 1 for min_count and at least 0 for drop_top.
 */
export function resolveVerbThresholds(params: VerbThresholdParams, scriptCount: number): VerbThresholds {
  checkVerbThresholdParams(params);
  const scaled = (perThousand: number, floor: number) => {
    const exact = (perThousand * scriptCount) / 1000;
    const value = Math.max(floor, Math.round(exact));
    return { value, rule: `${fmt(perThousand)} per 1000 scripts × ${scriptCount} scripts = ${fmt(exact)} → ${value}` };
  };
  let minCount: { value: number; rule: string };
  if (params.min_count_per_1000_scripts !== undefined) minCount = scaled(params.min_count_per_1000_scripts, 1);
  else {
    const base = params.min_count ?? VERB_THRESHOLD_DEFAULTS.min_count;
    if (params.reference_movies) {
      const exact = (base * scriptCount) / params.reference_movies;
      const value = Math.max(1, Math.round(exact));
      minCount = {
        value,
        rule: `${base} × ${scriptCount} scripts / ${params.reference_movies} = ${fmt(exact)} → ${value}`,
      };
    } else minCount = { value: base, rule: `${base}` };
  }
  const dropTop =
    params.drop_top_per_1000_scripts !== undefined
      ? scaled(params.drop_top_per_1000_scripts, 0)
      : {
          value: params.drop_top ?? VERB_THRESHOLD_DEFAULTS.drop_top,
          rule: `${params.drop_top ?? VERB_THRESHOLD_DEFAULTS.drop_top}`,
        };
  return { minCount: minCount.value, dropTop: dropTop.value, minCountRule: minCount.rule, dropTopRule: dropTop.rule };
}

/** The thresholds before the scripts are counted (for `exp plan`), e.g. "min_count 46.7 per 1000 scripts, drop_top 100". */
export function describeVerbThresholds(params: VerbThresholdParams): string {
  const min =
    params.min_count_per_1000_scripts !== undefined
      ? `${fmt(params.min_count_per_1000_scripts)} per 1000 scripts`
      : params.reference_movies
        ? `${params.min_count ?? VERB_THRESHOLD_DEFAULTS.min_count} per ${params.reference_movies} scripts`
        : `${params.min_count ?? VERB_THRESHOLD_DEFAULTS.min_count}`;
  const top =
    params.drop_top_per_1000_scripts !== undefined
      ? `${fmt(params.drop_top_per_1000_scripts)} per 1000 scripts`
      : `${params.drop_top ?? VERB_THRESHOLD_DEFAULTS.drop_top}`;
  return `min_count ${min}, drop_top ${top}`;
}
