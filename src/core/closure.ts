// A closure as a graph: every path once, references as integer edges. Planning works on thousands of paths
// for dozens of hosts, so the graph is built once (validated on the way) and walked by index.
import { storePathProblem } from './storepath.ts';
import type { PathInfo, StorePath } from './types.ts';

export interface ClosureGraph {
  /** Every path once, in `compareStrings` order; a path's index is its position here. */
  readonly paths: readonly StorePath[];
  readonly index: { get(path: StorePath): number | undefined; has(path: StorePath): boolean };
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
  const { unique, position } = indexInto(infos, problems);
  if (problems.length > 0) throw new ClosureError(problems);
  return new Map([...position].map(([path, k]) => [path, unique[k]!]));
}

/** Each path once, in the order first listed, and each path's position in that list. */
function indexInto(
  infos: readonly PathInfo[],
  problems: string[],
): { unique: PathInfo[]; position: Map<StorePath, number> } {
  // Most closures list each path once: one map operation a path, and the careful pass only when not.
  const once = new Map<StorePath, number>();
  for (let k = 0; k < infos.length; k++) once.set(infos[k]!.path, k);
  if (once.size === infos.length) return { unique: [...infos], position: once };
  const unique: PathInfo[] = [];
  const position = new Map<StorePath, number>();
  for (const info of infos) {
    const k = position.get(info.path);
    if (k === undefined) {
      position.set(info.path, unique.length);
      unique.push(info);
      continue;
    }
    const seen = unique[k]!;
    if (seen.narSize !== info.narSize || !sameSet(seen.references, info.references)) {
      problems.push(`${info.path} is listed twice with different sizes or references`);
    } else if (!sameSet(seen.signatures, info.signatures)) {
      unique[k] = { ...seen, signatures: [...new Set([...seen.signatures, ...info.signatures])].sort() };
    }
  }
  return { unique, position };
}

/** A closure's paths to their indices: a position in the order first listed, then that position's rank. */
class PathIndex {
  readonly #position: ReadonlyMap<StorePath, number>;
  readonly #rank: Int32Array;

  constructor(position: ReadonlyMap<StorePath, number>, rank: Int32Array) {
    this.#position = position;
    this.#rank = rank;
  }

  get size(): number {
    return this.#rank.length;
  }

  get(path: StorePath): number | undefined {
    const k = this.#position.get(path);
    return k === undefined ? undefined : this.#rank[k];
  }

  has(path: StorePath): boolean {
    return this.#position.has(path);
  }
}

/**
 * Checks and indexes a closure. Throws ClosureError listing every problem: invalid store paths, bad sizes,
 * references to paths outside the closure, contradicting duplicates, and cycles (a path referring to itself
 * is normal in Nix and ignored).
 *
 * A plan of a 60,000-path closure builds this once, and string work dominated it: one map from path to
 * position (no second map by sorted index: a rank array turns one into the other), a sort by number, and
 * store paths checked without taking them apart.
 */
export function closureGraph(infos: readonly PathInfo[]): ClosureGraph {
  const problems: string[] = [];
  const { unique, position } = indexInto(infos, problems);
  const m = unique.length;
  const byPosition = new Array<StorePath>(m);
  for (let k = 0; k < m; k++) byPosition[k] = unique[k]!.path;
  const sorted = sortedPositions(byPosition);
  const rank = new Int32Array(m);
  const paths = new Array<StorePath>(m);
  const sizes = new Array<number>(m);
  const ordered = new Array<PathInfo>(m);
  for (let i = 0; i < m; i++) {
    const k = sorted[i]!;
    rank[k] = i;
    const info = unique[k]!;
    paths[i] = info.path;
    ordered[i] = info;
    sizes[i] = info.narSize;
    const problem = storePathProblem(info.path);
    if (problem !== null) problems.push(problem);
    if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
      problems.push(`${info.path} has narSize ${String(info.narSize)}, not a whole number of bytes`);
    }
  }

  const refStart = new Int32Array(m + 1);
  let targets = new Int32Array(Math.max(16, m * 4));
  let edges = 0;
  // lastSeenBy[j] === i + 1 once path i's references include j: drops repeated references.
  const lastSeenBy = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    refStart[i] = edges;
    const info = ordered[i]!;
    const refs = info.references;
    if (!Array.isArray(refs)) {
      problems.push(`${info.path} has no list of references`);
      continue;
    }
    if (edges + refs.length > targets.length) {
      const grown = new Int32Array(Math.max(targets.length * 2, edges + refs.length));
      grown.set(targets);
      targets = grown;
    }
    for (let r = 0; r < refs.length; r++) {
      const ref = refs[r]!;
      const k = position.get(ref);
      if (k === undefined) {
        problems.push(`${info.path} references ${String(ref)}, which is not in the closure`);
        continue;
      }
      const j = rank[k]!;
      if (j !== i && lastSeenBy[j] !== i + 1) {
        lastSeenBy[j] = i + 1;
        targets[edges++] = j;
      }
    }
  }
  refStart[m] = edges;
  const refTargets = targets.slice(0, edges);
  const order = dependenciesFirst(m, refStart, refTargets);
  if (order.length < m) problems.push(describeCycle(paths, refStart, refTargets, order));
  if (problems.length > 0) throw new ClosureError(problems);
  return { paths, index: new PathIndex(position, rank), sizes, infos: ordered, refStart, refTargets, order };
}

/**
 * Positions of `paths` in `compareStrings` order. Store paths share their first 11 characters, and the next
 * ones (the hash) are as good as random: a number made of those characters and the position sorts natively,
 * and only paths whose numbers tie (rare) are compared as strings. Anything else sorts as strings.
 */
function sortedPositions(paths: readonly string[]): Int32Array {
  const m = paths.length;
  const prefix = '/nix/store/';
  let positionBits = 1;
  while (2 ** positionBits < m) positionBits++;
  // 7 bits a character (clamped: a key must never order two paths against compareStrings) and the position,
  // within a double's 53 bits of integer.
  const chars = Math.floor((53 - positionBits) / 7);
  if (chars < 3 || !paths.every((p) => typeof p === 'string' && p.startsWith(prefix))) {
    const out = Int32Array.from({ length: m }, (_, k) => k);
    return out.sort((a, b) => compareStrings(paths[a]!, paths[b]!));
  }
  const scale = 2 ** positionBits;
  const keys = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const p = paths[k]!;
    let key = 0;
    for (let c = 0; c < chars; c++) {
      const at = prefix.length + c;
      key = key * 128 + (at < p.length ? Math.min(p.charCodeAt(at), 127) : 0);
    }
    keys[k] = key * scale + k;
  }
  keys.sort();
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = keys[i]! % scale;
  // Runs of equal characters: order them by the whole string.
  let i = 0;
  while (i < m) {
    const head = Math.floor(keys[i]! / scale);
    let j = i + 1;
    while (j < m && Math.floor(keys[j]! / scale) === head) j++;
    if (j - i > 1) out.subarray(i, j).sort((a, b) => compareStrings(paths[a]!, paths[b]!));
    i = j;
  }
  return out;
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
