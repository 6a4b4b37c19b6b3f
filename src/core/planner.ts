// Where each path a target lacks comes from: peers on its LAN first, the builder over the uplink last.
//
// `nix copy --from ssh://PEER ROOTS` brings every path of the roots' closures the target lacks at that
// moment, and a store holds a path only with its whole closure. So a step is a peer and some roots, and the
// paths it delivers are fixed by what the target holds when it starts. Steps run in waves: the steps of a
// wave run in parallel and never deliver the same path, waves run in order, and the builder's step is the
// last wave. Every missing path is attributed to the one step that really delivers it.
//
// Pure and stateless: after a failure, plan again with the target's fresh holdings and without the peer.
import { ClosureError, type ClosureGraph, closureGraph, compareStrings, maximalIndices } from './closure.ts';
import type { PlanSummary } from './events.ts';
import { HeldPaths, type PathUniverse } from './held-paths.ts';
import type { PathInfo, Source, StorePath } from './types.ts';

export interface PlanInput {
  readonly target: string;
  readonly closure: readonly PathInfo[];
  /** What each host holds, by host name; must include the target. Paths outside the closure are ignored. */
  readonly holdings: ReadonlyMap<string, ReadonlySet<StorePath>>;
  /** Hosts the target may copy from (reachable, same LAN). */
  readonly peers: readonly string[];
  /**
   * At most this many peers have steps in one wave (a root no peer of a full wave holds waits for the next
   * wave): the target runs that many copy sessions at once. Unset: no limit beyond the covering peers.
   */
  readonly maxPeersPerWave?: number;
}

export interface PlanStep {
  readonly wave: number;
  readonly source: Source;
  /** What the copy command names; it brings their closures minus what the target holds by then. */
  readonly roots: readonly StorePath[];
  /** The paths this step delivers. */
  readonly paths: readonly StorePath[];
  readonly bytes: number;
}

export interface PlanTotals {
  readonly totalPaths: number;
  readonly totalBytes: number;
  readonly presentPaths: number;
  readonly presentBytes: number;
  readonly lanPaths: number;
  readonly lanBytes: number;
  readonly uplinkPaths: number;
  readonly uplinkBytes: number;
}

export interface Plan {
  readonly target: string;
  readonly present: { readonly paths: readonly StorePath[]; readonly bytes: number };
  /** By wave; within a wave by peer name; the builder's step, if any, last. */
  readonly steps: readonly PlanStep[];
  readonly totals: PlanTotals;
}

export class PlanInputError extends Error {
  override name = 'PlanInputError';
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [message]) {
    super(message);
    this.problems = problems;
  }
}

export function sourceName(source: Source): string {
  return source.kind === 'peer' ? `peer:${source.host}` : 'builder';
}

export function plan(input: PlanInput): Plan {
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
  const held = peers.map((p) => closedPart(graph, input.holdings.get(p)!, onto));

  // Per path: 0 present, w >= 1 delivered in wave w, -1 not yet placed.
  const state = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (present[i]) state[i] = 0;
  const peerHeld = new Uint8Array(n);
  for (const h of held) for (let i = 0; i < n; i++) if (h[i] && !present[i]) peerHeld[i] = 1;

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
  const lan = steps.filter((s) => s.source.kind === 'peer');
  const up = steps.filter((s) => s.source.kind === 'builder');
  return {
    target: input.target,
    present: { paths: presentPaths.map((i) => graph.paths[i]!), bytes: presentBytes },
    steps,
    totals: {
      totalPaths: n,
      totalBytes: bytesOf(graph, range(n)),
      presentPaths: presentPaths.length,
      presentBytes,
      lanPaths: sum(lan.map((s) => s.paths.length)),
      lanBytes: sum(lan.map((s) => s.bytes)),
      uplinkPaths: sum(up.map((s) => s.paths.length)),
      uplinkBytes: sum(up.map((s) => s.bytes)),
    },
  };
}

