// Asks hosts which paths of a closure they already hold: one round trip per host, all hosts at once. A peer
// that cannot be reached is left out of the plan (and said so), never guessed at. A rollout asks once per
// host for the whole site (takeSnapshot) and keeps that snapshot true with its own copies (SiteHoldings).
import { HoldingsSnapshot, neededPaths, questionFor, readAnswer } from '../core/holdings-snapshot.ts';
import type { HostFacts } from '../core/host-facts.ts';
import { type Plan, plan } from '../core/planner.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import type { RunScope } from './run-scope.ts';

export interface Holdings {
  readonly held: Map<string, ReadonlySet<StorePath>>;
  /** Peers that did not answer, with why. */
  readonly unreachable: Map<string, string>;
}

/** Same-site hosts a target may pull from. */
export function sitePeers(deps: EngineDeps, target: HostSpec): HostSpec[] {
  return deps.hosts.filter((h) => h.site === target.site && h.name !== target.name);
}

export async function queryHoldings(
  scope: RunScope,
  target: HostSpec,
  peers: readonly HostSpec[],
  paths: readonly StorePath[],
): Promise<Holdings> {
  const held = new Map<string, ReadonlySet<StorePath>>();
  const unreachable = new Map<string, string>();
  // The target must answer: without it there is nothing to plan.
  const targetHeld = scope.validPaths(target, paths);
  const peerAnswers = peers.map(async (peer) => {
    try {
      held.set(peer.name, await scope.validPaths(peer, paths));
    } catch (e) {
      unreachable.set(peer.name, messageOf(e));
      scope.log(`peer ${peer.name} left out: ${messageOf(e)}`, target.name);
    }
  });
  // Every answer is awaited, the target's failure included: a peer query left running after the target failed
  // would write to the audit log after the run ended, or after the store closed.
  const [targetAnswer] = await Promise.allSettled([targetHeld, ...peerAnswers]);
  if (targetAnswer.status === 'rejected') throw targetAnswer.reason;
  held.set(target.name, targetAnswer.value as ReadonlySet<StorePath>);
  return { held, unreachable };
}

// ---- one snapshot per rollout ------------------------------------------------------------------------------

/** Hosts of a site, in configuration order. */
export function siteHosts(deps: EngineDeps, site: string): HostSpec[] {
  return deps.hosts.filter((h) => h.site === site);
}

/** Failures that say the host cannot be reached or trusted at all: no second question is worth sending. */
const CANNOT_REACH = new Set([
  'HostUnreachable',
  'HostKeyUnknown',
  'HostKeyMismatch',
  'HostKeyRevoked',
  'AuthFailed',
]);

function cannotReach(e: unknown): boolean {
  const kind = (e as { failure?: { kind?: unknown } } | null)?.failure?.kind;
  return typeof kind === 'string' && CANNOT_REACH.has(kind);
}

/**
 * A rollout's holdings snapshot of one site, and the questions still allowed after it: a peer whose copy
 * failed is asked once more (its answer is doubtful) before it serves again, and is no source after that.
 */
export class SiteHoldings {
  readonly snapshot: HoldingsSnapshot;
  /** What each host's probe said (hosts whose probe failed are absent). */
  readonly facts: ReadonlyMap<string, HostFacts>;
  /** Hosts that did not answer, with the failure. */
  readonly unreachable: ReadonlyMap<string, unknown>;
  readonly #scope: RunScope;
  readonly #hosts: readonly HostSpec[];
  readonly #doubtful = new Set<string>();
  readonly #askedAgain = new Map<string, Promise<void>>();
  /** Per host, the systems its store confirmed in the snapshot, with what of the union each implies. */
  readonly #confirmed: ReadonlyMap<string, ReadonlyMap<StorePath, ReadonlySet<StorePath>>>;

  constructor(
    scope: RunScope,
    hosts: readonly HostSpec[],
    snapshot: HoldingsSnapshot,
    facts: ReadonlyMap<string, HostFacts>,
    unreachable: ReadonlyMap<string, unknown>,
    confirmed: ReadonlyMap<string, ReadonlyMap<StorePath, ReadonlySet<StorePath>>> = new Map(),
  ) {
    this.#confirmed = confirmed;
    this.#scope = scope;
    this.#hosts = hosts;
    this.snapshot = snapshot;
    this.facts = facts;
    this.unreachable = unreachable;
  }

