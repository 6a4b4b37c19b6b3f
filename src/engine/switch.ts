// Switch and rollback stages, as `nixos-rebuild switch --target-host` and `--rollback` do them. After a
// switch the engine checks what the host now runs instead of trusting an exit status, records the deployment
// and keeps a GC root for it on the builder.
import {
  type ActivationTarget,
  checkSystemCommand,
  dropStagedCommand,
  rollbackProfileCommand,
  SYSTEM_PROFILE,
  setProfileCommand,
  switchCommand,
} from '../core/activation.ts';
import type { HostFacts } from '../core/host-facts.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import type { RunScope } from './run-scope.ts';

export interface Switched {
  readonly toplevel: StorePath;
  /** What ran before; null on a host that had no system. */
  readonly previous: StorePath | null;
  readonly changed: boolean;
}

/** Switches can take minutes on a Pi (services restart); the per-command timeout must allow it. */
const SWITCH_TIMEOUT_MS = 15 * 60_000;

export function activationTarget(host: HostSpec, facts: HostFacts): ActivationTarget {
  return { sudo: host.user !== 'root', systemd: facts.systemd };
}

export function switchHost(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
): Promise<Switched> {
  return scope.stage<Switched>(host.name, 'switch', async () => {
    const before = await scope.probe(host);
    const previous = before.currentSystem;
    if (previous === toplevel && before.profileSystem === toplevel) {
      await keepBuilderRoot(deps, scope, host, toplevel);
      deps.store.recordDeployment({ host: host.name, toplevel, runId: scope.runId, at: deps.now() });
      return {
        outcome: 'noop',
        value: { toplevel, previous, changed: false },
        detail: 'already running this system',
      };
    }
    const t = activationTarget(host, before);
    const check = await scope.exec(host, checkSystemCommand(toplevel), { allowFailure: true });
    if (check.exitCode !== 0) {
      throw new EngineError(
        `${toplevel} is not a NixOS system (it has no nixos-version); refusing to activate it`,
      );
    }
    await scope.exec(host, setProfileCommand(t, toplevel));
    await scope.exec(host, switchCommand(t, toplevel), {
      timeoutMs: SWITCH_TIMEOUT_MS,
      onStderrLine: (line) => scope.log(line, host.name),
    });
    const after = await scope.probe(host);
    if (after.currentSystem !== toplevel) {
      throw new EngineError(
        `switch-to-configuration finished but ${host.name} runs ${after.currentSystem ?? 'nothing'}, not ${toplevel}`,
        'look at the host: `signage status` and its journal',
      );
    }
    deps.store.recordDeployment({ host: host.name, toplevel, runId: scope.runId, at: deps.now() });
    // The profile holds the system now; a root left by an earlier `copy` would only keep old paths alive.
    await scope.exec(host, dropStagedCommand(t));
    await keepBuilderRoot(deps, scope, host, toplevel);
    return {
      outcome: 'ok',
      value: { toplevel, previous, changed: true },
      detail: `generation ${after.currentGeneration ?? '?'}${previous ? `, was ${previous}` : ''}`,
    };
  });
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
}

export function rollbackHost(scope: RunScope, host: HostSpec): Promise<RolledBack> {
  return scope.stage(host.name, 'rollback', async () => {
    const before = await scope.probe(host);
    const current = before.currentGeneration;
    const older = before.generations.filter((g) => current === null || g.number < current);
    if (older.length === 0) {
      throw new EngineError(
        `${host.name} has no generation before ${current ?? 'its current one'} to roll back to`,
      );
    }
    const t = activationTarget(host, before);
    await scope.exec(host, rollbackProfileCommand(t));
    // The profile now points at the previous generation: activate whatever it points at.
    await scope.exec(host, switchCommand(t, SYSTEM_PROFILE), {
      timeoutMs: SWITCH_TIMEOUT_MS,
      onStderrLine: (line) => scope.log(line, host.name),
    });
    const after = await scope.probe(host);
    if (after.currentSystem === null || after.currentSystem !== after.profileSystem) {
      throw new EngineError(`rollback on ${host.name} left it running ${after.currentSystem ?? 'nothing'}`);
    }
    return {
      outcome: 'ok',
      value: { from: before.currentSystem, to: after.currentSystem, generation: after.currentGeneration },
      detail: `now generation ${after.currentGeneration ?? '?'} (${after.currentSystem})`,
    };
  });
}