/** Per source, what it delivers: peers by bytes (most first, then by name), the builder last. */
export function summary(p: Plan): PlanSummary {
  const bySource = new Map<string, { source: string; paths: number; bytes: number }>();
  for (const step of p.steps) {
    const name = sourceName(step.source);
    const entry = bySource.get(name) ?? { source: name, paths: 0, bytes: 0 };
    entry.paths += step.paths.length;
    entry.bytes += step.bytes;
    bySource.set(name, entry);
  }
  const builder = bySource.get('builder');
  bySource.delete('builder');
  const sources = [...bySource.values()].sort(
    (a, b) => b.bytes - a.bytes || compareStrings(a.source, b.source),
  );
  if (builder) sources.push(builder);
  const t = p.totals;
  return {
    totalPaths: t.totalPaths,
    totalBytes: t.totalBytes,
    presentPaths: t.presentPaths,
    presentBytes: t.presentBytes,
    sources,
    lanBytes: t.lanBytes,
    uplinkBytes: t.uplinkBytes,
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
 * The fewest peers, chosen greedily, that together hold every path some peer holds. Each step is one
 * `nix copy` session (an SSH login and a Nix start on both ends), and the target's own LAN link bounds a copy
 * whatever the number of peers, so every peer beyond a cover only adds sessions: where one peer holds all
 * the target needs, one session. Greedy set cover by paths (ties: more bytes, then name order), evaluated
 * lazily, since a peer's gain only shrinks as others are chosen. In choice order.
 */
function coveringPeers(
  held: readonly Uint8Array[],
  wanted: readonly number[],
  sizes: readonly number[],
  n: number,
): number[] {
  const covered = new Uint8Array(n);
  const gainOf = (p: number): [number, number] => {
    let paths = 0;
    let bytes = 0;
    const h = held[p]!;
    for (const i of wanted) {
      if (h[i] && !covered[i]) {
        paths++;
        bytes += sizes[i]!;
      }
    }
    return [paths, bytes];
  };
  const gains = held.map((_, p) => gainOf(p));
  const better = (a: number, b: number) =>
    gains[a]![0] !== gains[b]![0]
      ? gains[a]![0] > gains[b]![0]
      : gains[a]![1] !== gains[b]![1]
        ? gains[a]![1] > gains[b]![1]
        : a < b;
  const chosen: number[] = [];
  const open = new Set(held.keys());
  let left = wanted.length;
  while (left > 0 && open.size > 0) {
    let best = -1;
    for (const p of open) if (best === -1 || better(p, best)) best = p;
    if (gains[best]![0] === 0) break;
    gains[best] = gainOf(best);
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
    if (gains[best]![0] === 0) break;
    chosen.push(best);
    const h = held[best]!;
    for (const i of wanted) {
      if (h[i] && !covered[i]) {
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
  chosen: number[],
  held: readonly Uint8Array[],
  wanted: readonly number[],
): number[] {
  const kept = [...chosen];
  for (let k = kept.length - 1; k >= 0; k--) {
    const others = kept.filter((_, j) => j !== k);
    const needed = wanted.some((i) => held[kept[k]!]![i] && !others.some((p) => held[p]![i]));
    if (!needed) kept.splice(k, 1);
  }
  return kept;
}

/**
 * Places every path some peer holds into peer steps, wave by wave; returns the last wave used (0 if none).
 *
 * Only the covering peers take part. The candidates are the maximal paths some peer holds, largest missing
 * closure first. In a wave, each candidate's delivery is what its closure still lacks. If that touches no
 * step of this wave, it goes to a covering peer holding it, one that already has a step in this wave first,
 * else the one chosen first for the cover; if it touches exactly one peer's step and that peer holds it, it
 * joins that step; otherwise it waits for the next wave, when the shared part has arrived.
 */
function placePeerSteps(
  graph: ClosureGraph,
  state: Int32Array,
  held: readonly Uint8Array[],
  peers: readonly string[],
  peerHeld: Uint8Array,
  steps: PlanStep[],
  maxPeers: number | undefined,
): number {
  const n = graph.paths.length;
  const { refStart, refTargets, sizes } = graph;
  const owner = new Int32Array(n);
  const seen = new Int32Array(n);
  let stamp = 0;
  const stack: number[] = [];
  const fresh: number[] = [];
  const touched: number[] = [];

  // What t's closure lacks before `wave` and no step of `wave` delivers yet (into `fresh`), and the peers
  // whose steps of `wave` it shares paths with (into `touched`). A path a step of this wave delivers has
  // its missing closure in the same step, so the walk need not look below it.
  const lacking = (t: number, wave: number): number => {
    stamp++;
    fresh.length = 0;
    touched.length = 0;
    let bytes = 0;
    stack.push(t);
    seen[t] = stamp;
    while (stack.length > 0) {
      const i = stack.pop()!;
      const s = state[i]!;
      if (s === wave) {
        if (!touched.includes(owner[i]!)) touched.push(owner[i]!);
        continue;
      }
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
  const cover = coveringPeers(held, wanted, sizes, n);

  const tops = maximalIndices(graph, peerHeld);
  const weight = new Map<number, number>();
  for (const t of tops) weight.set(t, lacking(t, 1));
  let waiting = tops.sort((a, b) => weight.get(b)! - weight.get(a)! || a - b);

  let wave = 0;
  while (waiting.length > 0) {
    wave++;
    const roots: number[][] = peers.map(() => []);
    const delivered: number[][] = peers.map(() => []);
    let inUse = 0;
    const later: number[] = [];
    for (const t of waiting) {
      lacking(t, wave);
      let chosen = -1;
      if (touched.length === 0) {
        let first = -1;
        for (const p of cover) {
          if (!held[p]![t]) continue;
          if (first === -1) first = p;
          if (roots[p]!.length > 0) {
            chosen = p;
            break;
          }
        }
        // A peer new to this wave only while the wave has room; otherwise t waits for the next wave.
        if (chosen === -1 && (maxPeers === undefined || inUse < maxPeers)) chosen = first;
      } else if (touched.length === 1 && held[touched[0]!]![t]) {
        chosen = touched[0]!;
      }
      if (chosen === -1) {
        later.push(t);
        continue;
      }
      for (const i of fresh) {
        state[i] = wave;
        owner[i] = chosen;
        delivered[chosen]!.push(i);
      }
      if (roots[chosen]!.length === 0) inUse++;
      roots[chosen]!.push(t);
    }
    for (let p = 0; p < peers.length; p++) {
      if (roots[p]!.length === 0) continue;
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
  const byPath = (a: number, b: number) => a - b;
  return {
    wave,
    source,
    roots: [...roots].sort(byPath).map((i) => graph.paths[i]!),
    paths: [...paths].sort(byPath).map((i) => graph.paths[i]!),
    bytes: bytesOf(graph, paths),
  };
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

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
