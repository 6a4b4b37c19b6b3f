// Reboots and the maintenance window. The `reboot` verb outside a host's window (no `--now`) does not reboot:
// it records the reboot as the host's pending work (verb `reboot`, reason `window`), approved up front when
// `--yes` said so, else to be asked of an approver once the window is open. An approver's "At the next
// window" on a reboot question records the same (restart-at-window.ts). Once the window is open and the host
// answers, the schedule (or `signage pending --run`) reboots it through the same reboot stage as "Reboot now":
// waited for, checked with the health checks, a staged system confirmed or undone.

import type { WindowWait } from '../core/policy.ts';
import type { PendingWork } from '../core/ports/state.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { runPendingAction } from './pending.ts';
import type { HostOutcome, RestartPolicy } from './pipeline.ts';
import { askReboot, RebootFailed, rebootNow } from './reboot.ts';
import { actorName, type RunScope } from './run-scope.ts';
import { isUnreachable } from './window-gate.ts';

/**
 * The `reboot` verb outside the host's window: the reboot recorded for the window, audited; the host is left
 * alone. A host already waiting for a new system keeps that work: its activation comes first, and asks for a
 * reboot itself when the new system needs one.
 */
export function rebootAtWindow(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  wait: WindowWait,
  policy: Exclude<RestartPolicy, 'no'>,
): HostOutcome {
  const existing = deps.store.pendingWork().find((w) => w.host === host.name);
  if (existing !== undefined && (existing.verb === 'deploy' || existing.verb === 'switch')) {
    scope.skip(host.name, 'reboot', wait.text);
    return {
      host: host.name,
      status: 'pending',
      deferred: `not recorded: its activation of a new system already waits for the window (run ${existing.runId}); a reboot it needs is asked for then`,
    };
  }
  deps.store.setPending({
    host: host.name,
    toplevel: null,
    revision: null,
    reason: 'window',
    since: deps.now(),
    opensAt: wait.opensAt,
    requestedBy: scope.actor,
    runId: scope.runId,
    verb: 'reboot',
    restart: policy,
  });
  deps.store.audit({
    at: deps.now(),
    runId: scope.runId,
    host: host.name,
    actor: scope.actor,
    argv: ['signage', 'reboot', host.name, '--at-next-window', wait.windows],
    exitCode: 0,
    durationMs: 0,
  });
  const then =
    policy === 'yes' ? `rebooted then (approved by ${actorName(scope.actor)})` : 'an approver is asked then';
  scope.skip(host.name, 'reboot', `at the next window: ${wait.text}; ${then}`);
  return {
    host: host.name,
    status: 'pending',
    deferred: `recorded for the window: ${wait.text}; ${then}`,
  };
}

/**
 * The pending reboot, its window open and the host answering: rebooted as approved, or (not approved yet)
 * the reboot question asked where someone can answer it. A host that stops answering before its reboot stays
 * pending; any other end (confirmed, undone, not back in time) ends it, reported.
 */
export async function rebootWhenDue(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  work: PendingWork,
  canAsk: boolean,
): Promise<HostOutcome> {
  if (work.restart !== 'yes') {
    if (!canAsk) {
      scope.skip(host.name, 'reboot', 'nobody to ask here');
      return {
        host: host.name,
        status: 'pending',
        deferred:
          'its window is open, but nobody here can approve the reboot: the Slack bot asks, or `signage reboot HOST --yes`',
      };
    }
    deps.store.dropPending(host.name);
    const approval = askReboot(deps, scope, host);
    return { host: host.name, status: 'awaiting-approval', approvalId: approval.id };
  }
  return runPendingAction(
    deps,
    host,
    'rebooted',
    () => rebootNow(deps, scope, host, work.requestedBy),
    (e) => isUnreachable(e) || (e instanceof RebootFailed && e.end === 'boot-pending'),
  );
}
