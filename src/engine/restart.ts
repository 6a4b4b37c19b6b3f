// Restarting a screen's display manager blanks the screen people are looking at, so it is its own step and
// waits for a person: an approver's button in Slack, a prompt or flag at a terminal. Questions live in the
// state database, so an answer given after the bot restarted still counts, once.
import { restartCommand } from '../core/activation.ts';
import type { Actor, ProgressSink } from '../core/events.ts';
import type { ApprovalRecord, Decision, VoteResult } from '../core/ports/state.ts';
import { describeRevision, type Revision } from '../core/revision.ts';
import type { HostSpec } from '../core/types.ts';
import { countAnswer, recordRule, ruleOf } from './approval-rules.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, NotApprover } from './errors.ts';
import type { HostOutcome, RestartPolicy } from './pipeline.ts';
import { rebootNow } from './reboot.ts';
import { nextWindowField } from './restart-at-window.ts';
import { actorName, joinRun, type RunScope } from './run-scope.ts';

/** The question, naming the fleet commit the host now runs where the run built one. */
export function restartQuestion(host: string, revision?: Revision | null): string {
  const now = revision?.rev ? ` It now runs ${describeRevision(revision)}.` : '';
  return `Restart the display manager on ${host}?${now}`;
}

/** Records the question for a host; `askRestart` puts it to people, `restartApprovedUpFront` answers it. */
function openQuestion(deps: EngineDeps, scope: RunScope, host: HostSpec): ApprovalRecord {
  const now = deps.now();
  const approval = deps.store.createApproval({
    runId: scope.runId,
    host: host.name,
    action: 'restart',
    question: restartQuestion(host.name, scope.revision),
    requestedBy: scope.actor,
    now,
    expiresAt: new Date(now.getTime() + deps.limits.approvalTimeoutMs),
  });
  recordRule(deps, approval, host);
  return approval;
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
    ...ruleOf(deps, approval),
    ...nextWindowField(deps, host),
  });
  return approval;
}

export function restartNow(scope: RunScope, host: HostSpec, approvedBy: Actor): Promise<void> {
  return scope.stage(host.name, 'restart', async () => {
    // Only sudo matters for this command, and that depends on the SSH user alone: no need to look first.
    await scope.exec(
      host,
      restartCommand({ sudo: host.user !== 'root', systemd: false }, host.restartCommand),
    );
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

/** After a host changed system: restart now (approved up front), leave the screen alone, or ask. */
export async function afterChange(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  policy: RestartPolicy,
  base: HostOutcome,
): Promise<HostOutcome> {
  if (policy === 'no') {
    scope.skip(host.name, 'restart', 'not asked for');
    return base;
  }
  if (policy === 'yes') {
    const approvalId = await restartApprovedUpFront(deps, scope, host);
    return { ...base, approvalId, restarted: true };
  }
  const approval = askRestart(deps, scope, host);
  return { ...base, status: 'awaiting-approval', approvalId: approval.id };
}

export type RestartDecision = VoteResult & { readonly restarted?: boolean; readonly error?: string };

/**
 * An answer to a restart question. Only approvers decide; of several answers (a double click, two approvers)
 * exactly one counts, and an expired question is never decided. The answer acts on its host whatever the run
 * is doing: still working on other hosts, waiting, or ended in a process that is gone.
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
  const result = countAnswer(deps, approvalId, decision, actor);
  if (result.kind !== 'decided') return result;
  const approval = result.approval;
  const scope = joinRun(deps, approval.runId, actor, onEvent);
  const host = deps.hosts.find((h) => h.name === approval.host);
  let restarted = false;
  let error: string | undefined;
  try {
    if (!scope) throw new EngineError(`run ${approval.runId} of this question is not in the state database`);
    if (!host) throw new EngineError(`${approval.host} is no longer in the configuration`);
    if (decision === 'approved') {
      if (approval.action === 'reboot') await rebootNow(deps, scope, host, actor);
      else await restartNow(scope, host, actor);
      restarted = true;
    } else {
      scope.skip(approval.host, approval.action, `declined by ${actorName(actor)}`);
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  if (scope) settleRun(deps, scope);
  return { ...result, restarted, ...(error === undefined ? {} : { error }) };
}

/** Expires questions whose time has come; a run waiting only for them then ends. */
export function expireRestarts(deps: EngineDeps, onEvent: ProgressSink): readonly ApprovalRecord[] {
  const expired = deps.store.expireDue(deps.now());
  for (const approval of expired) {
    const scope = joinRun(deps, approval.runId, { kind: 'schedule', job: 'expire-approvals' }, onEvent);
    if (!scope) continue;
    scope.skip(approval.host, approval.action, `the question expired at ${approval.expiresAt.toISOString()}`);
    settleRun(deps, scope);
  }
  return expired;
}

/**
 * What a run's status should be now, from the state database rather than from what one caller saw: waiting
 * while any of its questions is open, failed when a host or a restart failed, ok otherwise.
 */
export function runStatusNow(
  deps: EngineDeps,
  runId: string,
  hostsFailed: boolean,
): 'awaiting-approval' | 'failed' | 'ok' {
  const now = deps.now();
  const open = deps.store.pendingApprovals().some((a) => a.runId === runId && a.expiresAt > now);
  if (open) return 'awaiting-approval';
  const restartFailed = deps.store
    .stagesOf(runId)
    .some((s) => (s.stage === 'restart' || s.stage === 'reboot') && s.status === 'failed');
  return hostsFailed || restartFailed ? 'failed' : 'ok';
}

/** Ends a run that only waited for answers once none is open; a run still working ends by itself. */
export function settleRun(deps: EngineDeps, scope: RunScope): void {
  const run = deps.store.getRun(scope.runId);
  if (run?.status !== 'awaiting-approval') return;
  const summary = run.summary as { failed?: boolean } | null;
  const status = runStatusNow(deps, scope.runId, summary?.failed === true);
  if (status !== 'awaiting-approval') scope.finish(status);
}
