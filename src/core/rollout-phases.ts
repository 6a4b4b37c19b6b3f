// A site's rollout (the hosts that share one LAN and one uplink), as data. Read PHASES top to bottom: what
// each phase does, when it starts and what a failure in it means. Then SiteWalk: the pure bookkeeping the
// engine (src/engine/rollout.ts) consults after every copy or activation that ends, to know what may start
// next. The engine runs the commands; this file only decides.
//
// Why this shape: the uplink is the slow, metered link and activation is the risky step. So copies are
// separate from activation: every target copies as soon as its sources hold what it needs (most of it from
// the canary, over the LAN, while the canary activates), no path crosses the uplink twice, and only
// activation waits for the canary to be confirmed. A failed canary stops the site's activations; what was
// already copied is harmless (paths in a store change nothing until a system is activated).
import type { StorePath } from './types.ts';

// ---- the phases ---------------------------------------------------------------------------------------

export type Phase = 'build' | 'snapshot' | 'copy' | 'activate-canary' | 'activate-rest';

export interface PhaseRule {
  readonly phase: Phase;
  readonly startsWhen: string;
  readonly does: string;
  readonly onFailure: string;
}

export const PHASES: readonly PhaseRule[] = [
  {
    phase: 'build',
    startsWhen: 'at once',
    does:
      'builds every target on the builder at once (one evaluation, one build), signs them and reads their ' +
      'closures in one call each; a target the batch could not build is built alone',
    onFailure: 'the target fails alone',
  },
  {
    phase: 'snapshot',
    startsWhen: 'every build has ended',
    // Each host is asked once, not once per target: the questions grow with the site, not its square.
    does:
      'probes every host of the site once (what it runs, has as profile, booted) and asks it once which ' +
      'paths of the union of the closures it holds, minus the closures of the systems it runs that the ' +
      'builder holds (a valid path implies its closure), and minus what every target needing it holds so; ' +
      'the canary is chosen from this snapshot. A plan ' +
      '(`plan`) ends here: every target is planned from the snapshot',
    onFailure:
      'a target that does not answer fails alone (unreachable); a peer that does not answer is no source',
  },
  {
    phase: 'copy',
    startsWhen:
      'the canary first; then each target as soon as no path it would pull over the uplink is being ' +
      'pulled by another copy (it then gets those paths from that host over the LAN), up to the ' +
      'parallel limit for copies that move anything',
    does:
      'plans the target from the snapshot, updated with the copies completed since, and with its own ' +
      'holdings asked again when time has passed since the snapshot; copies (peers first, the builder last)',
    onFailure: "the canary's failure stops the site; another target's fails it alone",
  },
  {
    phase: 'activate-canary',
    startsWhen: "the canary's copy has ended",
    does: 'activates the canary (confirm or revert), then asks about the restart',
    onFailure: 'stops the site: no other target is activated; their copies stay, harmless',
  },
  {
    phase: 'activate-rest',
    startsWhen: "the canary is confirmed and the target's own copy has ended",
    does: 'activates the other targets, at most the parallel limit at a time',
    onFailure:
      'a system a target could not confirm stops the activations not yet started; an unreachable or ' +
      'busy target fails alone',
  },
];

// ---- one target's way through the phases ---------------------------------------------------------------

/** Where a target of the walk is. The last three are endings: every target reaches exactly one. */
export type TargetState = 'waiting' | 'copying' | 'copied' | 'activating' | Ending;

/** done: carried out as far as asked (the copy, or the activation); skipped: stopped by another host. */
export type Ending = 'done' | 'failed' | 'skipped';

export const ENDINGS: readonly Ending[] = ['done', 'failed', 'skipped'];

export function isEnding(s: TargetState): s is Ending {
  return (ENDINGS as readonly string[]).includes(s);
}

/** How an activation ended: confirmed, not confirmed (the host runs its previous system), or failed otherwise. */
export type ActivationEnd = 'confirmed' | 'not-confirmed' | 'failed';

/** What a target would still move when its copy started now. */
export interface CopyNeed {
  /** Paths no reachable host of the site holds: they would cross the uplink. */
  readonly uplink: readonly StorePath[];
  /** Whether the copy would move anything at all (over the LAN or the uplink). */
  readonly moves: boolean;
}

export interface WalkSettings {
  /** The targets, the canary among them, in the order they should start when free to (biggest need first). */
  readonly targets: readonly string[];
  readonly canary: string;
  /** Copy only (`copy`), or activate too. */
  readonly until: 'copy' | 'activate';
  /** At most this many copies that move something at once, and this many activations after the canary. */
  readonly parallel: number;
  /**
   * Targets the snapshot saw running their new system already (as running and profile system): their
   * activation changes nothing on the host, so it does not count against `parallel` (a rollout with nothing
   * to do is not queued three at a time).
   */
  readonly unchanged?: readonly string[];
}

export class RolloutWalkError extends Error {
  override name = 'RolloutWalkError';
}

/** Why the site stopped activating, once it did. */
export interface Stop {
  readonly by: string;
  readonly why: 'canary-failed' | 'not-confirmed';
}

/**
 * The bookkeeping of one site's copy and activation phases. The engine asks what may start, starts it, and
 * reports each end; the walk answers from the rules above and never runs anything itself.
 */
export class SiteWalk {
  readonly canary: string;
  readonly until: 'copy' | 'activate';
  readonly parallel: number;
  readonly #order: readonly string[];
  readonly #unchanged: ReadonlySet<string>;
  readonly #states = new Map<string, TargetState>();
  /** Copies under way, with the paths each pulls over the uplink. */
  readonly #pulling = new Map<string, ReadonlySet<StorePath>>();
  /** Copies under way that move something (they count against the limit). */
  readonly #moving = new Set<string>();
  #canaryConfirmed = false;
  #stop: Stop | null = null;

