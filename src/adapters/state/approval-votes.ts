// Questions that need several approvers (the two-person rule). Each person's answer is a row keyed by who
// they are, so a second click by the same person changes nothing; counting and deciding happen in one write
// transaction, so of answers arriving at once from several processes exactly one settles the question (by
// the same conditional UPDATE a single approver's answer goes through). A question without a rule is decided
// by its first approver, as before.
import type { DatabaseSync } from 'node:sqlite';
import type { Actor } from '../../core/events.ts';
import type {
  ApprovalRuleRecord,
  ApprovalsPort,
  ApprovalVote,
  DecideResult,
  Decision,
  VoteResult,
} from '../../core/ports/state.ts';
import { approvalOf } from './approvals.ts';
import { actorJson, actorOf, dateOf, immediate, ms, num, type Row, str } from './sql.ts';

type VotesPort = Pick<
  ApprovalsPort,
  'setApprovalRule' | 'approvalRule' | 'voteApproval' | 'votesOf' | 'approvalsOfRun'
>;

/** Who a person is, whatever channel they answer from: one answer each. */
export function voterKey(actor: Actor): string {
  switch (actor.kind) {
    case 'slack':
      return `slack:${actor.userId}`;
    case 'cli':
      return `cli:${actor.user}`;
    case 'schedule':
      return `schedule:${actor.job}`;
  }
}

const ONE_APPROVER: ApprovalRuleRecord = { required: 1, requesterMayApprove: true };

export function approvalVotesPort(
  db: DatabaseSync,
  decide: (id: string, decision: Decision, by: Actor, now: Date) => DecideResult,
): VotesPort {
  const setRule = db.prepare(`
    INSERT INTO approval_rules (approval_id, required, requester_may_approve) VALUES (?, ?, ?)
    ON CONFLICT (approval_id) DO UPDATE SET required = excluded.required,
                                            requester_may_approve = excluded.requester_may_approve`);
  const getRule = db.prepare('SELECT * FROM approval_rules WHERE approval_id = ?');
  const get = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const insertVote = db.prepare(`
    INSERT INTO approval_votes (approval_id, voter, actor, decision, at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (approval_id, voter) DO NOTHING`);
  const votes = db.prepare('SELECT * FROM approval_votes WHERE approval_id = ? ORDER BY at, voter');
  const ofRun = db.prepare('SELECT * FROM approvals WHERE run_id = ? ORDER BY created_at, id');

  const ruleOf = (id: string): ApprovalRuleRecord | undefined => {
    const row = getRule.get(id) as Row | undefined;
    return row === undefined
      ? undefined
      : { required: num(row.required), requesterMayApprove: num(row.requester_may_approve) === 1 };
  };
  const votesOf = (id: string): ApprovalVote[] =>
    (votes.all(id) as Row[]).map((r) => ({
      voter: actorOf(r.actor),
      decision: str(r.decision) as Decision,
      at: dateOf(r.at),
    }));

  return {
    setApprovalRule(id, rule) {
      if (!Number.isInteger(rule.required) || rule.required < 1) {
        throw new RangeError(`state: an approval needs at least one approver, not ${rule.required}`);
      }
      setRule.run(id, rule.required, rule.requesterMayApprove ? 1 : 0);
    },
    approvalRule: ruleOf,
    votesOf,
    approvalsOfRun: (runId) => (ofRun.all(runId) as Row[]).map(approvalOf),
    voteApproval(id, decision, by, now): VoteResult {
      return immediate(db, (): VoteResult => {
        const row = get.get(id) as Row | undefined;
        if (row === undefined) return { kind: 'unknown', id };
        const approval = approvalOf(row);
        // Decided or past its time: the single-answer path says so in its own words.
        if (approval.status !== 'pending' || approval.expiresAt.getTime() <= ms(now)) {
          return decide(id, decision, by, now);
        }
        const rule = ruleOf(id) ?? ONE_APPROVER;
        const self = voterKey(by) === voterKey(approval.requestedBy);
        if (decision === 'approved' && self && !rule.requesterMayApprove) {
          return { kind: 'requester-may-not-approve', approval, required: rule.required };
        }
        const added = insertVote.run(id, voterKey(by), actorJson(by), decision, ms(now)).changes > 0;
        const all = votesOf(id);
        if (!added) return { kind: 'already-voted', approval, votes: all, ...rule };
        const approvals = all.filter((v) => v.decision === 'approved').length;
        // A decline by any approver declines; approvals decide once enough people gave one.
        if (decision === 'denied' || approvals >= rule.required) return decide(id, decision, by, now);
        return { kind: 'counted', approval, votes: all, ...rule };
      });
    },
  };
}
