// Finds where a key path of a (possibly per-point) doc was written: the base Src tree from the
// files, overlaid by the matrix values, --set values and interpolated references of a point.
import { pathKey } from './key-path.ts';
import type { Origin, SrcNode } from './source.ts';

export interface Located {
  node: SrcNode;
  /** False when the path has no node of its own (a default, a missing key): `node` is its deepest ancestor. */
  exact: boolean;
}

export class Locator {
  constructor(
    private readonly base: SrcNode,
    private readonly overlay?: ReadonlyMap<string, SrcNode>,
  ) {}

  find(segments: readonly string[]): Located {
    let node = this.overlay?.get('') ?? this.base;
    let exact = true;
    for (let i = 0; i < segments.length; i++) {
      // A matrix or --set value may sit below a key the files never wrote (a param left at its default).
      const over = this.overlay?.get(pathKey(segments.slice(0, i + 1)));
      if (over) {
        node = over;
        exact = true;
        continue;
      }
      if (!exact) continue;
      const child = node.children?.get(segments[i]!);
      if (child) node = child;
      else exact = false;
    }
    return { node, exact };
  }

  /** The value's place; for a missing path, the key of its deepest existing ancestor. */
  value(segments: readonly string[]): Origin {
    const { node, exact } = this.find(segments);
    return exact ? node.at : (node.keyAt ?? node.at);
  }

  /** The key's place (for unknown keys); falls back to the value's. */
  key(segments: readonly string[]): Origin {
    const { node, exact } = this.find(segments);
    return exact ? (node.keyAt ?? node.at) : (node.keyAt ?? node.at);
  }
}
