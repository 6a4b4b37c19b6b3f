// Which paths and bytes several closures share: every path of their union falls in exactly one group, the
// set of closures that contain it. What a copy from a peer could save, and what is specific to each host.
import { compareStrings } from './closure.ts';
import { parseStorePath } from './storepath.ts';
import type { PathInfo, StorePath } from './types.ts';

export interface NamedClosure {
  readonly label: string;
  readonly closure: readonly PathInfo[];
}

export interface OverlapGroup {
  /** The closures containing these paths and no other, in input order. */
  readonly labels: readonly string[];
  readonly paths: number;
  readonly bytes: number;
  /** The group's largest paths, largest first. */
  readonly examples: readonly StorePath[];
}

export interface LabelOverlap {
  readonly label: string;
  readonly paths: number;
  readonly bytes: number;
  /** In this closure only. */
  readonly specificPaths: number;
  readonly specificBytes: number;
  /** In every closure of the report. */
  readonly sharedWithAllPaths: number;
  readonly sharedWithAllBytes: number;
}

export interface OverlapReport {
  readonly labels: readonly string[];
  readonly unionPaths: number;
  readonly unionBytes: number;
  /** Most bytes first. */
  readonly groups: readonly OverlapGroup[];
  /** In input order. */
  readonly perLabel: readonly LabelOverlap[];
  /** `sharedBytes[i][j]`: bytes in both closure i and closure j; the diagonal is each closure's size. */
  readonly sharedBytes: readonly (readonly number[])[];
}

export interface OverlapOptions {
  /** Example paths per group (3 unless said). */
  readonly examples?: number;
}

export class OverlapInputError extends Error {
  override name = 'OverlapInputError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(`cannot compare closures: ${shown}${more}`);
    this.problems = problems;
  }
}

export function overlap(input: readonly NamedClosure[], opts: OverlapOptions = {}): OverlapReport {
  const examples = opts.examples ?? 3;
  const { sizes, members } = checkAndIndex(input, examples);
  const labels = input.map((c) => c.label);
  const count = labels.length;

  // Group paths by the exact set of closures holding them; the key lists closure indices.
  const byKey = new Map<string, { members: number[]; paths: StorePath[]; bytes: number }>();
  for (const [path, holders] of members) {
    const key = holders.join(',');
    let group = byKey.get(key);
    if (!group) {
      group = { members: holders, paths: [], bytes: 0 };
      byKey.set(key, group);
    }
    group.paths.push(path);
    group.bytes += sizes.get(path)!;
  }

  const perLabel = labels.map((label) => ({
    label,
    paths: 0,
    bytes: 0,
    specificPaths: 0,
    specificBytes: 0,
    sharedWithAllPaths: 0,
    sharedWithAllBytes: 0,
  }));
  const sharedBytes = labels.map(() => new Array<number>(count).fill(0));
  let unionPaths = 0;
  let unionBytes = 0;
  const groups: (OverlapGroup & { readonly members: readonly number[] })[] = [];
  for (const g of byKey.values()) {
    unionPaths += g.paths.length;
    unionBytes += g.bytes;
    for (const i of g.members) {
      const l = perLabel[i]!;
      l.paths += g.paths.length;
      l.bytes += g.bytes;
      if (g.members.length === 1) {
        l.specificPaths += g.paths.length;
        l.specificBytes += g.bytes;
      }
      if (g.members.length === count) {
        l.sharedWithAllPaths += g.paths.length;
        l.sharedWithAllBytes += g.bytes;
      }
      for (const j of g.members) sharedBytes[i]![j]! += g.bytes;
    }
    const largest = g.paths
      .sort((a, b) => sizes.get(b)! - sizes.get(a)! || compareStrings(a, b))
      .slice(0, examples);
    groups.push({
      labels: g.members.map((i) => labels[i]!),
      paths: g.paths.length,
      bytes: g.bytes,
      examples: largest,
      members: g.members,
    });
  }
  // Ties: more paths, then wider groups, then by the closures' input order.
  groups.sort(
    (a, b) =>
      b.bytes - a.bytes ||
      b.paths - a.paths ||
      b.members.length - a.members.length ||
      compareMembers(a.members, b.members),
  );
  return {
    labels,
    unionPaths,
    unionBytes,
    groups: groups.map(({ members: _, ...g }) => g),
    perLabel,
    sharedBytes,
  };
}

/** Each path's size, and the indices (ascending) of the closures that contain it. */
function checkAndIndex(
  input: readonly NamedClosure[],
  examples: number,
): { sizes: Map<StorePath, number>; members: Map<StorePath, number[]> } {
  const problems: string[] = [];
  if (!Number.isSafeInteger(examples) || examples < 0) {
    problems.push(`examples must be a whole number of at least 0, not ${examples}`);
  }
  const seenLabels = new Set<string>();
  const sizes = new Map<StorePath, number>();
  const members = new Map<StorePath, number[]>();
  input.forEach(({ label, closure }, index) => {
    if (typeof label !== 'string' || label.trim() === '') problems.push(`closure ${index + 1} has no label`);
    else if (seenLabels.has(label)) problems.push(`the label ${JSON.stringify(label)} is used twice`);
    seenLabels.add(label);
    for (const info of closure) {
      const held = members.get(info.path);
      if (held?.at(-1) === index) {
        if (sizes.get(info.path) !== info.narSize)
          problems.push(`${label} lists ${info.path} twice with different sizes`);
        continue;
      }
      if (!held) {
        const parsed = parseStorePath(info.path);
        if (!parsed.ok) problems.push(`${label}: ${parsed.error}`);
        if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
          problems.push(
            `${label}: ${info.path} has narSize ${String(info.narSize)}, not a whole number of bytes`,
          );
        }
        sizes.set(info.path, info.narSize);
        members.set(info.path, [index]);
      } else {
        if (sizes.get(info.path) !== info.narSize) {
          problems.push(`${info.path} has different sizes in ${label} and ${input[held[0]!]!.label}`);
        }
        held.push(index);
      }
    }
  });
  if (problems.length > 0) throw new OverlapInputError(problems);
  return { sizes, members };
}

function compareMembers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
