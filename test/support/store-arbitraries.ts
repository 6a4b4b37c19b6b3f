// fast-check generators of store paths, closures and hosts' holdings, shared by the unit tests of the pure
// core, and plain reference implementations (obviously right, slow) to check the fast code against.
import fc from 'fast-check';
import type { PlanInput } from '../../src/core/planner.ts';
import type { PathInfo, StorePath } from '../../src/core/types.ts';

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** A valid store path whose hash is derived from `seed`, so equal seeds give equal paths. */
export function storePathFor(seed: string, name: string): StorePath {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  let hash = '';
  for (let round = 0; hash.length < 32; round++) {
    for (const c of `${round}:${seed}`) {
      h1 = Math.imul(h1 ^ c.charCodeAt(0), 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c.charCodeAt(0), 0x5bd1e995) >>> 0;
    }
    for (let k = 0; k < 6; k++) hash += BASE32[((h1 >>> (k * 5)) ^ (h2 >>> (k * 4))) & 31];
  }
  return `/nix/store/${hash.slice(0, 32)}-${name}`;
}

export const storePathArb: fc.Arbitrary<StorePath> = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...BASE32), minLength: 32, maxLength: 32 }),
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789+-_?='),
    fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789+-._?='),
      maxLength: 210,
    }),
  )
  .map(([hash, first, rest]) => `/nix/store/${hash}-${first}${rest}`);

export interface ClosureOptions {
  readonly minPaths?: number;
  readonly maxPaths?: number;
  /** Most references per path (besides itself). */
  readonly maxRefs?: number;
  /** Distinguishes the paths of closures that must not share any. */
  readonly prefix?: string;
}

/**
 * A closure as Nix reports it: a DAG where path i references only paths before it (and sometimes itself),
 * sizes from a few bytes to hundreds of MiB, given in a scrambled order with the last path as the top.
 */
export function closureArb(opts: ClosureOptions = {}): fc.Arbitrary<PathInfo[]> {
  const { minPaths = 1, maxPaths = 30, maxRefs = 4, prefix = 'p' } = opts;
  return fc
    .array(
      fc.record({
        refs: fc.array(fc.nat(), { maxLength: maxRefs }),
        size: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 400 * 2 ** 20 })),
        self: fc.boolean(),
      }),
      // 'medium' makes closures of dozens of paths common instead of rare.
      { minLength: minPaths, maxLength: maxPaths, size: 'medium' },
    )
    .map((nodes) => {
      const paths = nodes.map((_, i) => storePathFor(`${prefix}${i}`, `${prefix}${i}-lib`));
      return nodes.map((node, i) => {
        const refs = new Set(i === 0 ? [] : node.refs.map((r) => paths[r % i]!));
        if (node.self) refs.add(paths[i]!);
        return { path: paths[i]!, narSize: node.size, references: [...refs], signatures: [] };
      });
    });
}

/** The roots' closure computed the obvious way; paths of `stop` are neither included nor looked through. */
export function naiveRequisites(
  closure: readonly PathInfo[],
  roots: Iterable<StorePath>,
  stop: ReadonlySet<StorePath> = new Set(),
): Set<StorePath> {
  const byPath = new Map(closure.map((i) => [i.path, i]));
  const out = new Set<StorePath>();
  const visit = (p: StorePath) => {
    if (out.has(p) || stop.has(p)) return;
    out.add(p);
    for (const r of byPath.get(p)?.references ?? []) visit(r);
  };
  for (const r of roots) visit(r);
  return out;
}

/** Paths of `subset` that no other path of `subset` has in its closure. */
export function naiveMaximal(closure: readonly PathInfo[], subset: Iterable<StorePath>): StorePath[] {
  const members = [...new Set(subset)];
  return members
    .filter((p) => !members.some((q) => q !== p && naiveRequisites(closure, [q]).has(p)))
    .sort(byCodeUnit);
}

/** A holding as a real store has it: the closure of some of the paths. */
export function closedHoldingArb(closure: readonly PathInfo[], maxRoots = 4): fc.Arbitrary<Set<StorePath>> {
  const paths = closure.map((i) => i.path);
  return fc
    .subarray(paths, { maxLength: Math.min(maxRoots, paths.length) })
    .map((roots) => naiveRequisites(closure, roots));
}

