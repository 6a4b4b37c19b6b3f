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
   * At most this many peers have steps in one wave (a peer beyond a full wave waits for the next wave): the
   * target runs that many copy sessions at once. Unset: no limit beyond the covering peers.
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
  const held = new PeerHoldings(graph, peers.length);
  for (let p = 0; p < peers.length; p++) held.add(p, input.holdings.get(peers[p]!)!, onto);
  held.keepClosedParts();

  // Per path: 0 present, w >= 1 delivered in wave w, -1 not yet placed.
  const state = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (present[i]) state[i] = 0;
  const peerHeld = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (!present[i] && held.anyHolds(i)) peerHeld[i] = 1;

  const drafts: StepDraft[] = [];
  // Per path, the draft of the step that delivers it (-1: none).
  const stepOf = new Int32Array(n).fill(-1);
  const lastWave = placePeerSteps(graph, state, held, peers, peerHeld, drafts, stepOf, input.maxPeersPerWave);

  const rest = new Uint8Array(n);
  let restCount = 0;
  for (let i = 0; i < n; i++) {
    if (state[i] !== -1) continue;
    rest[i] = 1;
    stepOf[i] = drafts.length;
    restCount++;
  }
  if (restCount > 0) {
    drafts.push({ wave: lastWave + 1, source: { kind: 'builder' }, roots: maximalIndices(graph, rest) });
  }
  const steps = finishSteps(graph, drafts, stepOf);
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
    // A question often lists the closure's paths in the closure's order: try that position first.
    const { paths, listed } = graph;
    const asked = universe.paths;
    for (let i = 0; i < map.length; i++) {
      const k = listed[i]!;
      map[i] = asked[k] === paths[i] ? k : universe.indexOf(paths[i]!);
    }
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
 * The wanted paths grouped by who holds them. Paths with the same holders weigh alike in every choice of the
 * cover, by their number and bytes: 60,000 wanted paths held by 200 peers are a few hundred groups, and the
 * cover counts each group once instead of each path for each of its holders (millions of steps).
 */
interface HolderGroups {
  /** A path of each group, whose row stands for the group's. */
  readonly rep: readonly number[];
  readonly paths: readonly number[];
  readonly bytes: readonly number[];
}

function holderGroups(held: PeerHoldings, wanted: Int32Array, sizes: readonly number[]): HolderGroups {
  const { rows, words } = held;
  let size = 16;
  while (size < wanted.length * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size);
  const rep: number[] = [];
  const paths: number[] = [];
  const bytes: number[] = [];
  for (const i of wanted) {
    const row = i * words;
    let h = 0;
    for (let w = 0; w < words; w++) h = Math.imul(h ^ rows[row + w]!, 0x9e3779b1);
    h ^= h >>> 16;
    let g = -1;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const slot = slots[at]!;
      if (slot === 0) {
        g = rep.length;
        rep.push(i);
        paths.push(0);
        bytes.push(0);
        slots[at] = g + 1;
        break;
      }
      const other = rep[slot - 1]! * words;
      let same = true;
      for (let w = 0; w < words && same; w++) same = rows[other + w] === rows[row + w];
      if (same) {
        g = slot - 1;
        break;
      }
    }
    paths[g]!++;
    bytes[g]! += sizes[i]!;
  }
  return { rep, paths, bytes };
}

/**
 * The fewest peers, chosen greedily, that together hold every path some peer holds. Each step is one
 * `nix copy` session (an SSH login and a Nix start on both ends), and the target's own LAN link bounds a copy
 * whatever the number of peers, so every peer beyond a cover only adds sessions: where one peer holds all
 * the target needs, one session. Greedy set cover by paths (ties: more bytes, then name order), evaluated
 * lazily, since a peer's gain only shrinks as others are chosen. In choice order.
 */
function coveringPeers(held: PeerHoldings, peers: number, groups: HolderGroups): number[] {
  const { rep } = groups;
  const count = groups.paths;
  const weight = groups.bytes;
  const covered = new Uint8Array(rep.length);
  const paths = new Float64Array(peers);
  const bytes = new Float64Array(peers);
  let left = 0;
  for (let g = 0; g < rep.length; g++) {
    left += count[g]!;
    held.forEachHolder(rep[g]!, (p) => {
      paths[p]! += count[g]!;
      bytes[p]! += weight[g]!;
    });
  }
  const recount = (p: number) => {
    let c = 0;
    let total = 0;
    for (let g = 0; g < rep.length; g++) {
      if (!covered[g] && held.holds(p, rep[g]!)) {
        c += count[g]!;
        total += weight[g]!;
      }
    }
    paths[p] = c;
    bytes[p] = total;
  };
  const better = (a: number, b: number) =>
    paths[a] !== paths[b] ? paths[a]! > paths[b]! : bytes[a] !== bytes[b] ? bytes[a]! > bytes[b]! : a < b;
  const chosen: number[] = [];
  const open = new Set(Array.from({ length: peers }, (_, p) => p));
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
    for (let g = 0; g < rep.length; g++) {
      if (!covered[g] && held.holds(best, rep[g]!)) {
        covered[g] = 1;
        left -= count[g]!;
      }
    }
  }
  return withoutRedundant(chosen, held, rep);
}

