// What a stream needs to send deltas to a target: for each missing path, the predecessor it may come as a
// delta against (choosePredecessors), and the zstd of the target's own package set that rebuilds it (its
// closure goes first in the stream when the target lacks it). What the target holds of old versions: the
// closures of the systems the rollout's snapshot saw it run or have as profile, as the builder knows them,
// plus what the plan found it holds. Nothing is asked of the target until some path really comes as a delta;
// then one question covers the zstd's closure and the bases used. A target whose zstd cannot be built gets no
// deltas, said in the copy's detail; never a failure.
import { closureGraph, topologicalOrder } from '../core/closure.ts';
import { choosePredecessors } from '../core/delta-predecessors.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { Built } from './build.ts';
import { DEFAULT_UPLINK, type EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import type { SiteHoldings } from './holdings.ts';
import type { RunScope } from './run-scope.ts';

export interface DeltaPlan {
  /** The target's zstd program (`<store path>/bin/zstd`). */
  readonly zstd: string;
  /** Its closure, as the builder describes it. */
  readonly zstdClosure: readonly PathInfo[];
  /** Missing path -> the base it may come as a delta against. */
  readonly bases: ReadonlyMap<StorePath, StorePath>;
}

/** The systems a rollout's snapshot saw the host run or have as profile (its probe; its store confirmed them). */
export function systemsSeen(known: SiteHoldings, host: string): StorePath[] {
  const f = known.facts.get(host);
  return [...new Set([f?.currentSystem, f?.profileSystem].filter((s): s is StorePath => s != null))];
}

/**
 * The deltas `missing` may come as: null when no missing path has a predecessor the target holds (or the
 * target's zstd could not be built: then with a note saying so).
 */
export async function planDeltas(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  missing: readonly StorePath[],
  known: { readonly held?: readonly StorePath[]; readonly systems?: readonly StorePath[] },
): Promise<{ readonly plan: DeltaPlan | null; readonly note?: string }> {
  const settings = deps.uplink ?? DEFAULT_UPLINK;
  const maxBase = settings.deltaMaxBaseBytes ?? DEFAULT_UPLINK.deltaMaxBaseBytes ?? 0;
  // A system the builder no longer holds (or cannot describe) offers no base.
  const oldClosures = await Promise.all(
    (known.systems ?? []).map((s) => deps.builder.closure([s]).catch(() => [] as readonly PathInfo[])),
  );
  const infos = new Map<StorePath, PathInfo>();
  for (const c of [built.closure, ...oldClosures]) for (const i of c) infos.set(i.path, i);
  const chosen = choosePredecessors({
    missing,
    held: new Set<StorePath>([...oldClosures.flatMap((c) => c.map((i) => i.path)), ...(known.held ?? [])]),
    // A path the builder describes is one it has: the systems' closures were read from its store.
    builderHas: (p) => infos.has(p),
    narSize: (p) => infos.get(p)?.narSize,
  });
  const bases = new Map(
    [...chosen].filter(([, base]) => (infos.get(base)?.narSize ?? Number.POSITIVE_INFINITY) <= maxBase),
  );
  if (bases.size === 0) return { plan: null };
  try {
    const zstd = await deps.builder.hostZstd(target.name, {
      signal: scope.signal,
      ...(scope.revision ? { flake: scope.revision.flake } : {}),
    });
    return { plan: { zstd: zstd.program, zstdClosure: zstd.closure, bases } };
  } catch (e) {
    scope.checkpoint(`the builder's copy to ${target.name}`);
    const why = messageOf(e).split('\n')[0];
    return {
      plan: null,
      note: `no deltas: ${target.name}'s zstd (nixosConfigurations.${target.name}.pkgs.zstd) could not be built: ${why}`,
    };
  }
}

/**
 * The one question once deltas are staged: which of the zstd's closure the target lacks (dependencies first:
 * they go first in the stream), and whether it holds every base used.
 */
export async function askForDeltas(
  scope: RunScope,
  target: HostSpec,
  plan: DeltaPlan,
  basesUsed: readonly StorePath[],
): Promise<{ readonly zstdMissing: readonly StorePath[]; readonly basesLacking: readonly StorePath[] }> {
  const zstdPaths = plan.zstdClosure.map((i) => i.path);
  const held = await scope.validPaths(target, [...new Set([...zstdPaths, ...basesUsed])]);
  const lacking = new Set(zstdPaths.filter((p) => !held.has(p)));
  return {
    zstdMissing: topologicalOrder(closureGraph(plan.zstdClosure)).filter((p) => lacking.has(p)),
    basesLacking: basesUsed.filter((p) => !held.has(p)),
  };
}