function planInputArb(
  closureArbitrary: fc.Arbitrary<PathInfo[]>,
  holdingFor: (closure: PathInfo[]) => fc.Arbitrary<Set<StorePath>>,
  maxPeers: number,
): fc.Arbitrary<PlanInput> {
  return closureArbitrary.chain((closure) =>
    fc
      .record({
        target: holdingFor(closure),
        peers: fc.array(holdingFor(closure), { maxLength: maxPeers }),
      })
      .map(({ target, peers }) => {
        const names = peers.map((_, i) => `pi-${String.fromCharCode(97 + i)}`);
        const holdings = new Map<string, Set<StorePath>>([['target', target]]);
        for (const [i, held] of peers.entries()) holdings.set(names[i]!, held);
        return { target: 'target', closure, holdings, peers: names };
      }),
  );
}

/** A target, up to `maxPeers` peers, each holding the closure of a few random paths. */
export function planInputArbitrary(
  opts: ClosureOptions & { maxPeers?: number } = {},
): fc.Arbitrary<PlanInput> {
  return planInputArb(closureArb(opts), (c) => closedHoldingArb(c), opts.maxPeers ?? 4);
}

/**
 * Package families: each family has a few base libraries and members built on them, and peers hold
 * different members of the same family. The members' closures overlap in the base libraries the target
 * lacks, so two members held by different peers tend to compete for the same paths within a wave.
 */
export function familyClosureArb(): fc.Arbitrary<PathInfo[]> {
  return fc
    .array(
      fc.record({
        bases: fc.integer({ min: 1, max: 3 }),
        members: fc.integer({ min: 2, max: 5 }),
        crossLinks: fc.array(fc.nat(), { maxLength: 3 }),
        sizes: fc.array(fc.integer({ min: 1, max: 50 * 2 ** 20 }), { minLength: 8, maxLength: 8 }),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .map((families) => {
      const infos: PathInfo[] = [];
      const allMembers: StorePath[] = [];
      families.forEach((fam, f) => {
        const size = (k: number) => fam.sizes[k % fam.sizes.length]!;
        const bases: StorePath[] = [];
        for (let b = 0; b < fam.bases; b++) {
          const path = storePathFor(`fam${f}base${b}`, `fam${f}-base${b}`);
          infos.push({ path, narSize: size(b), references: [path, ...bases], signatures: [] });
          bases.push(path);
        }
        for (let m = 0; m < fam.members; m++) {
          const path = storePathFor(`fam${f}member${m}`, `fam${f}-member${m}`);
          const earlier =
            allMembers.length > 0 ? fam.crossLinks.map((c) => allMembers[c % allMembers.length]!) : [];
          const refs = [...new Set([bases[m % bases.length]!, ...earlier])];
          infos.push({ path, narSize: size(fam.bases + m), references: refs, signatures: [] });
          allMembers.push(path);
        }
      });
      const top = storePathFor('family-top', 'nixos-system-target');
      infos.push({ path: top, narSize: 4096, references: [...allMembers], signatures: [] });
      return infos;
    });
}

/** Family closures where peers hold whole members (with their bases) and the target few of them. */
export function familyPlanInputArbitrary(maxPeers = 4): fc.Arbitrary<PlanInput> {
  const memberHolding = (closure: PathInfo[]) => {
    const members = closure.filter((i) => /-member\d+$/.test(i.path)).map((i) => i.path);
    return fc
      .subarray(members, { maxLength: Math.min(3, members.length) })
      .map((roots) => naiveRequisites(closure, roots));
  };
  return planInputArb(familyClosureArb(), memberHolding, maxPeers).chain((input) =>
    // Mostly a target with nothing of the families; sometimes one with part of them.
    fc
      .oneof(fc.constant(new Set<StorePath>()), memberHolding([...input.closure]))
      .map((target) => ({ ...input, holdings: new Map([...input.holdings, ['target', target]]) })),
  );
}

/** A seeded generator of numbers in [0, 1): the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The same input with every list, set and map in another order. */
export function reordered(input: PlanInput, seed: number): PlanInput {
  const random = seededRandom(seed);
  const closure = shuffled(input.closure, random).map((i) => ({
    ...i,
    references: shuffled(i.references, random),
  }));
  const holdings = new Map(
    shuffled([...input.holdings], random).map(([host, held]) => [host, new Set(shuffled([...held], random))]),
  );
  return { target: input.target, closure, holdings, peers: shuffled(input.peers, random) };
}

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