  /** Whether the probe saw the host run `toplevel` as its running and its profile's system. */
  runs(host: string, toplevel: StorePath): boolean {
    const f = this.facts.get(host);
    return f !== undefined && f.currentSystem === toplevel && f.profileSystem === toplevel;
  }

  /** A copy into the host completed: it holds the closure; nobody needs to ask it. */
  copied(host: string, closure: readonly StorePath[]): void {
    this.snapshot.copied(host, closure);
  }

  /** Asks a target again what it holds of its closure, and keeps the answer for every later plan too. */
  async askAgain(target: HostSpec, closure: readonly StorePath[]): Promise<ReadonlySet<StorePath>> {
    const held = await this.#scope.validPaths(target, closure);
    this.snapshot.answeredAbout(target.name, closure, held);
    return held;
  }

  /**
   * A target's check right before its copy, when it waited for others: whether it still holds what the
   * snapshot says it holds of its closure. What it may have lost behind the bot's back (a garbage collection)
   * would be missing from its plan; what it may have gained costs nothing, as a copy skips what the
   * destination holds. So it is asked only about the paths the snapshot says it holds, and of those implied
   * by a system its store confirmed, only about that system (a store holds a valid path with its closure).
   * A target the snapshot says holds nothing of its closure is not asked at all. After a failed copy, whose
   * half-done work is unknown, the whole closure is asked (askAgain).
   */
  async recheck(target: HostSpec, closure: readonly StorePath[]): Promise<ReadonlySet<StorePath>> {
    const before = this.snapshot.heldBy(target.name);
    const claimed = before ? closure.filter((p) => before.has(p)) : [];
    // Systems outside the union (what it ran before this rollout) still imply what they share with it.
    const systems = this.#confirmed.get(target.name) ?? new Map<StorePath, ReadonlySet<StorePath>>();
    const question = claimed.length === 0 ? [] : questionFor(claimed, systems);
    if (question.length === 0) return new Set(claimed);
    const answer = await this.#scope.validPaths(target, question);
    const read = readAnswer(this.snapshot.universe, systems, answer);
    const wanted = new Set(claimed);
    const unknown = read.unknown.filter((p) => wanted.has(p));
    if (unknown.length > 0) for (const p of await this.#scope.validPaths(target, unknown)) read.held.add(p);
    const held = new Set(claimed.filter((p) => read.held.has(p)));
    this.snapshot.answeredAbout(target.name, claimed, held);
    return held;
  }

  /** A copy from `peer` failed: its answer is doubtful until it is asked again. */
  peerFailed(peer: string): void {
    if (!this.#askedAgain.has(peer)) this.#doubtful.add(peer);
    else this.snapshot.forget(peer);
  }

  /**
   * The target's plan: its own holdings as given (asked just now, or the snapshot's when nothing can have
   * changed them), every other host of the site as the snapshot knows it, doubtful peers asked again first.
   */
  async planFor(
    deps: EngineDeps,
    target: HostSpec,
    built: Built,
    own: ReadonlySet<StorePath>,
    without: ReadonlySet<string> = new Set(),
  ): Promise<Plan> {
    const peers = this.#hosts.filter((h) => h.name !== target.name && !without.has(h.name));
    await Promise.all(peers.filter((p) => this.#doubtful.has(p.name)).map((p) => this.#askAgain(p)));
    return plan({
      target: target.name,
      closure: built.closure,
      holdings: this.snapshot.holdings(target.name, own),
      peers: peers.filter((p) => this.snapshot.knows(p.name)).map((p) => p.name),
      maxPeersPerWave: deps.limits.parallelPeerCopies,
    });
  }

  /** Once per rollout and peer, whoever asks first: the whole union, nothing taken as implied. */
  #askAgain(peer: HostSpec): Promise<void> {
    let asking = this.#askedAgain.get(peer.name);
    if (!asking) {
      this.#doubtful.delete(peer.name);
      asking = this.#scope.validPaths(peer, this.snapshot.universe.paths).then(
        (held) => this.snapshot.answered(peer.name, held),
        (e) => {
          this.snapshot.forget(peer.name);
          this.#scope.log(`peer ${peer.name} left out: ${messageOf(e)}`);
        },
      );
      this.#askedAgain.set(peer.name, asking);
    }
    return asking;
  }
}

/**
 * The snapshot: every host probed once and asked once what it holds of `union`, less the closures of the
 * systems it runs, has as profile or booted that the builder holds (read from the builder's own store, once
 * per system, or known from this run's builds, `built`), and less what every target needing it holds that way
 * (`closures`: each target's closure). A host whose store does not confirm such a system is asked once more
 * about what that system would have implied. All hosts at once; none must answer.
 */
export async function takeSnapshot(
  deps: EngineDeps,
  scope: RunScope,
  hosts: readonly HostSpec[],
  closures: ReadonlyMap<string, readonly StorePath[]>,
  built: readonly Built[] = [],
): Promise<SiteHoldings> {
  const snapshot = new HoldingsSnapshot([...closures.values()].flat());
  const { universe } = snapshot;
  const facts = new Map<string, HostFacts>();
  const unreachable = new Map<string, unknown>();
  // The systems just built are known already: a host that runs one (a rollout with nothing to do) costs the
  // builder no second reading of its closure.
  const onBuilderCache = new Map<StorePath, Promise<ReadonlySet<StorePath> | null>>(
    built.map((b) => [b.toplevel, Promise.resolve(new Set(b.closure.map((i) => i.path)))]),
  );
  // A system the builder does not hold (or cannot describe) implies nothing.
  const onBuilder = (system: StorePath) => {
    let c = onBuilderCache.get(system);
    if (!c) {
      c = deps.builder.closure([system]).then(
        (infos) => new Set(infos.map((i) => i.path).filter((p) => universe.indexOf(p) >= 0)),
        () => null,
      );
      onBuilderCache.set(system, c);
    }
    return c;
  };
  // First every probe, so that what each target's systems imply is known before anyone is asked anything.
  const implied = new Map<string, Map<StorePath, ReadonlySet<StorePath>>>();
  await Promise.all(
    hosts.map(async (h) => {
      const mine = new Map<StorePath, ReadonlySet<StorePath>>();
      implied.set(h.name, mine);
      try {
        const f = await scope.probe(h);
        facts.set(h.name, f);
        for (const system of new Set([f.currentSystem, f.profileSystem, f.bootedSystem])) {
          if (system === null) continue;
          const closure = await onBuilder(system);
          if (closure && closure.size > 0) mine.set(system, closure);
        }
      } catch (e) {
        // Not reachable: asked nothing more. A probe that failed otherwise implies nothing.
        if (cannotReach(e)) unreachable.set(h.name, e);
      }
    }),
  );
  const impliedFor = (host: string) =>
    new Set([...(implied.get(host)?.values() ?? [])].flatMap((c) => [...c]));
  const targetsImply = new Map([...closures.keys()].map((t) => [t, impliedFor(t)]));
  const needed = neededPaths(universe, closures, targetsImply);
  const confirmed = new Map<string, Map<StorePath, ReadonlySet<StorePath>>>();
  await Promise.all(
    hosts
      .filter((h) => !unreachable.has(h.name))
      .map(async (h) => {
        const mine = implied.get(h.name)!;
        const question = questionFor(needed, mine);
        // Nothing to ask (nothing needed, no system to confirm): it holds nothing anyone needs.
        if (question.length === 0) {
          snapshot.answered(h.name, []);
          return;
        }
        try {
          const answer = await scope.validPaths(h, question);
          confirmed.set(h.name, new Map([...mine].filter(([system]) => answer.has(system))));
          const read = readAnswer(universe, mine, answer);
          if (read.unknown.length > 0) {
            scope.log(`${h.name}'s store lacks a system it links to; asking about its paths`, h.name);
            for (const p of await scope.validPaths(h, read.unknown)) read.held.add(p);
          }
          snapshot.answered(h.name, read.held);
        } catch (e) {
          unreachable.set(h.name, e);
        }
      }),
  );
  return new SiteHoldings(scope, hosts, snapshot, facts, unreachable, confirmed);
}
