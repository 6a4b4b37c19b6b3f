// A closure as a graph: every path once, references as integer edges. Planning works on thousands of paths
// for dozens of hosts, so the graph is built once (validated on the way) and walked by index.
import { parseStorePath } from './storepath.ts';
import type { PathInfo, StorePath } from './types.ts';

export interface ClosureGraph {
  /** Every path once, in `compareStrings` order; a path's index is its position here. */
  readonly paths: readonly StorePath[];
  readonly index: ReadonlyMap<StorePath, number>;
  /** narSize by index. */
  readonly sizes: readonly number[];
  readonly infos: readonly PathInfo[];
  /** References of path i other than itself: `refTargets[refStart[i]]` up to `refTargets[refStart[i + 1]]`. */
  readonly refStart: Int32Array;
  readonly refTargets: Int32Array;
  /** Indices with every path after the paths it references. */
  readonly order: Int32Array;
}

/** What is wrong with a closure, one problem per entry, each naming the paths involved. */
export class ClosureError extends Error {
  override name = 'ClosureError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(`invalid closure (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${shown}${more}`);
    this.problems = problems;
  }
}

/** Code-unit order: the same on every machine and locale, unlike `localeCompare`. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Each path once. A path listed twice must say the same both times (size and references); their signatures
 * are merged, since two answers may carry different ones.
 */
export function indexByPath(infos: readonly PathInfo[]): Map<StorePath, PathInfo> {
  const problems: string[] = [];
  const byPath = indexInto(infos, problems);
  if (problems.length > 0) throw new ClosureError(problems);
  return byPath;
}

function indexInto(infos: readonly PathInfo[], problems: string[]): Map<StorePath, PathInfo> {
  const byPath = new Map<StorePath, PathInfo>();
  for (const info of infos) {
    const seen = byPath.get(info.path);
    if (!seen) {
      byPath.set(info.path, info);
    } else if (seen.narSize !== info.narSize || !sameSet(seen.references, info.references)) {
      problems.push(`${info.path} is listed twice with different sizes or references`);
    } else if (!sameSet(seen.signatures, info.signatures)) {
      byPath.set(info.path, {
        ...seen,
        signatures: [...new Set([...seen.signatures, ...info.signatures])].sort(),
      });
    }
  }
  return byPath;
}

/**
 * Checks and indexes a closure. Throws ClosureError listing every problem: invalid store paths, bad sizes,
 * references to paths outside the closure, contradicting duplicates, and cycles (a path referring to itself
 * is normal in Nix and ignored).
 */
export function closureGraph(infos: readonly PathInfo[]): ClosureGraph {
  const problems: string[] = [];
  const byPath = indexInto(infos, problems);
  // The default sort orders strings by UTF-16 code units, as compareStrings does, at half the cost.
  const paths = [...byPath.keys()].sort();
  const index = new Map<StorePath, number>();
  const sizes: number[] = new Array(paths.length);
  const ordered: PathInfo[] = new Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const info = byPath.get(path)!;
    index.set(path, i);
    ordered[i] = info;
    sizes[i] = info.narSize;
    const parsed = parseStorePath(path);
    if (!parsed.ok) problems.push(parsed.error);
    if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
      problems.push(`${path} has narSize ${String(info.narSize)}, not a whole number of bytes`);
    }
  }

  const refStart = new Int32Array(paths.length + 1);
  const targets: number[] = [];
  // lastSeenBy[j] === i + 1 once path i's references include j: drops repeated references.
  const lastSeenBy = new Int32Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    refStart[i] = targets.length;
    const info = ordered[i]!;
    if (!Array.isArray(info.references)) {
      problems.push(`${info.path} has no list of references`);
      continue;
    }
    for (const ref of info.references) {
      const j = index.get(ref);
      if (j === undefined) {
        problems.push(`${info.path} references ${String(ref)}, which is not in the closure`);
      } else if (j !== i && lastSeenBy[j] !== i + 1) {
        lastSeenBy[j] = i + 1;
        targets.push(j);
      }
    }
  }
  refStart[paths.length] = targets.length;
  const refTargets = Int32Array.from(targets);
  const order = dependenciesFirst(paths.length, refStart, refTargets);
  if (order.length < paths.length) problems.push(describeCycle(paths, refStart, refTargets, order));
  if (problems.length > 0) throw new ClosureError(problems);
  return { paths, index, sizes, infos: ordered, refStart, refTargets, order };
}

// Kahn's algorithm over "references before referrers"; stops short of the paths on or above a cycle.
function dependenciesFirst(n: number, refStart: Int32Array, refTargets: Int32Array): Int32Array {
  const pending = new Int32Array(n);
  const referrerCount = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    pending[i] = refStart[i + 1]! - refStart[i]!;
    for (let k = refStart[i]!; k < refStart[i + 1]!; k++) referrerCount[refTargets[k]! + 1]!++;
  }
  for (let i = 0; i < n; i++) referrerCount[i + 1]! += referrerCount[i]!;
  const referrers = new Int32Array(refTargets.length);
  const fill = referrerCount.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let k = refStart[i]!; k < refStart[i + 1]!; k++) referrers[fill[refTargets[k]!]!++] = i;
  }
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (pending[i] === 0) order[tail++] = i;
  while (head < tail) {
    const j = order[head++]!;
    for (let k = referrerCount[j]!; k < referrerCount[j + 1]!; k++) {
      const r = referrers[k]!;
      if (--pending[r]! === 0) order[tail++] = r;
    }
  }
  return order.subarray(0, tail);
}

