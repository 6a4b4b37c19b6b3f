// The two-person rule, as the engine applies it to restart questions (and any other question kind asked
// through the same machinery): the host's rule from the sites/tags policy is kept with the question when it
// asks for more than one approver or excludes the requester; each answer is counted per person and written
// to the audit log; and a restart cannot be approved up front where one person's word does not suffice.
import type { Actor } from '../core/events.ts';
import { type ApprovalRule, approvalRuleFor, NO_POLICIES, oneApproverSuffices } from '../core/policy.ts';
import type { ApprovalRecord, Decision, VoteResult } from '../core/ports/state.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { NotAllowed } from './errors.ts';

export function ruleFor(deps: Pick<EngineDeps, 'policies'>, host: HostSpec): ApprovalRule {
  return approvalRuleFor(deps.policies ?? NO_POLICIES, host);
}

/** Keeps the host's rule with a new question, unless one approver suffices (the default, kept implicit). */
export function recordRule(deps: EngineDeps, approval: ApprovalRecord, host: HostSpec): void {
  const rule = ruleFor(deps, host);
  if (oneApproverSuffices(rule)) return;
  deps.store.setApprovalRule(approval.id, {
    required: rule.count,
    requesterMayApprove: rule.requesterMayApprove,
  });
}

/** One person's answer, counted under the question's rule and recorded in the audit log whatever it came to. */
export function countAnswer(
  deps: EngineDeps,
  approvalId: string,
  decision: Decision,
  actor: Actor,
): VoteResult {
  const now = deps.now();
  const result = deps.store.voteApproval(approvalId, decision, actor, now);
  if (result.kind === 'unknown') return result;
  const rule = deps.store.approvalRule(approvalId);
  const tally =
    result.kind === 'counted' || result.kind === 'already-voted'
      ? `${result.votes.filter((v) => v.decision === 'approved').length} of ${result.required} approvals`
      : rule
        ? `${deps.store.votesOf(approvalId).filter((v) => v.decision === 'approved').length} of ${rule.required} approvals`
        : 'one approver decides';
  deps.store.audit({
    at: now,
    runId: result.approval.runId,
    host: result.approval.host,
    actor,
    argv: [`(${result.approval.action} question ${approvalId})`, decision, result.kind, tally],
    exitCode: 0,
    durationMs: 0,
  });
  return result;
}

/** `--restart` is one person's approval: refused for hosts whose rule asks for more. */
export function refuseUpFront(deps: EngineDeps, targets: readonly HostSpec[]): void {
  const strict = targets.filter((t) => !oneApproverSuffices(ruleFor(deps, t)));
  if (strict.length === 0) return;
  const rule = ruleFor(deps, strict[0]!);
  const why =
    rule.count > 1
      ? `needs ${rule.count} distinct approvers`
      : 'must be approved by someone other than whoever asked';
  throw new NotAllowed(
    `a restart of ${strict.map((t) => t.name).join(', ')} ${why} (approvals in sites/tags), so it cannot be approved up front`,
    'leave out --restart: the question is then put to the approvers',
  );
}

/** The question's rule for its `approval.requested` event; nothing when one approver decides. */
export function ruleOf(
  deps: EngineDeps,
  approval: ApprovalRecord,
): { rule?: { required: number; requesterMayApprove: boolean } } {
  const rule = deps.store.approvalRule(approval.id);
  return rule === undefined ? {} : { rule };
}
