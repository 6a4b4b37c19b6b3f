// The planner as it was before store paths were interned per plan (commit ccd4b47: holdings as bit rows per
// path, one copy session per covering peer, the closure graph built with a Map of path names), frozen with the
// part of the closure graph it used. It is the baseline the planner benchmark measures beside the planner, and
// the reference the property tests compare the planner's output with (beside their own checks of each rule).
import { ClosureError, compareStrings } from '../../src/core/closure.ts';
import { HeldPaths, type PathUniverse } from '../../src/core/held-paths.ts';
import { type Plan, type PlanInput, PlanInputError, type PlanStep } from '../../src/core/planner.ts';
import { storePathProblem } from '../../src/core/storepath.ts';
import type { PathInfo, Source, StorePath } from '../../src/core/types.ts';

interface ClosureGraph {
  readonly paths: readonly StorePath[];
  readonly index: { get(path: StorePath): number | undefined; has(path: StorePath): boolean };
  readonly sizes: readonly number[];
  readonly infos: readonly PathInfo[];
  readonly refStart: Int32Array;
  readonly refTargets: Int32Array;
  readonly order: Int32Array;
}

export function planBefore(input: PlanInput): Plan {
  const peers = checkInput(input);
  let graph: ClosureGraph;
  try {
    graph = closureGraph(input.closure);
  } catch (e) {
    if (e instanceof ClosureError) {
      throw new PlanInputError(`the closure for ${input.target} is not valid: ${e.message}`, e.problems);
    }
    throw e;
  }
  const n = graph.paths.length;
  const onto = new Map<PathUniverse, Int32Array>();
  const present = closedPart(graph, input.holdings.get(input.target)!, onto);
  const held = new PeerHoldings(graph, peers.length);
  for (let p = 0; p < peers.length; p++) held.add(p, input.holdings.get(peers[p]!)!, onto);
  held.keepClosedParts();

  // Per path: 0 present, w >= 1 delivered in wave w, -1 not yet placed.
  const state = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (present[i]) state[i] = 0;
  const peerHeld = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (!present[i] && held.anyHolds(i)) peerHeld[i] = 1;

  const steps: PlanStep[] = [];
  const lastWave = placePeerSteps(graph, state, held, peers, peerHeld, steps, input.maxPeersPerWave);

  const rest = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (state[i] === -1) rest[i] = 1;
  const restPaths = indicesOf(rest);
  if (restPaths.length > 0) {
    steps.push(makeStep(graph, lastWave + 1, { kind: 'builder' }, maximalIndices(graph, rest), restPaths));
  }
  const presentPaths = indicesOf(present);
  const presentBytes = bytesOf(graph, presentPaths);
  let totalBytes = 0;
  for (let i = 0; i < n; i++) totalBytes += graph.sizes[i]!;
  const lan = steps.filter((s) => s.source.kind === 'peer');
  const up = steps.filter((s) => s.source.kind === 'builder');
  return {
    target: input.target,
    present: { paths: presentPaths.map((i) => graph.paths[i]!), bytes: presentBytes },
    steps,
    totals: {
      totalPaths: n,
      totalBytes,
      presentPaths: presentPaths.length,
      presentBytes,
      lanPaths: sum(lan.map((s) => s.paths.length)),
      lanBytes: sum(lan.map((s) => s.bytes)),
      uplinkPaths: sum(up.map((s) => s.paths.length)),
      uplinkBytes: sum(up.map((s) => s.bytes)),
    },
  };
}

/** The peers, sorted, once the input is known to be usable. */
function checkInput(input: PlanInput): string[] {
  const problems: string[] = [];
  if (typeof input.target !== 'string' || input.target === '') problems.push('the target has no name');
  if (!input.holdings.has(input.target)) {
    problems.push(`no holdings for the target ${input.target}: ask it what it holds first`);
  }
  const seen = new Set<string>();
  for (const peer of input.peers) {
    if (peer === input.target) problems.push(`${peer} is the target and cannot be its own peer`);
    else if (seen.has(peer)) problems.push(`peer ${peer} is listed twice`);
    else if (!input.holdings.has(peer)) problems.push(`no holdings for peer ${peer}: leave it out or ask it`);
    seen.add(peer);
  }
  const cap = input.maxPeersPerWave;
  if (cap !== undefined && !(Number.isInteger(cap) && cap >= 1)) {
    problems.push(`maxPeersPerWave must be a whole number of at least 1, not ${cap}`);
  }
  if (problems.length > 0) {
    throw new PlanInputError(`cannot plan for ${input.target}: ${problems.join('; ')}`, problems);
  }
  return [...seen].sort(compareStrings);
}

