// Whether a target holds a whole closure, asked cheaply: Nix keeps a path valid only with its whole closure,
// so a target that holds the top of the closure holds all of it, and one question about one path says so.
// Only when the top is missing is the target asked about every path, to say what it lacks. A question about
// a 2,000-path closure is 40 kB over the uplink; about its top, some 20 bytes and the fixed script.
import { closureGraph, maximalElements } from '../core/closure.ts';
import type { HostSpec, PathInfo } from '../core/types.ts';
import type { RunScope } from './run-scope.ts';

/** The paths of `closure` the target lacks; empty when it holds them all. */
export async function missingFrom(
  scope: RunScope,
  target: HostSpec,
  closure: readonly PathInfo[],
): Promise<PathInfo[]> {
  const tops = maximalElements(
    closureGraph(closure),
    closure.map((i) => i.path),
  );
  const topsHeld = await scope.validPaths(target, tops);
  if (tops.every((p) => topsHeld.has(p))) return [];
  const held = await scope.validPaths(
    target,
    closure.map((i) => i.path),
  );
  return closure.filter((i) => !held.has(i.path));
}
