// Deploying several hosts at once. Per site (hosts that share a LAN): build every host first, pick a canary
// whose missing closure covers most of what the others need, deploy it (its bytes come over the uplink once),
// then the others in parallel batches, each planning at its start so it pulls from every host already
// updated. Hosts that would pull the same path over the uplink go in different batches, so the uplink carries
// the office's missing bytes once. A failed canary stops its site's rollout.
import { chooseCanary, fleetBatches } from '../core/fleet-order.ts';
import { plan } from '../core/planner.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import { type Built, buildHost } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { queryHoldings, sitePeers } from './holdings.ts';
import { limitConcurrency } from './limit.ts';
import { failedOutcome, type HostOutcome, type PipelineOptions, runPipeline } from './pipeline.ts';
import type { RunScope } from './run-scope.ts';

export interface RolloutResult {
  readonly hosts: readonly HostOutcome[];
  /** The canary of each site. */
  readonly canaries: readonly string[];
}

export async function rollout(
  deps: EngineDeps,
  scope: RunScope,
  targets: readonly HostSpec[],
  opts: Omit<PipelineOptions, 'built'>,
): Promise<RolloutResult> {
  if (targets.length === 1) {
    const only = targets[0]!;
    return { hosts: [await runPipeline(deps, scope, only, opts)], canaries: [] };
  }
  const sites = [...new Set(targets.map((t) => t.site))].sort();
  const results = await Promise.all(
    sites.map((site) =>
      rolloutSite(
        deps,
        scope,
        targets.filter((t) => t.site === site),
        opts,
      ),
    ),
  );
  const byHost = new Map(results.flatMap((r) => r.hosts).map((h) => [h.host, h]));
  return {
    hosts: targets.map((t) => byHost.get(t.name)!),
    canaries: results.flatMap((r) => r.canaries),
  };
}

async function rolloutSite(
  deps: EngineDeps,
  scope: RunScope,
  targets: readonly HostSpec[],
  opts: Omit<PipelineOptions, 'built'>,
): Promise<RolloutResult> {
  const outcomes = new Map<string, HostOutcome>();
  const builds = new Map<string, Built>();
  // Builds share the builder: two at a time keeps evaluation and the store busy without thrashing.
  const buildLimit = limitConcurrency(2);
  await Promise.all(
    targets.map((t) =>
      buildLimit(async () => {
        try {
          builds.set(t.name, await buildHost(deps, scope, t));
        } catch (e) {
          outcomes.set(t.name, failedOutcome(t.name, e));
        }
      }),
    ),
  );
  const ready = targets.filter((t) => builds.has(t.name));
  if (ready.length === 0) return { hosts: [...outcomes.values()], canaries: [] };

  const closures = new Map<string, readonly PathInfo[]>([...builds].map(([h, b]) => [h, b.closure]));
  const union = [...new Set([...closures.values()].flatMap((c) => c.map((p) => p.path)))];
  const holdings = await siteHoldings(scope, ready, union);
  const canary =
    chooseCanary(closures as Map<string, PathInfo[]>, holdings as Map<string, Set<StorePath>>)?.host ??
    ready[0]!.name;
  const canarySpec = ready.find((t) => t.name === canary)!;
  scope.log(`canary: ${canary}`);
  const first = await runPipeline(deps, scope, canarySpec, { ...opts, built: builds.get(canary)! });
  outcomes.set(canary, first);
  const rest = ready.filter((t) => t.name !== canary);
  if (first.status === 'failed') {
    for (const t of rest) {
      for (const stage of ['plan', 'copy', 'switch', 'restart'] as const) {
        scope.skip(t.name, stage, `canary ${canary} failed`);
      }
      outcomes.set(t.name, {
        host: t.name,
        status: 'skipped',
        error: `canary ${canary} failed: ${first.error ?? ''}`,
      });
    }
    return { hosts: [...outcomes.values()], canaries: [canary] };
  }

  // What each remaining host would still pull over the uplink now that the canary holds its closure.
  const after = await siteHoldings(scope, rest.concat(canarySpec), union);
  const uplink = rest.map((t) => {
    const p = plan({
      target: t.name,
      closure: builds.get(t.name)!.closure,
      holdings: after,
      peers: sitePeers(deps, t)
        .map((h) => h.name)
        .filter((n) => after.has(n)),
    });
    const builderStep = p.steps.find((s) => s.source.kind === 'builder');
    return { host: t.name, uplinkPaths: builderStep?.paths ?? [], uplinkBytes: builderStep?.bytes ?? 0 };
  });
  const limit = limitConcurrency(deps.limits.parallelHosts);
  for (const batch of fleetBatches(uplink, deps.limits.parallelHosts)) {
    await Promise.all(
      batch.map((name) =>
        limit(async () => {
          const spec = rest.find((t) => t.name === name)!;
          outcomes.set(name, await runPipeline(deps, scope, spec, { ...opts, built: builds.get(name)! }));
        }),
      ),
    );
  }
  return { hosts: [...outcomes.values()], canaries: [canary] };
}

async function siteHoldings(
  scope: RunScope,
  hosts: readonly HostSpec[],
  paths: readonly StorePath[],
): Promise<Map<string, ReadonlySet<StorePath>>> {
  const [first, ...others] = hosts;
  if (!first) return new Map();
  const { held } = await queryHoldings(scope, first, others, paths);
  return held;
}