/**
 * The largest part of a holding that is closed under references. A store's valid paths always are; an
 * answer that is not (a path deleted while being asked) must not make the plan rely on the gap.
 */
function closedPart(
  graph: ClosureGraph,
  holding: ReadonlySet<StorePath>,
  onto: Map<PathUniverse, Int32Array>,
): Uint8Array {
  const n = graph.paths.length;
  const out = new Uint8Array(n);
  if (holding.size === 0) return out;
  const { index, order, refStart, refTargets } = graph;
  if (holding instanceof HeldPaths) {
    const map = universeMap(graph, holding.universe, onto);
    const bits = holding.bits;
    for (let i = 0; i < n; i++) {
      const u = map[i]!;
      if (u >= 0 && bits[u]) out[i] = 1;
    }
  } else {
    for (const path of holding) {
      const i = index.get(path);
      if (i !== undefined) out[i] = 1;
    }
  }
  // References before referrers: a held path stays only if everything it references stayed.
  for (let o = 0; o < n; o++) {
    const i = order[o]!;
    if (!out[i]) continue;
    for (let k = refStart[i]!; k < refStart[i + 1]!; k++) {
      if (!out[refTargets[k]!]) {
        out[i] = 0;
        break;
      }
    }
  }
  return out;
}

/** Each closure path's position in the universe (-1: not asked), worked out once per universe and plan. */
function universeMap(
  graph: ClosureGraph,
  universe: PathUniverse,
  onto: Map<PathUniverse, Int32Array>,
): Int32Array {
  let map = onto.get(universe);
  if (map === undefined) {
    map = new Int32Array(graph.paths.length);
    for (let i = 0; i < map.length; i++) map[i] = universe.indexOf(graph.paths[i]!);
    onto.set(universe, map);
  }
  return map;
}

/**
 * What every peer holds, as one row of bits per path (bit p: peer p holds it). The closed-part rule then costs
 * one AND per reference and word for all peers at once, instead of one pass over every reference per peer:
 * for 60,000 paths and 200 peers that is 7 words a reference instead of 200 separate walks.
 */
class PeerHoldings {
  readonly words: number;
  readonly rows: Uint32Array;
  readonly #graph: ClosureGraph;

  constructor(graph: ClosureGraph, peers: number) {
    this.#graph = graph;
    this.words = Math.max(1, Math.ceil(peers / 32));
    this.rows = new Uint32Array(graph.paths.length * this.words);
  }

  add(peer: number, holding: ReadonlySet<StorePath>, onto: Map<PathUniverse, Int32Array>): void {
    if (holding.size === 0) return;
    const { rows, words } = this;
    const graph = this.#graph;
    const n = graph.paths.length;
    const word = peer >>> 5;
    const bit = 1 << (peer & 31);
    if (holding instanceof HeldPaths) {
      const map = universeMap(graph, holding.universe, onto);
      const bits = holding.bits;
      for (let i = 0; i < n; i++) {
        const u = map[i]!;
        if (u >= 0 && bits[u]) rows[i * words + word]! |= bit;
      }
    } else {
      for (const path of holding) {
        const i = graph.index.get(path);
        if (i !== undefined) rows[i * words + word]! |= bit;
      }
    }
  }

  /** Each peer keeps the largest part of its holding closed under references (see closedPart). */
  keepClosedParts(): void {
    const { rows, words } = this;
    const { order, refStart, refTargets } = this.#graph;
    for (let o = 0; o < order.length; o++) {
      const i = order[o]!;
      const row = i * words;
      let any = 0;
      for (let w = 0; w < words; w++) any |= rows[row + w]!;
      if (any === 0) continue;
      for (let k = refStart[i]!; k < refStart[i + 1]!; k++) {
        const ref = refTargets[k]! * words;
        any = 0;
        for (let w = 0; w < words; w++) any |= rows[row + w]! &= rows[ref + w]!;
        if (any === 0) break;
      }
    }
  }