/**
 * Greedy choice can leave a peer whose paths the peers chosen after it hold between them: drop each such peer,
 * latest choice first, so that every peer left is the only one of them holding some path.
 */
function withoutRedundant(chosen: readonly number[], held: PeerHoldings, rep: readonly number[]): number[] {
  // How many of the peers kept hold each group's paths.
  const holders = new Int32Array(rep.length);
  for (let g = 0; g < rep.length; g++) {
    for (const p of chosen) if (held.holds(p, rep[g]!)) holders[g]!++;
  }
  const kept = [...chosen];
  for (let k = kept.length - 1; k >= 0; k--) {
    const p = kept[k]!;
    let needed = false;
    for (let g = 0; g < rep.length && !needed; g++) needed = holders[g] === 1 && held.holds(p, rep[g]!);
    if (needed) continue;
    kept.splice(k, 1);
    for (let g = 0; g < rep.length; g++) if (held.holds(p, rep[g]!)) holders[g]!--;
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
  drafts: StepDraft[],
  stepOf: Int32Array,
  maxPeers: number | undefined,
): number {
  const n = graph.paths.length;
  const { refStart, refTargets, sizes } = graph;
  const seen = new Int32Array(n);
  let stamp = 0;
  // A path enters the stack once a walk (`seen`), and `fresh` holds what the last walk found, its first
  // `freshCount` entries.
  const stack = new Int32Array(n);
  const fresh = new Int32Array(n);
  let freshCount = 0;

  // What the closures of `roots` lack before `wave` (into `fresh`, with their bytes); -1 when a step of
  // `wave` already delivers part of it. A path of an earlier wave has its missing closure delivered by then,
  // so the walk need not look below it.
  const lacking = (roots: readonly number[], wave: number): number => {
    stamp++;
    freshCount = 0;
    let top = 0;
    let bytes = 0;
    for (const t of roots) {
      if (seen[t] === stamp) continue;
      seen[t] = stamp;
      stack[top++] = t;
    }
    while (top > 0) {
      const i = stack[--top]!;
      const s = state[i]!;
      if (s === wave) return -1;
      if (s !== -1) continue;
      fresh[freshCount++] = i;
      bytes += sizes[i]!;
      for (let k = refStart[i]!; k < refStart[i + 1]!; k++) {
        const j = refTargets[k]!;
        if (seen[j] !== stamp) {
          seen[j] = stamp;
          stack[top++] = j;
        }
      }
    }
    return bytes;
  };

  let wantedCount = 0;
  for (let i = 0; i < n; i++) wantedCount += peerHeld[i]!;
  const wanted = new Int32Array(wantedCount);
  for (let i = 0, w = 0; i < n; i++) if (peerHeld[i]) wanted[w++] = i;
  const cover = coveringPeers(held, peers.length, holderGroups(held, wanted, sizes));

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
    const delivered: (Int32Array | undefined)[] = [];
    let inUse = 0;
    const later: number[] = [];
    for (const p of waiting) {
      if ((maxPeers !== undefined && inUse >= maxPeers) || lacking(roots[p]!, wave) < 0) {
        later.push(p);
        continue;
      }
      for (let f = 0; f < freshCount; f++) state[fresh[f]!] = wave;
      delivered[p] = fresh.slice(0, freshCount);
      inUse++;
    }
    for (let p = 0; p < peers.length; p++) {
      if (delivered[p] === undefined) continue;
      for (const i of delivered[p]!) stepOf[i] = drafts.length;
      drafts.push({ wave, source: { kind: 'peer', host: peers[p]! }, roots: roots[p]! });
    }
    waiting = later;
  }
  return wave;
}

/** A step before its paths are named: which draft delivers a path is kept per path (`stepOf`). */
interface StepDraft {
  readonly wave: number;
  readonly source: Source;
  /** Ascending, as maximalIndices gives them. */
  readonly roots: readonly number[];
}

/**
 * The steps with their paths named, each step's in sorted order: one pass over the paths in index order (which
 * is sorted order) gives every step its paths already sorted, where sorting each step's list would not.
 */
function finishSteps(graph: ClosureGraph, drafts: readonly StepDraft[], stepOf: Int32Array): PlanStep[] {
  const counts = new Int32Array(drafts.length);
  for (let i = 0; i < stepOf.length; i++) if (stepOf[i]! >= 0) counts[stepOf[i]!]!++;
  const paths: StorePath[][] = Array.from(counts, (c) => new Array<StorePath>(c));
  const filled = new Int32Array(drafts.length);
  const bytes = new Float64Array(drafts.length);
  for (let i = 0; i < stepOf.length; i++) {
    const s = stepOf[i]!;
    if (s < 0) continue;
    paths[s]![filled[s]!++] = graph.paths[i]!;
    bytes[s]! += graph.sizes[i]!;
  }
  return drafts.map((d, s) => ({
    wave: d.wave,
    source: d.source,
    roots: d.roots.map((i) => graph.paths[i]!),
    paths: paths[s]!,
    bytes: bytes[s]!,
  }));
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
