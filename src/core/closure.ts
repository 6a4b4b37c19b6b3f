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
  /** Each path's position among the closure's paths as first listed (duplicates left out). */
  readonly listed: Int32Array;
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
  const { unique } = indexInto(infos, problems);
  if (problems.length > 0) throw new ClosureError(problems);
  return new Map(unique.map((info) => [info.path, info]));
}

/** Each path once, in the order first listed, and each path's position in that list. */
function indexInto(
  infos: readonly PathInfo[],
  problems: string[],
): { unique: PathInfo[]; position: PathTable } {
  const position = new PathTable(infos.length);
  const unique: PathInfo[] = [];
  for (let k = 0; k < infos.length; k++) {
    const info = infos[k]!;
    const at = position.add(info.path);
    if (at === unique.length) {
      unique.push(info);
      continue;
    }
    const seen = unique[at]!;
    if (seen.narSize !== info.narSize || !sameSet(seen.references, info.references)) {
      problems.push(`${info.path} is listed twice with different sizes or references`);
    } else if (!sameSet(seen.signatures, info.signatures)) {
      unique[at] = { ...seen, signatures: [...new Set([...seen.signatures, ...info.signatures])].sort() };
    }
  }
  return { unique, position };
}

/**
 * Store paths to numbers, by open addressing over a typed array. A closure's paths are looked up once per
 * reference (a quarter of a million times for 60,000 paths), and a Map hashes every character of every name it
 * has not seen before and keeps its entries in a structure of its own; here a name is hashed by a few
 * characters of its store hash (as good as random) and its length and last characters (so that names that are
 * not store paths still spread), and the table is two arrays of integers: slots and their full hashes, so that
 * a name is read again only when its hash matches. Equal names are confirmed with ===.
 */
class PathTable {
  readonly slots: Int32Array;
  /** Each slot's full hash: most names probed past differ in it, and are never read. */
  readonly hashes: Int32Array;
  readonly mask: number;
  /** The keys by number (their order of first addition). */
  readonly keys: unknown[] = [];
  /** Keys that are not strings (only in invalid input), which have no characters to hash. */
  others: Map<unknown, number> | undefined;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The key's number, or -1. */
  get(key: unknown): number {
    if (typeof key !== 'string') return this.others?.get(key) ?? -1;
    const { slots, hashes, keys, mask } = this;
    const hash = hashName(key);
    for (let h = hash & mask; ; h = (h + 1) & mask) {
      const slot = slots[h]!;
      if (slot === 0) return -1;
      if (hashes[h] === hash && keys[slot - 1] === key) return slot - 1;
    }
  }

  /** The key's number, a new one (the count of keys before it) if it had none. */
  add(key: unknown): number {
    const keys = this.keys;
    if (typeof key !== 'string') {
      this.others ??= new Map();
      const had = this.others.get(key);
      if (had !== undefined) return had;
      this.others.set(key, keys.length);
      keys.push(key);
      return keys.length - 1;
    }
    const { slots, hashes, mask } = this;
    const hash = hashName(key);
    let h = hash & mask;
    for (; ; h = (h + 1) & mask) {
      const slot = slots[h]!;
      if (slot === 0) break;
      if (hashes[h] === hash && keys[slot - 1] === key) return slot - 1;
    }
    keys.push(key);
    slots[h] = keys.length;
    hashes[h] = hash;
    return keys.length - 1;
  }
}

function hashName(s: string): number {
  const n = s.length;
  let h = Math.imul(n, 0x9e3779b1);
  // Characters 11 to 18 of a store path are its hash's first; the last four end its name.
  const end = Math.min(n, 19);
  for (let c = n < 12 ? 0 : 11; c < end; c++) h = Math.imul(h ^ s.charCodeAt(c), 0x9e3779b1);
  for (let c = n < 23 ? end : n - 4; c < n; c++) h = Math.imul(h ^ s.charCodeAt(c), 0x85ebca6b);
  return h ^ (h >>> 16);
}

/** A closure's paths to their indices: a position in the order first listed, then that position's rank. */
class PathIndex {
  readonly #position: PathTable;
  readonly #rank: Int32Array;

  constructor(position: PathTable, rank: Int32Array) {
    this.#position = position;
    this.#rank = rank;
  }

  get size(): number {
    return this.#rank.length;
  }

  get(path: StorePath): number | undefined {
    const k = this.#position.get(path);
    return k < 0 ? undefined : this.#rank[k];
  }

  has(path: StorePath): boolean {
    return this.#position.get(path) >= 0;
  }
}

/**
 * Checks and indexes a closure. Throws ClosureError listing every problem: invalid store paths, bad sizes,
 * references to paths outside the closure, contradicting duplicates, and cycles (a path referring to itself
 * is normal in Nix and ignored).
 *
 * A plan of a 60,000-path closure builds this once, and reading the infos dominated it: 60,000 objects and a
 * quarter of a million reference names, visited in sorted order, that is all over memory. So every pass over
 * the infos goes in the order they were listed (the order they were made in, and mostly the order they lie
 * in memory), references become positions there, and only typed arrays are then put in sorted order.
 */