  holds(peer: number, path: number): boolean {
    return (this.rows[path * this.words + (peer >>> 5)]! & (1 << (peer & 31))) !== 0;
  }

  anyHolds(path: number): boolean {
    const row = path * this.words;
    for (let w = 0; w < this.words; w++) if (this.rows[row + w] !== 0) return true;
    return false;
  }

  /** Calls `fn` with every peer holding the path. */
  forEachHolder(path: number, fn: (peer: number) => void): void {
    const row = path * this.words;
    for (let w = 0; w < this.words; w++) {
      let x = this.rows[row + w]!;
      while (x !== 0) {
        const low = x & -x;
        fn(w * 32 + 31 - Math.clz32(low));
        x ^= low;
      }
    }
  }
}

/**
 * The fewest peers, chosen greedily, that together hold every path some peer holds. Each step is one
 * `nix copy` session (an SSH login and a Nix start on both ends), and the target's own LAN link bounds a copy
 * whatever the number of peers, so every peer beyond a cover only adds sessions: where one peer holds all
 * the target needs, one session. Greedy set cover by paths (ties: more bytes, then name order), evaluated
 * lazily, since a peer's gain only shrinks as others are chosen. In choice order.
 */
function coveringPeers(
  held: PeerHoldings,
  peers: number,
  wanted: readonly number[],
  sizes: readonly number[],
): number[] {
  const n = sizes.length;
  const covered = new Uint8Array(n);
  const paths = new Float64Array(peers);
  const bytes = new Float64Array(peers);
  for (const i of wanted) {
    held.forEachHolder(i, (p) => {
      paths[p]!++;
      bytes[p]! += sizes[i]!;
    });
  }
  const recount = (p: number) => {
    let count = 0;
    let total = 0;
    for (const i of wanted) {
      if (!covered[i] && held.holds(p, i)) {
        count++;
        total += sizes[i]!;
      }
    }
    paths[p] = count;
    bytes[p] = total;
  };
  const better = (a: number, b: number) =>
    paths[a] !== paths[b] ? paths[a]! > paths[b]! : bytes[a] !== bytes[b] ? bytes[a]! > bytes[b]! : a < b;
  const chosen: number[] = [];
  const open = new Set(Array.from({ length: peers }, (_, p) => p));
  let left = wanted.length;
  while (left > 0 && open.size > 0) {
    let best = -1;
    for (const p of open) if (best === -1 || better(p, best)) best = p;
    if (paths[best] === 0) break;
    recount(best);
    // Still ahead of every other peer's (possibly stale, never too low) gain: it is the true best.
    let ahead = true;
    for (const p of open) {
      if (p !== best && better(p, best)) {
        ahead = false;
        break;
      }
    }
    if (!ahead) continue;
    open.delete(best);
    if (paths[best] === 0) break;
    chosen.push(best);
    for (const i of wanted) {
      if (!covered[i] && held.holds(best, i)) {
        covered[i] = 1;
        left--;
      }
    }
  }
  return withoutRedundant(chosen, held, wanted);
}

/**
 * Greedy choice can leave a peer whose paths the peers chosen after it hold between them: drop each such peer,
 * latest choice first, so that every peer left is the only one of them holding some path.
 */
function withoutRedundant(
  chosen: readonly number[],
  held: PeerHoldings,
  wanted: readonly number[],
): number[] {
  // How many of the peers kept hold each wanted path.
  const holders = new Int32Array(wanted.length);
  for (let w = 0; w < wanted.length; w++) {
    for (const p of chosen) if (held.holds(p, wanted[w]!)) holders[w]!++;
  }
  const kept = [...chosen];
  for (let k = kept.length - 1; k >= 0; k--) {
    const p = kept[k]!;
    let needed = false;
    for (let w = 0; w < wanted.length && !needed; w++) needed = holders[w] === 1 && held.holds(p, wanted[w]!);
    if (needed) continue;
    kept.splice(k, 1);
    for (let w = 0; w < wanted.length; w++) if (held.holds(p, wanted[w]!)) holders[w]!--;
  }
  return kept;
}

