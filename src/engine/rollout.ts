// Deploying several hosts at once. Per site (hosts that share a LAN): build every host first, pick a canary
// whose missing closure covers most of what the others need, deploy it (its bytes come over the uplink once),
// then the others in parallel batches, each planning at its start so it pulls from every host already
// updated. Hosts that would pull the same path over the uplink go in different batches, so the uplink carries
// the office's missing bytes once. A failed canary stops its site's rollout; an unreachable host fails alone.
import { chooseCanary, fleetBatches } from '../core/fleet-order.ts';
import { plan } from '../core/planner.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import { type Built, buildHost } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { sitePeers } from './holdings.ts';
import { limitConcurrency } from './limit.ts';
import { failedOutcome, type HostOutcome, type PipelineOptions, runPipeline } from './pipeline.ts';
import type { RunScope } from './run-scope.ts';

export interface RolloutResult {
  readonly hosts: readonly HostOutcome[];
  /** The canary of each site. */
  readonly canaries: readonly string[];
}

type Options = Omit<PipelineOptions, 'built'>;

export async function rollout(
  deps: EngineDeps,
  scope: RunScope,
  targets: readonly HostSpec[],
  opts: Options,
): Promise<RolloutResult> {
  // A single host, or a plan (nothing is copied, so no host can give another anything): each on its own.
  if (targets.length === 1 || opts.until === 'plan') {
    const limit = limitConcurrency(deps.limits.parallelHosts);
    const hosts = await Promise.all(targets.map((t) => limit(() => runPipeline(deps, scope, t, opts))));
    return { hosts, canaries: [] };
  }
  const sites = [...new Set(targets.map((t) => t.site))].sort();
  const results = await Promise.all(
    sites.map(async (site): Promise<RolloutResult> => {
      const here = targets.filter((t) => t.site === site);
      try {
        return await rolloutSite(deps, scope, here, opts);
      } catch (e) {
        // One site's trouble is reported on its hosts; the other sites go on.
        return { hosts: here.map((t) => failedOutcome(t.name, e)), canaries: [] };
      }
    }),
  );
  const byHost = new Map(results.flatMap((r) => r.hosts).map((h) => [h.host, h]));
  return {
    hosts: targets.map((t) => byHost.get(t.name) ?? failedOutcome(t.name, new Error('not deployed'))),
    canaries: results.flatMap((r) => r.canaries),
  };
}

async function rolloutSite(
  deps: EngineDeps,
  scope: RunScope,
  targets: readonly HostSpec[],
  opts: Options,
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
  const union = [...new Set([...builds.values()].flatMap((b) => b.closure.map((p) => p.path)))];
  // Every host of the site is asked, those outside the rollout too: they may hold what the canary needs.
  const site = sitePeers(deps, targets[0]!).concat(targets[0]!);
  const { held, unreachable } = await askAll(scope, site, union);
  for (const [name, why] of unreachable) {
    const toplevel = builds.get(name)?.toplevel;
    if (builds.delete(name))
      outcomes.set(name, {
        host: name,
        status: 'failed',
        error: `unreachable: ${why}`,
        toplevel,
        unreachable: true,
      });
  }
  const ready = targets.filter((t) => builds.has(t.name));
  if (ready.length === 0) return { hosts: [...outcomes.values()], canaries: [] };

  const closures = new Map<string, PathInfo[]>(ready.map((t) => [t.name, [...builds.get(t.name)!.closure]]));
  const holdings = new Map<string, Set<StorePath>>([...held].map(([h, s]) => [h, new Set(s)]));
  const changing = await hostsThatChange(scope, ready, builds, holdings);
  // No host changes: nothing to guard, any host may go first.
  const canary = chooseCanary(closures, holdings, changing)?.host ?? ready[0]!.name;
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
  const after = (await askAll(scope, site, union)).held;
  const uplink = rest.map((t) => {
    const p = plan({
      target: t.name,
      closure: builds.get(t.name)!.closure,
      holdings: after.has(t.name) ? after : new Map(after).set(t.name, new Set()),
      peers: sitePeers(deps, t)
        .map((h) => h.name)
        .filter((n) => after.has(n)),
    });
    const builderStep = p.steps.find((s) => s.source.kind === 'builder');
    return { host: t.name, uplinkPaths: builderStep?.paths ?? [], uplinkBytes: builderStep?.bytes ?? 0 };
  });
  // A new system that a host could not confirm stops the rollout as a failed canary does: it would likely
  // fail the same way on the hosts still to come. An unreachable or busy host fails alone.
  let stoppedBy: HostOutcome | null = null;
  for (const batch of fleetBatches(uplink, deps.limits.parallelHosts)) {
    if (stoppedBy !== null) {
      const why = `${stoppedBy.host} did not confirm the new system`;
      for (const name of batch) {
        for (const stage of ['plan', 'copy', 'switch', 'restart'] as const) scope.skip(name, stage, why);
        outcomes.set(name, { host: name, status: 'skipped', error: `${why}: ${stoppedBy.error ?? ''}` });
      }
      continue;
    }
    const done = await Promise.all(
      batch.map(async (name) => {
        const spec = rest.find((t) => t.name === name)!;
        const outcome = await runPipeline(deps, scope, spec, { ...opts, built: builds.get(name)! });
        outcomes.set(name, outcome);
        return outcome;
      }),
    );
    stoppedBy = done.find((o) => o.notConfirmed !== undefined) ?? null;
  }
  return { hosts: [...outcomes.values()], canaries: [canary] };
}

/**
 * Hosts that lack part of their new closure change; so does a host that holds it all but does not run it
 * (a copy without a switch, a rollback). Only those are probed; one whose probe fails counts as changing
 * and fails in its own pipeline.
 */
async function hostsThatChange(
  scope: RunScope,
  hosts: readonly HostSpec[],
  builds: ReadonlyMap<string, Built>,
  holdings: ReadonlyMap<string, ReadonlySet<StorePath>>,
): Promise<Set<string>> {
  const changing = new Set<string>();
  await Promise.all(
    hosts.map(async (h) => {
      const built = builds.get(h.name)!;
      const own = holdings.get(h.name);
      if (built.closure.some((p) => !own?.has(p.path))) {
        changing.add(h.name);
        return;
      }
      try {
        const facts = await scope.probe(h);
        if (facts.currentSystem !== built.toplevel || facts.profileSystem !== built.toplevel)
          changing.add(h.name);
      } catch {
        changing.add(h.name);
      }
    }),
  );
  return changing;
}

/** Asks every host, none of which must answer: one that does not is reported, not fatal. */
async function askAll(
  scope: RunScope,
  hosts: readonly HostSpec[],
  paths: readonly StorePath[],
): Promise<{ held: Map<string, ReadonlySet<StorePath>>; unreachable: Map<string, string> }> {
  const held = new Map<string, ReadonlySet<StorePath>>();
  const unreachable = new Map<string, string>();
  await Promise.all(
    hosts.map(async (h) => {
      try {
        held.set(h.name, await scope.validPaths(h, paths));
      } catch (e) {
        unreachable.set(h.name, messageOf(e));
      }
    }),
  );
  return { held, unreachable };
}
