// A rollout's knowledge of what the hosts of a site hold, over the union of the closures involved: each host
// answers once, and the engine then keeps the snapshot true itself (a completed copy means the target holds
// that closure) instead of asking again. Pure: the engine asks, this file remembers and reads.
//
// Holdings implied by what a host runs: a store holds a valid path only with its whole closure (Nix's
// invariant). The probe says which systems a host runs, has as profile and booted; where the builder holds
// such a system it knows that system's closure, so the host is asked only about the rest of the union, and
// about the systems themselves, so that its own store confirms them in the same answer. And a path that every
// target needing it holds that way is asked of nobody: nobody will copy it.
import { HeldPaths, PathUniverse } from './held-paths.ts';
import type { StorePath } from './types.ts';

/**
 * The paths worth asking anyone about: those of each target's closure that the systems it runs do not imply.
 * A path every target that needs it already holds is copied nowhere, so no host's holding of it matters.
 * `implied` is, per target, the union of what its systems imply (empty when its probe said nothing).
 */
export function neededPaths(
  union: PathUniverse,
  closures: ReadonlyMap<string, readonly StorePath[]>,
  implied: ReadonlyMap<string, ReadonlySet<StorePath>>,
): StorePath[] {
  const needed = new Uint8Array(union.size);
  for (const [target, closure] of closures) {
    const own = implied.get(target);
    for (const p of closure) {
      const i = union.indexOf(p);
      if (i >= 0 && !own?.has(p)) needed[i] = 1;
    }
  }
  return union.paths.filter((_, i) => needed[i] === 1);
}

/** What a host is asked: the paths given that no system of its implies, then those systems (to confirm them). */
export function questionFor(
  paths: readonly StorePath[],
  implied: ReadonlyMap<StorePath, ReadonlySet<StorePath>>,
): StorePath[] {
  const out: StorePath[] = [];
  for (const p of paths) {
    let covered = false;
    for (const closure of implied.values()) {
      if (closure.has(p)) {
        covered = true;
        break;
      }
    }
    if (!covered) out.push(p);
  }
  const asked = new Set(out);
  for (const system of implied.keys()) if (!asked.has(system)) out.push(system);
  return out;
}

export interface ReadAnswer {
  /**
   * Paths of the union the host holds: those it said it holds, and the closures of the systems it confirmed.
   * A path neither asked nor implied counts as not held: no target needs it.
   */
  readonly held: Set<StorePath>;
  /**
   * Paths of the union implied only by systems the host did NOT confirm (a link to a path its store lacks):
   * nothing is known of them, and the host must be asked about them.
   */
  readonly unknown: StorePath[];
}

/** Reads a host's answer to `questionFor`; `answer` is the subset of the question it holds. */
export function readAnswer(
  union: PathUniverse,
  implied: ReadonlyMap<StorePath, ReadonlySet<StorePath>>,
  answer: ReadonlySet<StorePath>,
): ReadAnswer {
  const held = new Set<StorePath>();
  const confirmed: ReadonlySet<StorePath>[] = [];
  const unconfirmed: ReadonlySet<StorePath>[] = [];
  for (const [system, closure] of implied) (answer.has(system) ? confirmed : unconfirmed).push(closure);
  const unknown: StorePath[] = [];
  for (const p of union.paths) {
    if (answer.has(p) || confirmed.some((c) => c.has(p))) held.add(p);
    else if (unconfirmed.some((c) => c.has(p))) unknown.push(p);
  }
  return { held, unknown };
}

/**
 * What each host of a site holds of one universe (the union of the closures of a rollout), as the hosts
 * answered once and as the engine's own completed copies have changed it since.
 */
export class HoldingsSnapshot {
  readonly universe: PathUniverse;
  readonly #held = new Map<string, HeldPaths>();
  /** Per path of the universe, whether some host holds it; worked out again after a change. */
  #somewhere: Uint8Array | null = null;

  constructor(paths: Iterable<StorePath>) {
    this.universe = new PathUniverse([...new Set(paths)]);
  }

  /** A host's answer: from now on it is a source, holding what it said (paths outside the union are dropped). */
  answered(host: string, held: Iterable<StorePath>): void {
    this.#held.set(host, HeldPaths.of(this.universe, held));
    this.#somewhere = null;
  }

  /** A newer answer about some paths (a target asked again about its closure): those paths as it says. */
  answeredAbout(host: string, asked: Iterable<StorePath>, held: ReadonlySet<StorePath>): void {
    const before = this.#held.get(host);
    const bits = before ? new Uint8Array(before.bits) : new Uint8Array(this.universe.size);
    for (const p of asked) {
      const i = this.universe.indexOf(p);
      if (i >= 0) bits[i] = held.has(p) ? 1 : 0;
    }
    this.#held.set(host, new HeldPaths(this.universe, bits));
    this.#somewhere = null;
  }

  /** A copy into `host` completed: it holds these paths now (its whole closure), with what it held before. */
  copied(host: string, paths: Iterable<StorePath>): void {
    const before = this.#held.get(host);
    const bits = before ? new Uint8Array(before.bits) : new Uint8Array(this.universe.size);
    for (const p of paths) {
      const i = this.universe.indexOf(p);
      if (i >= 0) bits[i] = 1;
    }
    this.#held.set(host, new HeldPaths(this.universe, bits));
    this.#somewhere = null;
  }

  /** The host's answer is no longer to be relied on (it failed, or could not be reached): it is no source. */
  forget(host: string): void {
    this.#held.delete(host);
    this.#somewhere = null;
  }

  knows(host: string): boolean {
    return this.#held.has(host);
  }

  heldBy(host: string): HeldPaths | undefined {
    return this.#held.get(host);
  }

  /** Hosts that answered, in no particular order. */
  get hosts(): string[] {
    return [...this.#held.keys()];
  }

  /** By host, for the planner; `target` maps to `own` when given (its holdings asked again just now). */
  holdings(target?: string, own?: ReadonlySet<StorePath>): Map<string, ReadonlySet<StorePath>> {
    const out = new Map<string, ReadonlySet<StorePath>>(this.#held);
    if (target !== undefined && own !== undefined) out.set(target, own);
    return out;
  }

  /** Paths of `closure` that no host of the snapshot holds: what would cross the uplink. */
  heldByNone(closure: readonly StorePath[]): StorePath[] {
    const somewhere = this.#heldSomewhere();
    return closure.filter((p) => {
      const i = this.universe.indexOf(p);
      return i < 0 || somewhere[i] === 0;
    });
  }

  #heldSomewhere(): Uint8Array {
    if (this.#somewhere === null) {
      const bits = new Uint8Array(this.universe.size);
      for (const h of this.#held.values()) for (let i = 0; i < bits.length; i++) if (h.bits[i]) bits[i] = 1;
      this.#somewhere = bits;
    }
    return this.#somewhere;
  }
}
