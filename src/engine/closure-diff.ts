// What a deploy changes on a host, worked out in the plan stage before anything is copied, so a person sees
// it before approving: the system the host runs (one probe, or the rollout snapshot's), that system's closure (from the builder when it
// holds it, else from the host in one query) against the new build's. Never fails the deploy: when the old
// closure cannot be had, the diff says why.
import { type DiffOutcome, diffClosures } from '../core/closure-diff.ts';
import type { HostFacts } from '../core/host-facts.ts';
import type { Plan } from '../core/planner.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { hostClosure } from './host-closure.ts';
import { planHost } from './plan-host.ts';
import type { RunScope } from './run-scope.ts';

export async function diffHost(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  probed?: HostFacts,
): Promise<DiffOutcome> {
  const to = built.toplevel;
  let from: StorePath | null = null;
  let outcome: DiffOutcome;
  try {
    // A rollout's snapshot probed the host moments ago: its running system is that probe's.
    from = (probed ?? (await scope.probe(host))).currentSystem;
    const before = from === null ? [] : await closureOf(deps, scope, host, from, built);
    outcome = { known: true, diff: diffClosures(before, built.closure, { from, to }) };
  } catch (e) {
    outcome = { known: false, from, to, reason: messageOf(e) };
  }
  return outcome;
}

async function closureOf(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  system: StorePath,
  built: Built,
): Promise<readonly PathInfo[]> {
  if (system === built.toplevel) return built.closure;
  try {
    return await deps.builder.closure([system]);
  } catch {
    // The builder does not hold it (built elsewhere, or collected): the host describes its own.
    return hostClosure(deps, scope, host, system);
  }
}

/**
 * The plan stage with the diff worked out beside it; the diff is awaited whatever the plan does, and told
 * after the plan's totals, so front ends show both together.
 */
export async function planWithDiff(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  planned?: () => Promise<Plan>,
  probed?: HostFacts,
): Promise<{ readonly plan: Plan; readonly diff: DiffOutcome }> {
  const diffing = diffHost(deps, scope, host, built, probed);
  try {
    const plan = await planHost(deps, scope, host, built, planned);
    const diff = await diffing;
    scope.emit({ type: 'diff.ready', runId: scope.runId, host: host.name, diff });
    return { plan, diff };
  } finally {
    // diffHost never rejects; waited for so nothing of this host runs on after a failed plan.
    await diffing;
  }
}