export function closureGraph(infos: readonly PathInfo[]): ClosureGraph {
  const problems: string[] = [];
  const { unique, position } = indexInto(infos, problems);
  const m = unique.length;
  const byPosition = new Array<StorePath>(m);
  const sizeAt = new Array<number>(m);
  let bad = problems.length > 0;
  for (let k = 0; k < m; k++) {
    const info = unique[k]!;
    byPosition[k] = info.path;
    const size = info.narSize;
    sizeAt[k] = size;
    if (storePathProblem(info.path) !== null || !Number.isSafeInteger(size) || size < 0) bad = true;
  }
  // References by position: refAt[refStartAt[k]] up to refAt[refStartAt[k + 1]].
  const refStartAt = new Int32Array(m + 1);
  let refAt = new Int32Array(Math.max(16, m * 4));
  let edges = 0;
  // lastSeenBy[j] === k + 1 once path k's references include j: drops repeated references.
  const lastSeenBy = new Int32Array(m);
  for (let k = 0; k < m && !bad; k++) {
    refStartAt[k] = edges;
    const refs = unique[k]!.references;
    if (!Array.isArray(refs)) {
      bad = true;
      break;
    }
    if (edges + refs.length > refAt.length) {
      const grown = new Int32Array(Math.max(refAt.length * 2, edges + refs.length));
      grown.set(refAt);
      refAt = grown;
    }
    for (let r = 0; r < refs.length; r++) {
      const j = position.get(refs[r]);
      if (j < 0) {
        bad = true;
        break;
      }
      if (j !== k && lastSeenBy[j] !== k + 1) {
        lastSeenBy[j] = k + 1;
        refAt[edges++] = j;
      }
    }
  }
  refStartAt[m] = edges;
  if (bad) throw new ClosureError(closureProblems(unique, position, problems));

  const sorted = sortedPositions(byPosition);
  const rank = new Int32Array(m);
  const paths = new Array<StorePath>(m);
  const sizes = new Array<number>(m);
  const ordered = new Array<PathInfo>(m);
  const refStart = new Int32Array(m + 1);
  const refTargets = new Int32Array(edges);
  for (let i = 0; i < m; i++) rank[sorted[i]!] = i;
  let e = 0;
  for (let i = 0; i < m; i++) {
    const k = sorted[i]!;
    paths[i] = byPosition[k]!;
    ordered[i] = unique[k]!;
    sizes[i] = sizeAt[k]!;
    refStart[i] = e;
    for (let r = refStartAt[k]!; r < refStartAt[k + 1]!; r++) refTargets[e++] = rank[refAt[r]!]!;
  }
  refStart[m] = e;
  const order = dependenciesFirst(m, refStart, refTargets);
  if (order.length < m) throw new ClosureError([describeCycle(paths, refStart, refTargets, order)]);
  const index = new PathIndex(position, rank);
  return { paths, index, sizes, infos: ordered, refStart, refTargets, order, listed: sorted };
}

/**
 * Every problem of a closure the quick pass found wrong, in the order they have always been listed: by path
 * in sorted order, the cycle (among what is left) last.
 */
function closureProblems(unique: readonly PathInfo[], position: PathTable, problems: string[]): string[] {
  const m = unique.length;
  const sorted = sortedPositions(unique.map((info) => info.path));
  const rank = new Int32Array(m);
  for (let i = 0; i < m; i++) rank[sorted[i]!] = i;
  const ordered = Array.from(sorted, (k) => unique[k]!);
  for (const info of ordered) {
    const problem = storePathProblem(info.path);
    if (problem !== null) problems.push(problem);
    if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
      problems.push(`${info.path} has narSize ${String(info.narSize)}, not a whole number of bytes`);
    }
  }
  const refStart = new Int32Array(m + 1);
  const targets: number[] = [];
  for (let i = 0; i < m; i++) {
    refStart[i] = targets.length;
    const info = ordered[i]!;
    const refs = info.references;
    if (!Array.isArray(refs)) {
      problems.push(`${info.path} has no list of references`);
      continue;
    }
    const seen = new Set<number>();
    for (const ref of refs) {
      const k = position.get(ref);
      if (k < 0) {
        problems.push(`${info.path} references ${String(ref)}, which is not in the closure`);
        continue;
      }
      const j = rank[k]!;
      if (j !== i && !seen.has(j)) {
        seen.add(j);
        targets.push(j);
      }
    }
  }
  refStart[m] = targets.length;
  const refTargets = Int32Array.from(targets);
  const order = dependenciesFirst(m, refStart, refTargets);
  const paths = ordered.map((info) => info.path);
  if (order.length < m) problems.push(describeCycle(paths, refStart, refTargets, order));
  return problems;
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
