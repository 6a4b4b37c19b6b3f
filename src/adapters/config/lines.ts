// Where a field path is in the YAML source, for line numbers in messages. A field that is missing points
// at the line of the mapping that should hold it.
import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './problems.ts';

function childOf(node: unknown, seg: PathSegment): { node: Node | null; key: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const keyText = isScalar(key) ? String(key.value) : key;
      if (keyText === String(seg)) {
        return { node: (pair.value as Node | null) ?? null, key: isScalar(key) ? key : null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item === undefined ? undefined : { node: (item as Node | null) ?? null, key: null };
  }
  return undefined;
}

export function lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PathSegment[],
): number | undefined {
  let node: unknown = doc.contents;
  let at: Node | null = null;
  for (const seg of path) {
    const child = childOf(node, seg);
    if (child === undefined) break;
    // A mapping value's line is its key's: that is the line a reader looks for.
    at = child.key ?? child.node ?? at;
    node = child.node;
  }
  const offset = at?.range?.[0];
  return offset === undefined ? undefined : counter.linePos(offset).line;
}
