// Restarting a screen's display manager blanks the screen people are looking at, so it is its own step and
// waits for a person: an approver's button in Slack, a prompt or flag at a terminal. Questions live in the
// state database, so an answer given after the bot restarted still counts, once.
import { restartCommand } from '../core/activation.ts';
import type { Actor, ProgressSink } from '../core/events.ts';
import type { ApprovalRecord, DecideResult, Decision } from '../core/ports/state.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, NotApprover } from './errors.ts';
import { actorName, type RunScope, resumeRun } from './run-scope.ts';
import { activationTarget } from './switch.ts';

export function restartQuestion(host: string): string {
  return `Restart the display manager on ${host}?`;
}

/** Records the question for a host; `askRestart` puts it to people, `restartApprovedUpFront` answers it. */
function openQuestion(deps: EngineDeps, scope: RunScope, host: HostSpec): ApprovalRecord {
  const now = deps.now();
  return deps.store.createApproval({
    runId: scope.runId,
    host: host.name,
    action: 'restart',
    question: restartQuestion(host.name),
    requestedBy: scope.actor,
    now,
    expiresAt: new Date(now.getTime() + deps.limits.approvalTimeoutMs),
  });
}

/** Opens the question; the run then waits (its status says so) until someone answers or it expires. */
export function askRestart(deps: EngineDeps, scope: RunScope, host: HostSpec): ApprovalRecord {
  const approval = openQuestion(deps, scope, host);
  scope.emit({
    type: 'approval.requested',
    runId: scope.runId,
    approvalId: approval.id,
    host: host.name,
    question: approval.question,
    expiresAt: approval.expiresAt.toISOString(),
  });
  return approval;
}

export function restartNow(scope: RunScope, host: HostSpec, approvedBy: Actor): Promise<void> {
  return scope.stage(host.name, 'restart', async () => {
    const facts = await scope.probe(host);
    await scope.exec(host, restartCommand(activationTarget(host, facts), host.restartCommand));
    return {
      outcome: 'ok',
      value: undefined,
      detail: `${host.restartCommand.join(' ')}, approved by ${actorName(approvedBy)}`,
    };
  });
}

/** A restart approved up front (a terminal flag or prompt): still recorded as a decided question, for the audit. */
export async function restartApprovedUpFront(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
): Promise<string> {
  const approval = openQuestion(deps, scope, host);
  deps.store.decideApproval(approval.id, 'approved', scope.actor, deps.now());
  await restartNow(scope, host, scope.actor);
  return approval.id;
}

export type RestartDecision = DecideResult & { readonly restarted?: boolean; readonly error?: string };

/**
 * An answer to a restart question. Only approvers decide; of several answers (a double click, two approvers)
 * exactly one counts, and an expired question is never decided.
 */
export async function decideRestart(
  deps: EngineDeps,
  approvalId: string,
  decision: Decision,
  actor: Actor,
  onEvent: ProgressSink,
): Promise<RestartDecision> {
  if (!(await deps.mayApprove(actor))) {
    throw new NotApprover(
      `${actorName(actor)} may not approve restarts`,
      'ask one of the approvers named in the configuration',
    );
  }
  const result = deps.store.decideApproval(approvalId, decision, actor, deps.now());
  if (result.kind !== 'decided') return result;
  const approval = result.approval;
  const host = deps.hosts.find((h) => h.name === approval.host);
  const scope = resumeRun(deps, approval.runId, actor, onEvent);
  if (!scope) return { ...result, error: `run ${approval.runId} is no longer waiting for this answer` };
  let restarted = false;
  let error: string | undefined;
  try {
    if (!host) throw new EngineError(`${approval.host} is no longer in the configuration`);
    if (decision === 'approved') {
      await restartNow(scope, host, actor);
      restarted = true;
    } else {
      scope.skip(approval.host, 'restart', `declined by ${actorName(actor)}`);
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  settleRun(deps, scope, error === undefined ? 'ok' : 'failed');
  return { ...result, restarted, ...(error === undefined ? {} : { error }) };
}

/** Expires questions whose time has come; their runs end once no question of theirs is open. */
export function expireRestarts(deps: EngineDeps, onEvent: ProgressSink): readonly ApprovalRecord[] {
  const expired = deps.store.expireDue(deps.now());
  for (const approval of expired) {
    const scope = resumeRun(deps, approval.runId, { kind: 'schedule', job: 'expire-approvals' }, onEvent);
    if (!scope) continue;
    scope.skip(approval.host, 'restart', `the question expired at ${approval.expiresAt.toISOString()}`);
    settleRun(deps, scope, 'ok');
  }
  return expired;
}

/** A run with several hosts keeps waiting while any of its questions is open. */
function settleRun(deps: EngineDeps, scope: RunScope, outcome: 'ok' | 'failed'): void {
  const open = deps.store
    .pendingApprovals()
    .filter((a) => a.runId === scope.runId && a.expiresAt > deps.now());
  if (open.length > 0) {
    scope.finish('awaiting-approval');
    return;
  }
  const previous = deps.store.getRun(scope.runId)?.summary as { failed?: boolean } | null | undefined;
  scope.finish(outcome === 'failed' || previous?.failed ? 'failed' : 'ok');
}
