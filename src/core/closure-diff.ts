// What a deploy changes on a host, like `nvd diff` or `nix store diff-closures`: the packages of the system it
// runs and of the one it gets, grouped by name (every output of a package together), with their versions and
// sizes. Pure: the engine hands in both closures (what the builder or the host said of them).
import { compareStrings } from './closure.ts';
import { compareVersions, packageId } from './package-name.ts';
import { STORE_DIR } from './storepath.ts';
import type { StorePath } from './types.ts';

export type ChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded' | 'changed';

export interface PackageChange {
  readonly name: string;
  readonly kind: ChangeKind;
  /** Versions in the running system, sorted as Nix orders versions; empty when absent there. */
  readonly before: readonly string[];
  readonly after: readonly string[];
  /** narSize of all its paths in each closure. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export interface ClosureDiff {
  /** The system the host runs; null when it runs none yet (everything is added). */
  readonly from: StorePath | null;
  readonly to: StorePath;
  /** Biggest first (see `byWeight`). */
  readonly changes: readonly PackageChange[];
  readonly counts: Readonly<Record<ChangeKind, number>>;
  /** Packages rebuilt with the same versions and about the same size: counted, not listed. */
  readonly rebuilt: number;
  readonly pathsAdded: number;
  readonly pathsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** What the engine could tell about a host's change: the diff, or why there is none. */
export type DiffOutcome =
  | { readonly known: true; readonly diff: ClosureDiff }
  | {
      readonly known: false;
      readonly from: StorePath | null;
      readonly to: StorePath;
      readonly reason: string;
    };

/** A size change below this is noise (a rebuilt path's embedded references): Nix's own threshold. */
export const SIZE_THRESHOLD = 8 * 1024;

interface PathSize {
  readonly path: StorePath;
  readonly narSize: number;
}

interface Side {
  readonly versions: string[];
  readonly paths: StorePath[];
  bytes: number;
}

/** One closure by package name, with every path once and the closure's size. */
interface Grouped {
  readonly byName: Map<string, Side>;
  readonly paths: Set<StorePath>;
  readonly bytes: number;
}

export function diffClosures(
  before: readonly PathSize[],
  after: readonly PathSize[],
  ends: { readonly from: StorePath | null; readonly to: StorePath },
): ClosureDiff {
  const old = group(before);
  const now = group(after);
  const changes: PackageChange[] = [];
  const counts: Record<ChangeKind, number> = { added: 0, removed: 0, upgraded: 0, downgraded: 0, changed: 0 };
  let rebuilt = 0;
  const names = new Set([...old.byName.keys(), ...now.byName.keys()]);
  for (const name of names) {
    const a = old.byName.get(name);
    const b = now.byName.get(name);
    const kind = kindOf(a, b);
    if (kind === null) {
      // A path's name decides its package, so the same paths are the same count, all of them held before.
      if (a && b && !(a.paths.length === b.paths.length && b.paths.every((p) => old.paths.has(p))))
        rebuilt += 1;
      continue;
    }
    counts[kind] += 1;
    changes.push({
      name,
      kind,
      before: sortedVersions(a),
      after: sortedVersions(b),
      bytesBefore: a?.bytes ?? 0,
      bytesAfter: b?.bytes ?? 0,
    });
  }
  changes.sort(byWeight);
  let pathsAdded = 0;
  for (const p of now.paths) if (!old.paths.has(p)) pathsAdded += 1;
  return {
    from: ends.from,
    to: ends.to,
    changes,
    counts,
    rebuilt,
    pathsAdded,
    pathsRemoved: old.paths.size - (now.paths.size - pathsAdded),
    bytesBefore: old.bytes,
    bytesAfter: now.bytes,
  };
}

/**
 * Version changes, additions and removals first (what people ask about), then size changes alone; within each,
 * the bigger package (its larger side) first, then by name: "the biggest changes" of a collapsed view.
 */
export function byWeight(a: PackageChange, b: PackageChange): number {
  const rank = (c: PackageChange) => (c.kind === 'changed' ? 1 : 0);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  const weight = (c: PackageChange) =>
    c.kind === 'changed' ? Math.abs(c.bytesAfter - c.bytesBefore) : Math.max(c.bytesBefore, c.bytesAfter);
  const w = weight(b) - weight(a);
  return w !== 0 ? w : compareStrings(a.name, b.name);
}

function kindOf(a: Side | undefined, b: Side | undefined): ChangeKind | null {
  if (!a && !b) return null;
  if (!a) return 'added';
  if (!b) return 'removed';
  if (!sameVersions(a.versions, b.versions)) {
    const cmp = compareVersions(newest(a.versions), newest(b.versions));
    return cmp < 0 ? 'upgraded' : cmp > 0 ? 'downgraded' : 'changed';
  }
  return Math.abs(b.bytes - a.bytes) > SIZE_THRESHOLD ? 'changed' : null;
}

const NAME_AT = `${STORE_DIR}/`.length + 33;

function group(paths: readonly PathSize[]): Grouped {
  const byName = new Map<string, Side>();
  const seen = new Set<StorePath>();
  let bytes = 0;
  for (const p of paths) {
    if (seen.has(p.path)) continue;
    seen.add(p.path);
    bytes += p.narSize;
    // Paths were checked where they entered (a closure's description); anything else is read as a whole name.
    const id = packageId(p.path.startsWith(`${STORE_DIR}/`) ? p.path.slice(NAME_AT) : p.path);
    let side = byName.get(id.name);
    if (!side) {
      side = { versions: [], paths: [], bytes: 0 };
      byName.set(id.name, side);
    }
    // A package has a version or two: a list is quicker than a set.
    if (!side.versions.includes(id.version)) side.versions.push(id.version);
    side.paths.push(p.path);
    side.bytes += p.narSize;
  }
  return { byName, paths: seen, bytes };
}

function newest(versions: readonly string[]): string {
  return versions.reduce((m, v) => (compareVersions(v, m) > 0 ? v : m));
}

function sortedVersions(side: Side | undefined): string[] {
  if (!side) return [];
  return [...side.versions].sort((x, y) => compareVersions(x, y) || compareStrings(x, y));
}

function sameVersions(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}
