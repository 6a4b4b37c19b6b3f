// Rebooting a screen takes it dark for a minute, so like a restart it waits for a person: an approver's button
// in Slack (a `reboot` question through the restart questions' machinery: same approvers, expiry and audit),
// or a prompt or `--yes` at a terminal. A system that needs a reboot is staged with `boot` behind the host's
// boot guard (boot.ts), then this asks; the `reboot` verb asks the same question of any host.
import type { BootTerminal } from '../core/activation-sequence.ts';
import type { Actor } from '../core/events.ts';
import type { ApprovalRecord } from '../core/ports/state.ts';
import type { RebootNeed } from '../core/reboot-need.ts';
import { describeRevision } from '../core/revision.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { type BootWalk, rebootWalk, stageBoot } from './boot.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import type { HostOutcome, RestartPolicy } from './pipeline.ts';
import { rebootInfo } from './reboot-need.ts';
import { nextWindowField } from './restart-at-window.ts';
import { actorName, type RunScope } from './run-scope.ts';
import type { Switched } from './switch.ts';

/** A reboot that did not end on a confirmed, healthy system. */
export class RebootFailed extends EngineError {
  override readonly name = 'RebootFailed';
  readonly end: BootTerminal;
  constructor(host: string, walk: BootWalk, what: string) {
    super(rebootMessage(host, walk, what), rebootHint(walk.end));
    this.end = walk.end;
  }
}

function rebootMessage(host: string, w: BootWalk, what: string): string {
  const why = w.failure ?? 'no reason given';
  switch (w.end) {
    case 'reverted':
      return `${what} of ${host} not confirmed: ${why}; ${w.revert ?? 'reverted'}`;
    case 'host-guards':
      return `${what} of ${host}: ${why}${w.revert ? `; ${w.revert}` : ''}; its boot guard puts the previous system back unless the new one is confirmed`;
    case 'unhealthy':
      return `${what} of ${host}: ${why}; ${w.revert ?? 'nothing to undo'}`;
    case 'boot-pending':
      return `${what} of ${host} did not happen: ${why}`;
    default:
      return `${what} of ${host} refused: ${why}`;
  }
}

function rebootHint(end: BootTerminal): string {
  if (end === 'host-guards') return 'check it with `signage status` once it is back (or power it on)';
  if (end === 'reverted') return 'the previous system runs again; fix the configuration and deploy again';
  if (end === 'boot-pending') return 'the host still runs its old system; `signage reboot HOST` tries again';
  return 'look at the host: `signage status` and its journal';
}

/**
 * Stages a system that needs a reboot: the boot default, behind the guard; the running system is left alone.
 * Called by the switch in place of the `test` activation.
 */
export async function stageForReboot(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  toplevel: StorePath,
  need: RebootNeed,
): Promise<Switched> {
  const before = await scope.probe(host);
  const previous = before.currentSystem;
  const walk = await stageBoot(scope, host, before, previous, toplevel);
  if (walk.end !== 'boot-pending')
    throw new RebootFailed(host.name, walk, 'staging the new system for a reboot');
  try {
    await deps.builder.keepRoot(host.name, toplevel);
  } catch (e) {
    scope.log(`could not keep a GC root for ${toplevel} on the builder: ${messageOf(e)}`, host.name);
  }
  const info = rebootInfo(need);
  return { toplevel, previous, changed: true, ...(info ? { reboot: info } : {}) };
}

export function rebootQuestion(host: string, scope: RunScope, outcome?: HostOutcome): string {
  const why = outcome?.reboot?.reasons.length
    ? ` It boots its new system (${outcome.reboot.reasons.join(', ')})${scope.revision?.rev ? `, ${describeRevision(scope.revision)}` : ''}.`
    : '';
  return `Reboot ${host}?${why} Its screen goes dark until it is back.`;
}

/** Records the question; `askReboot` puts it to people, `rebootApprovedUpFront` answers it at once. */
function openRebootQuestion(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  outcome?: HostOutcome,
): ApprovalRecord {
  const now = deps.now();
  return deps.store.createApproval({
    runId: scope.runId,
    host: host.name,
    action: 'reboot',
    question: rebootQuestion(host.name, scope, outcome),
    requestedBy: scope.actor,
    now,
    expiresAt: new Date(now.getTime() + deps.limits.approvalTimeoutMs),
  });
}

