// Deploying one or more hosts: each site (hosts that share a LAN) is walked through the phases of
// src/core/rollout-phases.ts, sites in parallel. Build every target; take one holdings snapshot of the site
// (each host asked once); pick a canary whose missing closure covers most of what the others need; copy, the
// canary first and every other target as soon as its sources hold what it needs (no path crosses the uplink
// twice); activate the canary; activate the rest once it is confirmed. This file runs the commands; the walk
// decides what may start. A failed canary stops its site's activations; an unreachable host fails alone.
import { chooseCanary } from '../core/fleet-order.ts';
import { type ActivationEnd, type CopyNeed, SiteWalk } from '../core/rollout-phases.ts';
import type { HostSpec, PathInfo, StageName } from '../core/types.ts';
import { type Built, buildHosts } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import { type SiteHoldings, siteHosts, takeSnapshot } from './holdings.ts';
import {
  activateTarget,
  closurePaths,
  copyTarget,
  failedOutcome,
  type HostOutcome,
  type MutableOutcome,
  type PipelineOptions,
} from './pipeline.ts';
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
  const sites = [...new Set(targets.map((t) => t.site))].sort();
  const results = await Promise.all(
    sites.map(async (site): Promise<RolloutResult> => {
      const here = targets.filter((t) => t.site === site);
      try {
        return await rolloutSite(deps, scope, site, here, opts);
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
  site: string,
  targets: readonly HostSpec[],
  opts: Options,
): Promise<RolloutResult> {
  const outcomes = new Map<string, HostOutcome>();

  // Phase: build. All targets at once (one evaluation and one build on the builder); a failure fails its
  // host alone.
  const builds = new Map<string, Built>();
  for (const [name, b] of await buildHosts(deps, scope, targets)) {
    if (b.ok) builds.set(name, b.built);
    else outcomes.set(name, failedOutcome(name, b.error));
  }
  const result = () => ({ hosts: [...outcomes.values()], canaries: [] as string[] });
  if (builds.size === 0) return result();

  // Phase: snapshot. Every host of the site is asked, those outside the rollout too: they may hold what the
  // targets need.
  const closures = new Map([...builds].map(([name, b]) => [name, closurePaths(b)]));
  const known = await takeSnapshot(deps, scope, siteHosts(deps, site), closures, [...builds.values()]);
  for (const [name, e] of known.unreachable) {
    const toplevel = builds.get(name)?.toplevel;
    // Kept with its system, so the host is brought to it once it answers (pending work, src/engine/pending.ts).
    if (builds.delete(name))
      outcomes.set(name, {
        ...unreachableOutcome(name, e),
        ...(toplevel ? { toplevel } : {}),
        unreachable: true,
      });
    else scope.log(`peer ${name} left out: ${messageOf(e)}`);
  }
  const ready = targets.filter((t) => builds.has(t.name));
  if (ready.length === 0) return result();
  const ownInSnapshot = (t: HostSpec) => async () => known.snapshot.heldBy(t.name)!;

  if (opts.until === 'plan') {
    // Nothing is copied, so no host gives another anything: each target planned from the snapshot.
    await Promise.all(
      ready.map(async (t) => {
        const out: MutableOutcome = { host: t.name, status: 'ok' };
        try {
          await copyTarget(deps, scope, t, builds.get(t.name)!, 'plan', known, ownInSnapshot(t), out);
          outcomes.set(t.name, out);
        } catch (e) {
          outcomes.set(t.name, { ...out, ...failedOutcome(t.name, e) });
        }
      }),
    );
    return result();
  }

  const canary = pickCanary(ready, builds, known);
  scope.log(`canary: ${canary}`);
  const walked = await walkSite(deps, scope, ready, builds, known, canary, opts);
  for (const [name, outcome] of walked) outcomes.set(name, outcome);
  return { hosts: [...outcomes.values()], canaries: [canary] };
}

/**
 * Among the targets that change (lack part of their closure, or do not run it as running and profile
 * system), the one whose copy brings most of what others also lack; with none changing, the first.
 */
function pickCanary(
  ready: readonly HostSpec[],
  builds: ReadonlyMap<string, Built>,
  known: SiteHoldings,
): string {
  const closures = new Map<string, readonly PathInfo[]>(
    ready.map((t) => [t.name, builds.get(t.name)!.closure]),
  );
  const changing = new Set<string>();
  for (const t of ready) {
    const built = builds.get(t.name)!;
    const own = known.snapshot.heldBy(t.name);
    // A host whose probe failed counts as changing, and fails in its own activation if it must.
    if (built.closure.some((p) => !own?.has(p.path)) || !known.runs(t.name, built.toplevel))
      changing.add(t.name);
  }
  return chooseCanary(closures, known.snapshot.holdings(), changing)?.host ?? ready[0]!.name;
}

type WalkEvent =
  | { readonly kind: 'copy'; readonly name: string; readonly ok: boolean }
  | { readonly kind: 'activation'; readonly name: string; readonly end: ActivationEnd };

/** The copy and activation phases: starts what the walk allows, and tells it how each ended. */
async function walkSite(
  deps: EngineDeps,
  scope: RunScope,
  ready: readonly HostSpec[],
  builds: ReadonlyMap<string, Built>,
  known: SiteHoldings,
  canary: string,
  opts: Options,
): Promise<Map<string, HostOutcome>> {
  const spec = new Map(ready.map((t) => [t.name, t]));
  const paths = new Map(ready.map((t) => [t.name, closurePaths(builds.get(t.name)!)]));
  const need = (name: string): CopyNeed => {
    const own = known.snapshot.heldBy(name);
    return {
      uplink: known.snapshot.heldByNone(paths.get(name)!),
      moves: paths.get(name)!.some((p) => !own?.has(p)),
    };
  };
  const uplinkBytes = (name: string) => {
    const up = new Set(need(name).uplink);
    return builds
      .get(name)!
      .closure.filter((p) => up.has(p.path))
      .reduce((s, p) => s + p.narSize, 0);
  };
  const order = ready
    .map((t) => ({ name: t.name, bytes: uplinkBytes(t.name) }))
    .sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((x) => x.name);
  const walk = new SiteWalk({
    targets: order,
    canary,
    until: opts.until === 'copy' ? 'copy' : 'activate',
    parallel: deps.limits.parallelHosts,
    unchanged: ready
      .filter((t) => !need(t.name).moves && known.runs(t.name, builds.get(t.name)!.toplevel))
      .map((t) => t.name),
  });

  const outcomes = new Map<string, MutableOutcome>(
    ready.map((t) => [t.name, { host: t.name, status: 'ok', toplevel: builds.get(t.name)!.toplevel }]),
  );
  const events: WalkEvent[] = [];
  let wake: (() => void) | null = null;
  const push = (e: WalkEvent) => {
    events.push(e);
    wake?.();
  };

  const copy = async (name: string, fresh: boolean) => {
    const host = spec.get(name)!;
    const built = builds.get(name)!;
    const out = outcomes.get(name)!;
    // A target whose copy starts with the snapshot relies on its answer there; one that waited is asked
    // again right before its copy whether it still holds what the snapshot says: its store may have changed
    // meanwhile.
    const own = fresh
      ? async () => known.snapshot.heldBy(name)!
      : () => known.recheck(host, paths.get(name)!);
    try {
      await copyTarget(deps, scope, host, built, opts.until, known, own, out);
      push({ kind: 'copy', name, ok: true });
    } catch (e) {
      Object.assign(out, failedOutcome(name, e));
      push({ kind: 'copy', name, ok: false });
    }
  };
  const activate = async (name: string) => {
    const until = opts.until === 'switch' ? 'switch' : 'restart';
    const done = await activateTarget(
      deps,
      scope,
      spec.get(name)!,
      builds.get(name)!,
      opts,
      outcomes.get(name)!,
      until,
      known.facts.get(name),
    );
    outcomes.set(name, { ...done });
    const end: ActivationEnd =
      done.status !== 'failed' ? 'confirmed' : done.notConfirmed !== undefined ? 'not-confirmed' : 'failed';
    push({ kind: 'activation', name, end });
  };

  let first = true;
  while (true) {
    for (const name of walk.copiesToStart(need)) void copy(name, first);
    first = false;
    for (const name of walk.activationsToStart()) void activate(name);
    if (walk.finished) break;
    if (events.length === 0) {
      if (walk.busy.length === 0) throw new EngineError('the rollout stalled with nothing under way');
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
    for (const e of events.splice(0)) {
      if (e.kind === 'copy') walk.copyEnded(e.name, e.ok);
      else walk.activationEnded(e.name, e.end);
    }
  }

  const stop = walk.stop;
  for (const [name, out] of outcomes) {
    if (walk.state(name) !== 'skipped' || stop === null) continue;
    const by = outcomes.get(stop.by)!;
    const why =
      stop.why === 'canary-failed' ? `canary ${stop.by} failed` : `${stop.by} did not confirm the new system`;
    const notRun: StageName[] = out.copy ? ['switch', 'restart'] : ['plan', 'copy', 'switch', 'restart'];
    for (const stage of notRun) scope.skip(name, stage, why);
    outcomes.set(name, { ...out, status: 'skipped', error: `${why}: ${by.error ?? ''}` });
  }
  return outcomes;
}

/** A target that did not answer the snapshot: it fails alone, with the host's own failure and hint. */
function unreachableOutcome(name: string, e: unknown): HostOutcome {
  return { ...failedOutcome(name, e), error: `unreachable: ${messageOf(e)}` };
}