// Every path left out of the order references another left-out path, so following such references from
// any of them must come back to a path already seen: that loop is a cycle.
function describeCycle(
  paths: readonly StorePath[],
  refStart: Int32Array,
  refTargets: Int32Array,
  order: Int32Array,
): string {
  const placed = new Uint8Array(paths.length);
  for (const i of order) placed[i] = 1;
  const start = placed.indexOf(0);
  const step = new Map<number, number>();
  let at = start;
  while (!step.has(at)) {
    let next = -1;
    for (let k = refStart[at]!; k < refStart[at + 1]!; k++) {
      if (!placed[refTargets[k]!]) {
        next = refTargets[k]!;
        break;
      }
    }
    step.set(at, next);
    at = next;
  }
  const cycle = [at];
  for (let i = step.get(at)!; i !== at; i = step.get(i)!) cycle.push(i);
  cycle.push(at);
  return `reference cycle: ${cycle.map((i) => paths[i]).join(' -> ')}`;
}

function indexOf(graph: ClosureGraph, path: StorePath): number {
  const i = graph.index.get(path);
  if (i === undefined) throw new ClosureError([`${path} is not in the closure`]);
  return i;
}

/** Marks the paths of a list, by index; throws ClosureError for a path not in the graph. */
export function maskOf(graph: ClosureGraph, paths: Iterable<StorePath>): Uint8Array {
  const mask = new Uint8Array(graph.paths.length);
  for (const p of paths) mask[indexOf(graph, p)] = 1;
  return mask;
}

/**
 * The roots and every path they reference, directly or not. Paths of `stopAt` are neither included nor
 * looked through: with `stopAt` the paths a store already holds, this is what copying the roots brings.
 */
export function requisites(
  graph: ClosureGraph,
  roots: Iterable<StorePath>,
  stopAt?: Iterable<StorePath>,
): Set<StorePath> {
  const rootIdx = [...roots].map((r) => indexOf(graph, r));
  const blocked = stopAt ? maskOf(graph, onlyKnown(graph, stopAt)) : new Uint8Array(graph.paths.length);
  const out = new Set<StorePath>();
  for (const i of reach(graph, rootIdx, blocked)) out.add(graph.paths[i]!);
  return out;
}

/** Bytes of `requisites(graph, roots, stopAt)`. */
export function closureBytes(
  graph: ClosureGraph,
  roots: Iterable<StorePath>,
  stopAt?: Iterable<StorePath>,
): number {
  let sum = 0;
  for (const p of requisites(graph, roots, stopAt)) sum += graph.sizes[graph.index.get(p)!]!;
  return sum;
}

/** Indices reachable from `roots` without entering a `blocked` index. */
export function reach(graph: ClosureGraph, roots: Iterable<number>, blocked: Uint8Array): number[] {
  const seen = new Uint8Array(graph.paths.length);
  const out: number[] = [];
  const stack: number[] = [];
  for (const r of roots) {
    if (blocked[r] || seen[r]) continue;
    seen[r] = 1;
    stack.push(r);
    while (stack.length > 0) {
      const i = stack.pop()!;
      out.push(i);
      for (let k = graph.refStart[i]!; k < graph.refStart[i + 1]!; k++) {
        const j = graph.refTargets[k]!;
        if (!seen[j] && !blocked[j]) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return out;
}

/** Dependencies first: every path comes after all the paths it references. */
export function topologicalOrder(graph: ClosureGraph): StorePath[] {
  return Array.from(graph.order, (i) => graph.paths[i]!);
}

/**
 * The paths of `subset` that no other path of `subset` references, directly or through other paths:
 * the fewest roots whose closures cover the subset. Sorted.
 */
export function maximalElements(graph: ClosureGraph, subset: Iterable<StorePath>): StorePath[] {
  const mask = maskOf(graph, subset);
  return maximalIndices(graph, mask).map((i) => graph.paths[i]!);
}

/** `maximalElements` by index: indices where `mask` is set, ascending. */
export function maximalIndices(graph: ClosureGraph, mask: Uint8Array): number[] {
  const n = graph.paths.length;
  const below = new Uint8Array(n);
  // Walking referrers before their references, a path is below the subset when a member of the subset, or
  // a path below one, references it; one pass over the edges.
  for (let o = n - 1; o >= 0; o--) {
    const i = graph.order[o]!;
    if (!mask[i] && !below[i]) continue;
    for (let k = graph.refStart[i]!; k < graph.refStart[i + 1]!; k++) below[graph.refTargets[k]!] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (mask[i] && !below[i]) out.push(i);
  return out;
}

function* onlyKnown(graph: ClosureGraph, paths: Iterable<StorePath>): Iterable<StorePath> {
  for (const p of paths) if (graph.index.has(p)) yield p;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const x of sa) if (!sb.has(x)) return false;
  return true;
}