/**
 * Places every path some peer holds into peer steps, wave by wave; returns the last wave used (0 if none).
 *
 * Only the covering peers take part, and each has exactly one step: one copy session per peer, so a plan never
 * has more sessions than the greedy cover has peers. Its roots are the maximal paths some peer holds, each
 * given to the first covering peer (in choice order) that holds it. Peers then go wave by wave, the biggest
 * share first: a peer joins a wave when what its roots' closures still lack shares no path with a step
 * already in that wave (two parallel copies never bring the same path) and the wave has room; otherwise it
 * waits for the next wave, when the shared part has arrived.
 */
function placePeerSteps(
  graph: ClosureGraph,
  state: Int32Array,
  held: PeerHoldings,
  peers: readonly string[],
  peerHeld: Uint8Array,
  steps: PlanStep[],
  maxPeers: number | undefined,
): number {
  const n = graph.paths.length;
  const { refStart, refTargets, sizes } = graph;
  const seen = new Int32Array(n);
  let stamp = 0;
  const stack: number[] = [];
  const fresh: number[] = [];

  // What the closures of `roots` lack before `wave` (into `fresh`, with their bytes); -1 when a step of
  // `wave` already delivers part of it. A path of an earlier wave has its missing closure delivered by then,
  // so the walk need not look below it.
  const lacking = (roots: readonly number[], wave: number): number => {
    stamp++;
    fresh.length = 0;
    stack.length = 0;
    let bytes = 0;
    for (const t of roots) {
      if (seen[t] === stamp) continue;
      seen[t] = stamp;
      stack.push(t);
    }
    while (stack.length > 0) {
      const i = stack.pop()!;
      const s = state[i]!;
      if (s === wave) return -1;
      if (s !== -1) continue;
      fresh.push(i);
      bytes += sizes[i]!;
      for (let k = refStart[i]!; k < refStart[i + 1]!; k++) {
        const j = refTargets[k]!;
        if (seen[j] !== stamp) {
          seen[j] = stamp;
          stack.push(j);
        }
      }
    }
    return bytes;
  };

  const wanted: number[] = [];
  for (let i = 0; i < n; i++) if (peerHeld[i]) wanted.push(i);
  const cover = coveringPeers(held, peers.length, wanted, sizes);

  const roots: number[][] = peers.map(() => []);
  for (const t of maximalIndices(graph, peerHeld)) roots[cover.find((c) => held.holds(c, t))!]!.push(t);
  // The biggest share first: it starts first and, in a wave that is full, never waits. (One peer: no order
  // to choose, and no walk to make for it.)
  const share = new Float64Array(peers.length);
  if (cover.length > 1) for (const p of cover) share[p] = lacking(roots[p]!, 1);
  let waiting = cover.filter((p) => roots[p]!.length > 0).sort((a, b) => share[b]! - share[a]! || a - b);

  let wave = 0;
  while (waiting.length > 0) {
    wave++;
    const delivered: (number[] | undefined)[] = [];
    let inUse = 0;
    const later: number[] = [];
    for (const p of waiting) {
      if ((maxPeers !== undefined && inUse >= maxPeers) || lacking(roots[p]!, wave) < 0) {
        later.push(p);
        continue;
      }
      for (const i of fresh) state[i] = wave;
      delivered[p] = [...fresh];
      inUse++;
    }
    for (let p = 0; p < peers.length; p++) {
      if (delivered[p] === undefined) continue;
      const source: Source = { kind: 'peer', host: peers[p]! };
      steps.push(makeStep(graph, wave, source, roots[p]!, delivered[p]!));
    }
    waiting = later;
  }
  return wave;
}

function makeStep(
  graph: ClosureGraph,
  wave: number,
  source: Source,
  roots: readonly number[],
  paths: readonly number[],
): PlanStep {
  const named = (xs: readonly number[]) => Array.from(Int32Array.from(xs).sort(), (i) => graph.paths[i]!);
  return { wave, source, roots: named(roots), paths: named(paths), bytes: bytesOf(graph, paths) };
}

function indicesOf(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

function bytesOf(graph: ClosureGraph, indices: Iterable<number>): number {
  let total = 0;
  for (const i of indices) total += graph.sizes[i]!;
  return total;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
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
function closureGraph(infos: readonly PathInfo[]): ClosureGraph {
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

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const x of sa) if (!sb.has(x)) return false;
  return true;
}

/** `maximalElements` by index: indices where `mask` is set, ascending. */
function maximalIndices(graph: ClosureGraph, mask: Uint8Array): number[] {
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
