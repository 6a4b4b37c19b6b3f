// Switch and rollback stages. Both go through the confirm-or-revert activation (activate.ts): the new system
// runs with `test`, is checked over a fresh connection and by the host's health checks, and only then becomes
// the profile and boot default; otherwise the previous system comes back. After a confirmed switch the
// deployment is recorded and the builder keeps a GC root for the system.
import { dropStagedCommand } from '../core/activation.ts';
import type { Terminal } from '../core/activation-sequence.ts';
import type { HostFacts } from '../core/host-facts.ts';
import { describeRebootNeed } from '../core/reboot-need.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { type ActivationResult, activate, activationTarget } from './activate.ts';
import { stageBoot } from './boot.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import { RebootFailed, stageForReboot } from './reboot.ts';
import { hostRebootNeedOf, type RebootInfo, rebootInfo, rebootNeedOf } from './reboot-need.ts';
import type { RunScope } from './run-scope.ts';

export { activationTarget } from './activate.ts';

export interface Switched {
  readonly toplevel: StorePath;
  /** What ran before; null on a host that had no system. */
  readonly previous: StorePath | null;
  readonly changed: boolean;
  /** Staged with `boot` for a reboot rather than activated: why it needs one. */
  readonly reboot?: RebootInfo;
}

/** An activation that was not confirmed: the host runs (or will run) its previous system again. */
export class ActivationFailed extends EngineError {
  override readonly name = 'ActivationFailed';
  readonly end: Terminal;
  constructor(host: string, result: ActivationResult, what: string) {
    super(activationMessage(host, result, what), activationHint(result.end));
    this.end = result.end;
  }
}

function activationMessage(host: string, r: ActivationResult, what: string): string {
  const why = r.failure ?? 'no reason given';
  switch (r.end) {
    case 'reverted':
      return `${what} on ${host} not confirmed: ${why}; ${r.revert ?? 'reverted'}`;
    case 'host-reverts':
      return `${what} on ${host} not confirmed: ${why}; ${r.revert ?? 'the host reverts by itself'}`;
    case 'host-settles':
      return `${what} on ${host}: ${why}; the host finishes confirming by itself or reverts`;
    default:
      return `${what} on ${host} refused: ${why}`;
  }
}

function activationHint(end: Terminal): string {
  if (end === 'host-reverts' || end === 'host-settles')
    return 'check it with `signage status` once the revert time has passed';
  if (end === 'reverted') return 'the previous system runs again; fix the configuration and deploy again';
  return 'look at the host: `signage status` and its journal';
}

export function switchHost(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
  probed?: HostFacts,
): Promise<Switched> {
  return scope.stage<Switched>(host.name, 'switch', async () => {
    // A rollout's snapshot that saw the host run this system as running and profile system confirms it (its
    // store confirmed the system in the same round trip): no second probe. Anything else is probed afresh,
    // as an activation needs the host as it is now.
    const before = probed && runsAlready(probed, toplevel) ? probed : await scope.probe(host);
    const previous = before.currentSystem;
    if (runsAlready(before, toplevel)) {
      await keepBuilderRoot(deps, scope, host, toplevel);
      deps.store.recordDeployment({ host: host.name, toplevel, runId: scope.runId, at: deps.now() });
      return {
        outcome: 'noop',
        value: { toplevel, previous, changed: false },
        detail: 'already running this system',
      };
    }
    const need = await rebootNeedOf(deps, scope, host, toplevel);
    if (need.reasons.length > 0) {
      const staged = await stageForReboot(deps, scope, host, toplevel, need);
      return { outcome: 'ok', value: staged, detail: `staged with boot: ${describeRebootNeed(need)}` };
    }
    // An interrupted switch left the host running the new system unconfirmed: the profile's is the good one.
    const back = previous === toplevel ? before.profileSystem : previous;
    const result = await activate(deps, scope, host, before, { toplevel, previous: back });
    if (result.end !== 'confirmed') throw new ActivationFailed(host.name, result, 'the switch');
    deps.store.recordDeployment({ host: host.name, toplevel, runId: scope.runId, at: deps.now() });
    // The profile holds the system now; a root left by an earlier `copy` would only keep old paths alive.
    await scope.exec(host, dropStagedCommand(activationTarget(host, before)));
    await keepBuilderRoot(deps, scope, host, toplevel);
    const after = await scope.probe(host);
    return {
      outcome: 'ok',
      value: { toplevel, previous, changed: true },
      detail: `confirmed; generation ${after.currentGeneration ?? '?'}${previous ? `, was ${previous}` : ''}`,
    };
  });
}

function runsAlready(facts: HostFacts, toplevel: StorePath): boolean {
  return facts.currentSystem === toplevel && facts.profileSystem === toplevel;
}

/**
 * The builder keeps what each host runs from its garbage collector, so later hosts can still get it. The host
 * has switched by then: failing to keep the root is worth saying, not worth failing the switch.
 */
async function keepBuilderRoot(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
): Promise<void> {
  try {
    await deps.builder.keepRoot(host.name, toplevel);
  } catch (e) {
    scope.log(`could not keep a GC root for ${toplevel} on the builder: ${messageOf(e)}`, host.name);
  }
}

export interface RolledBack {
  readonly from: StorePath | null;
  readonly to: StorePath;
  readonly generation: number | null;
  /** Its kernel (or another boot link) differs from the booted one's: staged with `boot` for a reboot. */
  readonly reboot?: RebootInfo;
}

/**
 * Back to the generation before the current one, through the same confirm-or-revert activation; or, when
 * that generation needs a reboot (another kernel, initrd, …, as a deploy decides), staged with `boot` behind
 * the boot guard, as a deploy needing a reboot is: the reboot question follows.
 */
export function rollbackHost(deps: EngineDeps, scope: RunScope, host: HostSpec): Promise<RolledBack> {
  return scope.stage<RolledBack>(host.name, 'rollback', async () => {
    const before = await scope.probe(host);
    const current = before.currentGeneration;
    const older = before.generations.filter((g) => current === null || g.number < current);
    const target = older.at(-1);
    if (target === undefined) {
      throw new EngineError(
        `${host.name} has no generation before ${current ?? 'its current one'} to roll back to`,
      );
    }
    const need = await hostRebootNeedOf(scope, host, target.path);
    const info = rebootInfo(need);
    if (info !== undefined) {
      const walk = await stageBoot(scope, host, before, before.currentSystem, target.path);
      if (walk.end !== 'boot-pending')
        throw new RebootFailed(host.name, walk, 'staging the rollback for a reboot');
      return {
        outcome: 'ok',
        value: { from: before.currentSystem, to: target.path, generation: target.number, reboot: info },
        detail: `staged with boot: ${describeRebootNeed(need)}`,
      };
    }
    const result = await activate(deps, scope, host, before, {
      toplevel: target.path,
      previous: before.currentSystem,
      generation: target.number,
    });
    if (result.end !== 'confirmed') throw new ActivationFailed(host.name, result, 'the rollback');
    const after = await scope.probe(host);
    if (after.currentSystem !== target.path || after.profileSystem !== target.path) {
      throw new EngineError(`rollback on ${host.name} left it running ${after.currentSystem ?? 'nothing'}`);
    }
    return {
      outcome: 'ok',
      value: { from: before.currentSystem, to: target.path, generation: after.currentGeneration },
      detail: `confirmed; now generation ${after.currentGeneration ?? '?'} (${target.path})`,
    };
  });
}