  constructor(settings: WalkSettings) {
    const { targets, canary, until, parallel } = settings;
    this.#unchanged = new Set(settings.unchanged ?? []);
    if (!Number.isSafeInteger(parallel) || parallel < 1)
      throw new RolloutWalkError(`parallel must be a whole number of at least 1, not ${parallel}`);
    if (new Set(targets).size !== targets.length) throw new RolloutWalkError('a target is listed twice');
    if (!targets.includes(canary)) throw new RolloutWalkError(`the canary ${canary} is not a target`);
    this.canary = canary;
    this.until = until;
    this.parallel = parallel;
    this.#order = [canary, ...targets.filter((t) => t !== canary)];
    for (const t of this.#order) this.#states.set(t, 'waiting');
  }

  state(target: string): TargetState {
    const s = this.#states.get(target);
    if (s === undefined) throw new RolloutWalkError(`${target} is not a target of this walk`);
    return s;
  }

  get stop(): Stop | null {
    return this.#stop;
  }

  get canaryConfirmed(): boolean {
    return this.#canaryConfirmed;
  }

  /** Every target has reached its ending. */
  get finished(): boolean {
    return [...this.#states.values()].every(isEnding);
  }

  /**
   * The targets whose copy starts now (marked copying). The canary goes first; then a target
   * starts once none of the paths it would pull over the uplink is being pulled by a copy under way (when
   * that copy completes, the target gets them from that host instead), while fewer than `parallel` copies
   * that move something are under way. A target with nothing to move starts at once: its copy is only the
   * check that it holds its closure.
   */
  copiesToStart(need: (target: string) => CopyNeed): string[] {
    if (this.#stop !== null) return [];
    // The canary is first in the order and nothing is under way before it: it always starts first.
    const started: string[] = [];
    for (const t of this.#order) {
      if (this.#states.get(t) !== 'waiting') continue;
      const n = need(t);
      if (n.moves && this.#moving.size >= this.parallel) continue;
      if (n.uplink.some((p) => this.#pulledByOther(t, p))) continue;
      this.#startCopy(t, n);
      started.push(t);
    }
    return started;
  }

  /** A copy ended: the target holds its closure (ok), or does not (failed). */
  copyEnded(target: string, ok: boolean): void {
    this.#expect(target, 'copying');
    this.#pulling.delete(target);
    this.#moving.delete(target);
    if (!ok) {
      this.#states.set(target, 'failed');
      if (target === this.canary) this.#stopBy(target, 'canary-failed');
      return;
    }
    // Copied after the site stopped activating: the copy stays, nothing is activated.
    const activates = this.until === 'activate';
    this.#states.set(target, !activates ? 'done' : this.#stop !== null ? 'skipped' : 'copied');
  }

  /**
   * The targets whose activation starts now (marked activating): the canary once copied; the others once
   * copied and the canary confirmed, at most `parallel` at a time (the unchanged ones not counted); none once
   * the site has stopped.
   */
  activationsToStart(): string[] {
    if (this.until !== 'activate' || this.#stop !== null) return [];
    if (this.#states.get(this.canary) === 'copied') {
      this.#states.set(this.canary, 'activating');
      return [this.canary];
    }
    if (!this.#canaryConfirmed) return [];
    let running = [...this.#states.entries()].filter(
      ([t, s]) => s === 'activating' && t !== this.canary && !this.#unchanged.has(t),
    ).length;
    const started: string[] = [];
    for (const t of this.#order) {
      if (this.#states.get(t) !== 'copied') continue;
      const changes = !this.#unchanged.has(t);
      if (changes && running >= this.parallel) continue;
      this.#states.set(t, 'activating');
      started.push(t);
      if (changes) running++;
    }
    return started;
  }

  activationEnded(target: string, end: ActivationEnd): void {
    this.#expect(target, 'activating');
    this.#states.set(target, end === 'confirmed' ? 'done' : 'failed');
    if (target === this.canary) {
      if (end === 'confirmed') this.#canaryConfirmed = true;
      else this.#stopBy(target, 'canary-failed');
    } else if (end === 'not-confirmed' && this.#stop === null) {
      // A system one host could not confirm would likely fail the same way on the hosts still to come.
      this.#stopBy(target, 'not-confirmed');
    }
  }

  /** Copies and activations under way. */
  get busy(): string[] {
    return [...this.#states.entries()]
      .filter(([, s]) => s === 'copying' || s === 'activating')
      .map(([t]) => t);
  }

  #pulledByOther(target: string, path: StorePath): boolean {
    for (const [other, paths] of this.#pulling) if (other !== target && paths.has(path)) return true;
    return false;
  }

  #startCopy(target: string, need: CopyNeed): void {
    this.#states.set(target, 'copying');
    this.#pulling.set(target, new Set(need.uplink));
    if (need.moves) this.#moving.add(target);
  }

  #stopBy(by: string, why: Stop['why']): void {
    this.#stop = { by, why };
    // Targets not yet copying or activating end here; those under way finish what they do.
    for (const [t, s] of this.#states) if (s === 'waiting' || s === 'copied') this.#states.set(t, 'skipped');
  }

  #expect(target: string, state: TargetState): void {
    const s = this.state(target);
    if (s !== state) throw new RolloutWalkError(`${target} is ${s}, not ${state}`);
  }
}
