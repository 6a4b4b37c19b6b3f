// Asks hosts which paths of a closure they already hold: one round trip per host, all hosts at once. A peer
// that cannot be reached is left out of the plan (and said so), never guessed at.
import type { HostSpec, StorePath } from '../core/types.ts';
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
