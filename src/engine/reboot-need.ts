// Whether a host must reboot to run a new system: the builder reads the new system's boot links, the host
// says in one round trip what it booted and runs, and the pure comparison (core/reboot-need.ts) decides.
import {
  describeReason,
  NO_REBOOT,
  parseRunningBoot,
  parseSystemBoot,
  type RebootNeed,
  rebootNeed,
  runningBootCommand,
  systemBootCommand,
} from '../core/reboot-need.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import type { RunScope } from './run-scope.ts';

export async function rebootNeedOf(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
): Promise<RebootNeed> {
  const next = await deps.builder.systemBoot(toplevel);
  const r = await scope.exec(host, runningBootCommand());
  return rebootNeed(parseRunningBoot(r.stdout), next);
}

/**
 * The same question for a system the host holds and the builder may not (a rollback's older generation):
 * its boot links are read on the host, then compared as for a deploy.
 */
export async function hostRebootNeedOf(
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
): Promise<RebootNeed> {
  const next = parseSystemBoot((await scope.exec(host, systemBootCommand(toplevel))).stdout);
  if (next === null) return NO_REBOOT;
  const r = await scope.exec(host, runningBootCommand());
  return rebootNeed(parseRunningBoot(r.stdout), next);
}

/** What a plan and a run's message say of it: each reason in words; nothing when none is needed. */
export interface RebootInfo {
  readonly reasons: readonly string[];
}

export function rebootInfo(need: RebootNeed): RebootInfo | undefined {
  return need.reasons.length === 0 ? undefined : { reasons: need.reasons.map(describeReason) };
}

/** For `plan`: whether the host would need a reboot, as the outcome's `reboot` field (nothing when not). */
export async function plannedRebootOf(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
): Promise<{ reboot?: RebootInfo }> {
  const info = rebootInfo(await rebootNeedOf(deps, scope, host, toplevel));
  return info ? { reboot: info } : {};
}
