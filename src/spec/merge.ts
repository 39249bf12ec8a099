// Deep merge for `extends:`: maps merge key by key, lists and scalars are replaced by the child,
// and a child `null` deletes an inherited key (`stages: { video: null }` drops a base stage).
// The Src tree is merged alongside, so inherited keys keep pointing into the base file.
import { isRecord, type SrcNode } from './source.ts';

export interface Sourced {
  value: unknown;
  src: SrcNode;
}

export function deepMerge(base: Sourced, child: Sourced): Sourced {
  if (!isRecord(base.value) || !isRecord(child.value)) return child;
  const value: Record<string, unknown> = { ...base.value };
  const children = new Map(base.src.children ?? []);
  for (const key of Object.keys(child.value)) {
    const childValue = child.value[key];
    const childSrc = child.src.children?.get(key) ?? { at: child.src.at };
    if (childValue === null && key in value) {
      delete value[key];
      children.delete(key);
      continue;
    }
    const baseSrc = children.get(key);
    if (key in value && baseSrc) {
      const merged = deepMerge({ value: value[key], src: baseSrc }, { value: childValue, src: childSrc });
      value[key] = merged.value;
      children.set(key, { ...merged.src, keyAt: childSrc.keyAt ?? baseSrc.keyAt });
    } else {
      value[key] = childValue;
      children.set(key, childSrc);
    }
  }
  return { value, src: { at: child.src.at, keyAt: child.src.keyAt, children } };
}
