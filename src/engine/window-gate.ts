// Activation, restarts and reboots wait for a host's maintenance window; copies do not. Called at the start
// of the switch stage: outside the window the host, already copied to, is left pending (reason `window`) and
// the run ends for it, so no run holds its locks for hours. `--now` (an approver's call) goes ahead, audited.
import { offOnSchedule, openPolicy, type WindowWait, windowWait } from '../core/policy.ts';
import type { HostSpec } from '../core/types.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { keepPending, replacePending } from './pending.ts';
import type { HostOutcome, PipelineOptions } from './pipeline.ts';
import { actorName, type RunScope } from './run-scope.ts';

/** A host that no site or tag speaks for may change at any time. */
function policyOf(host: HostSpec) {
  return host.policy ?? openPolicy('UTC');
}

/**
 * Whether `host` may change now (activation, a restart, a reboot): null when its window is open (or it has
 * none), else what waits and when the window next opens. The reboot verb calls this before rebooting.
 */
export function windowClosed(deps: EngineDeps, host: HostSpec, what = 'activation'): WindowWait | null {
  return windowWait(policyOf(host), deps.now(), what);
}

/** Whether the host's screen is off on schedule now (its `offHours`). */
export function offNow(deps: EngineDeps, host: HostSpec): boolean {
  return offOnSchedule(policyOf(host), deps.now());
}

/**
 * Going ahead outside the window on `--now`: said in the run and kept in the audit log with who asked. Call it
 * where `windowClosed` answered and the caller was told to go ahead anyway (reboots too).
 */
export function auditOverride(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  wait: WindowWait,
  what: string,
): void {
  const text = `${what} outside the window ${wait.windows}: ${actorName(scope.actor)} said --now`;
  deps.store.audit({
    at: deps.now(),
    runId: scope.runId,
    host: host.name,
    actor: scope.actor,
    argv: ['signage', '--now', what, `outside the window ${wait.windows}`],
    exitCode: 0,
    durationMs: 0,
  });
  scope.log(text, host.name);
}

/**
 * At the start of the switch stage: null to go ahead (the window is open, or `--now`), having dropped what was
 * pending for the host (this newer deploy replaces it); else the host's outcome, left pending for its window.
 */
export async function gateActivation(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  opts: PipelineOptions,
): Promise<Partial<HostOutcome> | null> {
  const wait = windowClosed(deps, host);
  if (wait !== null && opts.ignoreWindow) auditOverride(deps, scope, host, wait, 'activation');
  if (wait === null || opts.ignoreWindow) {
    await replacePending(deps, scope, host.name);
    return null;
  }
  await keepPending(deps, scope, host, {
    toplevel: built.toplevel,
    reason: 'window',
    opensAt: wait.opensAt,
    verb: opts.until === 'restart' ? 'deploy' : 'switch',
    restart: opts.restart,
  });
  scope.skip(host.name, 'switch', wait.text);
  if (opts.until === 'restart') scope.skip(host.name, 'restart', 'waits with the activation for the window');
  return { status: 'pending', deferred: `copied; ${wait.text}` };
}

/** A host that did not answer (the SSH adapter's failure kind, carried as data). */
export function isUnreachable(e: unknown): boolean {
  const failure = (e as { failure?: { kind?: unknown } } | null)?.failure;
  return failure?.kind === 'HostUnreachable';
}

/**
 * A restart or reboot asked for on its own (not after a deploy): refused outside the host's window, with when
 * it opens, unless `--now` (audited); null to go ahead.
 */
export function outsideWindow(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  what: 'the restart' | 'the reboot',
  ignoreWindow: boolean | undefined,
): HostOutcome | null {
  const wait = windowClosed(deps, host, what);
  if (wait === null) return null;
  if (ignoreWindow) {
    auditOverride(deps, scope, host, wait, what);
    return null;
  }
  const stage = what === 'the restart' ? 'restart' : 'reboot';
  scope.skip(host.name, stage, wait.text);
  return {
    host: host.name,
    status: 'failed',
    error: `${wait.text}; not ${stage === 'restart' ? 'restarted' : 'rebooted'}`,
    hint: 'ask again inside the window, or pass --now (approvers)',
  };
}
