// meta.yaml in MLflow's file store is read by PyYAML (YAML 1.1): write with the 1.1 schema so
// that strings such as "yes", "on" or "2026-11-23" are quoted and stay strings.
import { parse, stringify } from 'yaml';

export function toMetaYaml(fields: Record<string, unknown>): string {
  return stringify(fields, { version: '1.1', lineWidth: 0 });
}

export function fromMetaYaml(text: string): Record<string, unknown> {
  const doc: unknown = parse(text, { version: '1.1' });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('meta.yaml is not a mapping');
  return doc as Record<string, unknown>;
}
