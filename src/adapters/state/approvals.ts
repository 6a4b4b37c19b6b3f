// Restart questions. Deciding is a single conditional UPDATE, so of any number of answers arriving at once
// (a double click, two approvers, two processes) exactly one changes the row; and the same condition
// refuses an answer at or after the question's expiry, whether or not `expireDue` has marked it yet.
import type { DatabaseSync } from 'node:sqlite';
import type { Actor } from '../../core/events.ts';
import type { ApprovalRecord, ApprovalsPort, DecideResult, Decision } from '../../core/ports/state.ts';
import { approvalVotesPort } from './approval-votes.ts';
import { APPROVAL_ID_RANDOM, newId } from './ids.ts';
import {
  actorJson,
  actorOf,
  actorOrNull,
  dateOf,
  dateOrNull,
  immediate,
  isUniqueViolation,
  ms,
  type Row,
  slackOf,
  str,
} from './sql.ts';

export function approvalOf(row: Row): ApprovalRecord {
  return {
    id: str(row.id),
    runId: str(row.run_id),
    host: str(row.host),
    action: str(row.action) as ApprovalRecord['action'],
    question: str(row.question),
    requestedBy: actorOf(row.requested_by),
    createdAt: dateOf(row.created_at),
    expiresAt: dateOf(row.expires_at),
    status: str(row.status) as ApprovalRecord['status'],
    decidedBy: actorOrNull(row.decided_by),
    decidedAt: dateOrNull(row.decided_at),
    slack: slackOf(row),
  };
}

export function approvalsPort(db: DatabaseSync): ApprovalsPort {
  const insert = db.prepare(`
    INSERT INTO approvals (id, run_id, host, action, question, requested_by, created_at, expires_at, status,
                           slack_channel, slack_ts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING *`);
  const get = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const attach = db.prepare('UPDATE approvals SET slack_channel = ?, slack_ts = ? WHERE id = ?');
  const decide = db.prepare(`
    UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?
    WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *`);
  const expire = db.prepare(`
    UPDATE approvals SET status = 'expired', decided_at = ?
    WHERE status = 'pending' AND expires_at <= ? RETURNING *`);
  const pending = db.prepare(`SELECT * FROM approvals WHERE status = 'pending' ORDER BY created_at, id`);

  const decideApproval = (id: string, decision: Decision, by: Actor, now: Date): DecideResult => {
    const at = ms(now);
    const won = decide.get(decision, actorJson(by), at, id, at) as Row | undefined;
    if (won !== undefined) return { kind: 'decided', approval: approvalOf(won) };
    // Lost, or never eligible: the row as it stands says why (a decision never reverts, so it is stable).
    const row = get.get(id) as Row | undefined;
    if (row === undefined) return { kind: 'unknown', id };
    const approval = approvalOf(row);
    if (approval.status === 'approved' || approval.status === 'denied')
      return { kind: 'already-decided', approval };
    return { kind: 'expired', approval };
  };

  return {
    ...approvalVotesPort(db, decideApproval),
    decideApproval,
    createApproval(a) {
      const createdAt = ms(a.now);
      const expiresAt = ms(a.expiresAt);
      if (expiresAt <= createdAt) {
        throw new RangeError(
          `state: an approval must expire after it is asked (${a.expiresAt.toISOString()})`,
        );
      }
      const requestedBy = actorJson(a.requestedBy);
      for (;;) {
        try {
          const row = insert.get(
            newId(a.now, APPROVAL_ID_RANDOM),
            a.runId,
            a.host,
            a.action,
            a.question,
            requestedBy,
            createdAt,
            expiresAt,
            a.slack?.channel ?? null,
            a.slack?.ts ?? null,
          );
          return approvalOf(row as Row);
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
        }
      }
    },

    attachApprovalMessage(id, slack) {
      attach.run(slack.channel, slack.ts, id);
    },

    getApproval(id) {
      const row = get.get(id) as Row | undefined;
      return row === undefined ? undefined : approvalOf(row);
    },

    expireDue(now) {
      const at = ms(now);
      // One statement: two processes expiring at once each get their own, disjoint share.
      return immediate(db, () => (expire.all(at, at) as Row[]).map(approvalOf)).sort(
        (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1),
      );
    },

    pendingApprovals() {
      return (pending.all() as Row[]).map(approvalOf);
    },
  };
}
