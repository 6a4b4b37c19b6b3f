// "At the next window": an approver's answer to a restart or reboot question for a host with a maintenance
// window. The question is decided (approved, by them, audited) and the restart (or reboot) becomes the host's
// pending work; the schedule restarts the display manager (or reboots the host, waits for it and confirms or
// undoes its staged system) in a run of its own once the window is open and the host answers, through the same
// stage as "Restart now" ("Reboot now"). A newer deploy of the host replaces it, as it replaces any pending
// work; a host already waiting for a system keeps it, its restart then approved up front.
import type { Actor, ProgressSink } from '../core/events.ts';
import type { DecideResult, PendingWork } from '../core/ports/state.ts';
import { nextWindowText } from '../core/restart-window.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, NotApprover } from './errors.ts';
import { runPendingAction } from './pending.ts';
import type { HostOutcome } from './pipeline.ts';
import { restartNow, settleRun } from './restart.ts';
import { actorName, joinRun, type RunScope } from './run-scope.ts';
import { isUnreachable, windowClosed } from './window-gate.ts';

export type NextWindowDecision = DecideResult & {
  /** "Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo", when decided. */
  readonly nextWindow?: string;
};

/** The `approval.requested` event's field for a host with a window; nothing for one without. */
export function nextWindowField(deps: EngineDeps, host: HostSpec): { nextWindow?: string } {
  const text = nextWindowText(host.policy, deps.now());
  return text === undefined ? {} : { nextWindow: text };
}

export async function restartAtNextWindow(
  deps: EngineDeps,
  approvalId: string,
  actor: Actor,
  onEvent: ProgressSink,
): Promise<NextWindowDecision> {
  if (!(await deps.mayApprove(actor))) {
    throw new NotApprover(
      `${actorName(actor)} may not approve restarts`,
      'ask one of the approvers named in the configuration',
    );
  }
  const asked = deps.store.getApproval(approvalId);
  const host = asked && deps.hosts.find((h) => h.name === asked.host);
  const nextWindow = host && nextWindowText(host.policy, deps.now());
  if (asked?.status === 'pending' && nextWindow === undefined) {
    // Only a stale button (the configuration changed since it was asked) gets here: the question stays open.
    throw new EngineError(
      `${asked.host} has no maintenance window now; nothing was decided`,
      `answer with "${asked.action === 'reboot' ? 'Reboot' : 'Restart'} now" or "Not now"`,
    );
  }
  const result = deps.store.decideApproval(approvalId, 'approved', actor, deps.now());
  if (result.kind !== 'decided' || host === undefined || nextWindow === undefined) return result;
  const approval = result.approval;
  const verb = approval.action;
  const scope = joinRun(deps, approval.runId, actor, onEvent);
  const existing = deps.store.pendingWork().find((w) => w.host === host.name);
  if (existing !== undefined && (existing.verb === 'deploy' || existing.verb === 'switch')) {
    deps.store.setPending({ ...existing, restart: 'yes' });
  } else if (!(existing?.verb === 'reboot' && verb === 'restart')) {
    // A pending reboot restarts the display manager anyway: a restart answered later does not replace it.
    deps.store.setPending({
      host: host.name,
      toplevel: null,
      revision: scope?.revision ?? null,
      reason: 'window',
      since: deps.now(),
      opensAt: nextOpening(deps, host),
      requestedBy: actor,
      runId: approval.runId,
      verb,
      restart: 'yes',
    });
  }
  deps.store.audit({
    at: deps.now(),
    runId: approval.runId,
    host: host.name,
    actor,
    argv: ['signage', verb, host.name, '--at-next-window', nextWindow],
    exitCode: 0,
    durationMs: 0,
  });
  if (scope) {
    scope.skip(host.name, verb, `at the next window, ${nextWindow}, approved by ${actorName(actor)}`);
    settleRun(deps, scope);
  }
  return { ...result, nextWindow };
}

/** null: the window is open now (the next tick restarts). */
function nextOpening(deps: EngineDeps, host: HostSpec): Date | null {
  return windowClosed(deps, host, 'the restart')?.opensAt ?? null;
}

/**
 * Whether the host's pending work is a restart or reboot deferred to its window (its run is then not
 * "restarted" yet).
 */
export function restartPending(deps: EngineDeps, host: string): boolean {
  return deps.store
    .pendingWork()
    .some((w) => w.host === host && (w.verb === 'restart' || w.verb === 'reboot' || w.restart === 'yes'));
}

/**
 * The pending restart, its window open and the host answering: the display manager restarted as the approver
 * asked. A host that stops answering meanwhile stays pending; any other failure ends it, reported.
 */
export async function restartWhenDue(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  work: PendingWork,
): Promise<HostOutcome> {
  return runPendingAction(
    deps,
    host,
    'restarted',
    () => restartNow(scope, host, work.requestedBy),
    isUnreachable,
  );
}
