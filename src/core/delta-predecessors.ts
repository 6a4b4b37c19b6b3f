// Which path a missing one may come as a delta against: its predecessor, a path of the same package (the
// same name and output, as src/core/package-name.ts splits store names the way Nix does) at another version or
// with another hash, that the target holds (so it can rebuild the NAR from its own store) and the builder
// still has (so it can make the delta). Most new paths of a nixpkgs bump are rebuilds that differ from the
// held version only in the store paths they embed: the same version with another hash is the best base; then
// the nearest version below, then the nearest above; a tie goes to the size nearest the new path's. Pure.
import { compareVersions, packageId } from './package-name.ts';
import { storePathName } from './storepath.ts';
import type { StorePath } from './types.ts';

export interface DeltaChoiceInput {
  /** The paths the target lacks. */
  readonly missing: readonly StorePath[];
  /** The paths the target holds (per the plan's holdings). */
  readonly held: Iterable<StorePath>;
  /** Whether the builder's store still has a path. */
  readonly builderHas: (p: StorePath) => boolean;
  /** NAR sizes, where known, for the tie-break. */
  readonly narSize?: (p: StorePath) => number | undefined;
}

interface Candidate {
  readonly path: StorePath;
  readonly version: string;
}

/** Each missing path that has a predecessor, and that predecessor. Paths without one are left out. */
export function choosePredecessors(input: DeltaChoiceInput): Map<StorePath, StorePath> {
  const byPackage = new Map<string, Candidate[]>();
  for (const p of input.held) {
    const id = packageId(storePathName(p));
    if (id.name === '') continue;
    const key = `${id.name}\0${id.output}`;
    const list = byPackage.get(key) ?? [];
    if (list.length === 0) byPackage.set(key, list);
    list.push({ path: p, version: id.version });
  }
  const size = input.narSize ?? (() => undefined);
  const out = new Map<StorePath, StorePath>();
  for (const p of input.missing) {
    const id = packageId(storePathName(p));
    const candidates = (byPackage.get(`${id.name}\0${id.output}`) ?? []).filter(
      (c) => c.path !== p && input.builderHas(c.path),
    );
    if (candidates.length === 0) continue;
    const own = size(p);
    const ranked = candidates.map((c) => {
      const s = size(c.path);
      return {
        ...c,
        tier: tierOf(compareVersions(c.version, id.version)),
        gap: own === undefined || s === undefined ? 0 : Math.abs(own - s),
      };
    });
    out.set(p, ranked.reduce((a, b) => (better(a, b) ? a : b)).path);
  }
  return out;
}

/** 0: the same version with another hash; 1: an older version; 2: a newer one. */
function tierOf(cmp: -1 | 0 | 1): number {
  return cmp === 0 ? 0 : cmp < 0 ? 1 : 2;
}

interface Ranked extends Candidate {
  readonly tier: number;
  readonly gap: number;
}

/** Whether `a` is a better base than `b`; ties go by path, so the choice does not depend on order. */
function better(a: Ranked, b: Ranked): boolean {
  if (a.tier !== b.tier) return a.tier < b.tier;
  // The nearest version: the newest of the older ones, the oldest of the newer ones.
  const c = compareVersions(a.version, b.version);
  if (a.tier === 1 && c !== 0) return c > 0;
  if (a.tier === 2 && c !== 0) return c < 0;
  if (a.gap !== b.gap) return a.gap < b.gap;
  return a.path < b.path;
}
