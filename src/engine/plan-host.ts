// Plan stage: know what the target and its same-site peers hold of the new closure (a rollout's snapshot, or
// asked here), and decide where each missing path comes from (pure planner). A peer that does not answer is
// left out, and said so.
import { formatBytes } from '../core/bytes.ts';
import { type Plan, plan, summary } from '../core/planner.ts';
import type { HostSpec } from '../core/types.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { queryHoldings, sitePeers } from './holdings.ts';
import type { RunScope } from './run-scope.ts';

/**
 * Asks the target and its reachable same-site peers what they hold, and plans from their answers; `without`
 * names peers to leave out (those that failed during this copy).
 */
export async function planFromHoldings(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  without: ReadonlySet<string> = new Set(),
): Promise<Plan> {
  const peers = sitePeers(deps, host).filter((p) => !without.has(p.name));
  const paths = built.closure.map((p) => p.path);
  const { held, unreachable } = await queryHoldings(scope, host, peers, paths);
  return plan({
    target: host.name,
    closure: built.closure,
    holdings: held,
    peers: peers.filter((peer) => !unreachable.has(peer.name)).map((peer) => peer.name),
    maxPeersPerWave: deps.limits.parallelPeerCopies,
  });
}

/**
 * The plan stage: `planned` makes the plan (in a rollout, from its holdings snapshot); without it the target
 * and its peers are asked here.
 */
export function planHost(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  planned: () => Promise<Plan> = () => planFromHoldings(deps, scope, host, built),
): Promise<Plan> {
  return scope.stage(host.name, 'plan', async () => {
    const p = await planned();
    scope.emit({ type: 'plan.ready', runId: scope.runId, host: host.name, summary: summary(p) });
    const t = p.totals;
    const moving = t.lanBytes + t.uplinkBytes;
    return {
      outcome: t.lanPaths + t.uplinkPaths === 0 ? 'noop' : 'ok',
      value: p,
      bytes: moving,
      detail:
        `${formatBytes(t.presentBytes)} present, ${formatBytes(t.lanBytes)} from peers, ` +
        `${formatBytes(t.uplinkBytes)} over the uplink`,
    };
  });
}