export function askReboot(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  outcome?: HostOutcome,
): ApprovalRecord {
  const approval = openRebootQuestion(deps, scope, host, outcome);
  scope.emit({
    type: 'approval.requested',
    runId: scope.runId,
    approvalId: approval.id,
    host: host.name,
    question: approval.question,
    expiresAt: approval.expiresAt.toISOString(),
    action: 'reboot',
    ...nextWindowField(deps, host),
  });
  return approval;
}

/** Reboots, waits, confirms or undoes: the `reboot` stage. Throws RebootFailed unless confirmed. */
export function rebootNow(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  approvedBy: Actor,
): Promise<BootTerminal> {
  return scope.stage(host.name, 'reboot', async () => {
    const walk = await rebootWalk(deps, scope, host);
    if (walk.end !== 'confirmed') throw new RebootFailed(host.name, walk, 'the reboot');
    // A rollback brings an older generation back: like one activated with `test`, it is not a deployment.
    if (walk.staged && walk.system !== null && deps.store.getRun(scope.runId)?.verb !== 'rollback') {
      deps.store.recordDeployment({
        host: host.name,
        toplevel: walk.system,
        runId: scope.runId,
        at: deps.now(),
      });
    }
    // Rebooted: a reboot or restart still waiting for the host's window has nothing left to do.
    const waiting = deps.store.pendingWork().find((w) => w.host === host.name);
    if (waiting?.verb === 'reboot' || waiting?.verb === 'restart') {
      deps.store.dropPending(host.name);
      scope.log(
        `the ${waiting.verb} pending since ${waiting.since.toISOString()} is done by this reboot`,
        host.name,
      );
    }
    return {
      outcome: 'ok',
      value: walk.end,
      detail: `back on ${walk.system ?? 'its system'}, healthy${walk.staged ? ', confirmed' : ''}; approved by ${actorName(approvedBy)}`,
    };
  });
}

export async function rebootApprovedUpFront(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  outcome?: HostOutcome,
): Promise<string> {
  const approval = openRebootQuestion(deps, scope, host, outcome);
  deps.store.decideApproval(approval.id, 'approved', scope.actor, deps.now());
  await rebootNow(deps, scope, host, scope.actor);
  return approval.id;
}

/**
 * After a system was staged for a reboot (or for the `reboot` verb): reboot now (approved up front), leave
 * it for the next reboot, or ask. Left alone, the host runs its old system; the guard watches the new one.
 */
export async function afterStage(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  policy: RestartPolicy,
  base: HostOutcome,
): Promise<HostOutcome> {
  if (policy === 'no') {
    scope.skip(host.name, 'reboot', 'not asked for: the host boots its new system at its next reboot');
    return { ...base, reboot: { ...base.reboot, reasons: base.reboot?.reasons ?? [], end: 'boot-pending' } };
  }
  if (policy === 'yes') {
    try {
      const approvalId = await rebootApprovedUpFront(deps, scope, host, base);
      return { ...base, approvalId, reboot: { reasons: base.reboot?.reasons ?? [], end: 'confirmed' } };
    } catch (e) {
      const end = e instanceof RebootFailed ? e.end : undefined;
      return {
        ...base,
        status: 'failed',
        error: messageOf(e),
        ...(e instanceof EngineError && e.hint ? { hint: e.hint } : {}),
        reboot: { reasons: base.reboot?.reasons ?? [], ...(end ? { end } : {}) },
      };
    }
  }
  // Maintenance windows gate reboots here, as they do restarts: the one place that decides between asking now
  // and waiting for the host's next window.
  const approval = askReboot(deps, scope, host, base);
  return {
    ...base,
    status: 'awaiting-approval',
    approvalId: approval.id,
    reboot: { reasons: base.reboot?.reasons ?? [], ...(base.reboot?.end ? { end: base.reboot.end } : {}) },
  };
}
