// What an approver's click does: the engine decides (exactly one answer counts, an expired question is never
// decided), the question's message then says who answered and when, without buttons, and everyone else who
// clicks is told privately what happened before them. State is in the store, so this works for questions
// asked before the bot restarted.
import type { Actor } from '../core/events.ts';
import type { ApprovalRecord, SlackMessageRef } from '../core/ports/state.ts';
import type { Engine } from '../engine/engine.ts';
import { NotApprover } from '../engine/errors.ts';
import type { RestartDecision } from '../engine/restart.ts';
import { actorName } from '../engine/run-scope.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { ApprovalClick, DecisionHandler } from './actions.ts';
import type { SlackApp } from './app.ts';
import {
  type ApprovalQuestion,
  approvalDecidedMessage,
  approvalExpiredMessage,
  approvalQuestionMessage,
} from './blocks/approval.ts';
import { errorMessage } from './blocks/error.ts';
import { context, escapeMrkdwn, message, section, slackDate } from './blocks/kit.ts';
import type { LogSink } from './bolt-logger.ts';
import type { SlackRequestContext } from './context.ts';
import { blocksOf } from './message-port.ts';
import { atNextWindow } from './next-window.ts';
import type { RunMessages } from './run-messages.ts';

export interface DecisionDeps {
  readonly engine: Engine;
  readonly runMessages: RunMessages;
  readonly log: LogSink;
  /** Mentioned again when a question under the two-person rule is redrawn with its tally. */
  readonly approvers?: { readonly users: readonly string[]; readonly usergroup?: string | undefined };
}

export function decisionHandler(deps: DecisionDeps): DecisionHandler {
  return async (click, ctx) => {
    if (click.decision === 'next-window') return atNextWindow(deps, click, ctx);
    const decision = click.decision === 'approve' ? 'approved' : 'denied';
    let result: Awaited<ReturnType<Engine['decide']>>;
    try {
      result = await deps.engine.decide(click.approvalId, decision, {
        actor: ctx.actor,
        onEvent: deps.runMessages.route,
        signal: ctx.signal,
      });
    } catch (error) {
      if (!(error instanceof NotApprover)) throw error;
      await ctx.ephemeral(
        errorMessage({
          summary: 'You cannot answer this question.',
          detail: error.message,
          next: error.hint,
        }),
      );
      return undefined;
    }
    switch (result.kind) {
      case 'decided': {
        const a = result.approval;
        deps.log.info(
          `approval ${a.id}: ${a.action} of ${a.host} ${a.status} by ${click.userId}` +
            (result.restarted ? ', restarted' : '') +
            (result.error === undefined ? '' : `, failed: ${result.error}`),
        );
        if (result.error !== undefined) {
          await deps.runMessages.reply(
            a.runId,
            errorMessage({
              summary: `The ${a.action} of ${a.host} failed.`,
              detail: result.error,
              next: `Check the screen with \`/signage status ${a.host}\`; \`/signage ${a.action} ${a.host}\` asks again.`,
            }),
          );
        }
        return decidedMessage(a);
      }
      case 'already-decided':
        await ctx.ephemeral(alreadyDecidedMessage(result.approval));
        return decidedMessage(result.approval);
      case 'expired':
        await ctx.ephemeral(
          errorMessage({
            summary: `This question expired ${plainDate(result.approval.expiresAt)}; nothing was ${result.approval.action === 'reboot' ? 'rebooted' : 'restarted'}.`,
            next: `Run \`/signage ${result.approval.action} ${result.approval.host}\` to ask again.`,
          }),
        );
        return expiredMessage(result.approval);
      case 'counted':
      case 'already-voted':
      case 'requester-may-not-approve':
        return answerUnderRule(result, click, ctx, deps);
      case 'unknown':
        await ctx.ephemeral(
          errorMessage({
            summary: 'The bot has no record of this question.',
            next: 'Run the deploy or restart again to get a fresh question.',
          }),
        );
        return undefined;
    }
  };
}

/**
 * An answer that did not settle a question under the two-person rule: counted (the question is redrawn with
 * its tally, buttons kept), a second answer by the same person, or the requester's own approval where the
 * rule forbids it (both refused privately, the question left as it is).
 */
async function answerUnderRule(
  result: Extract<RestartDecision, { kind: 'counted' | 'already-voted' | 'requester-may-not-approve' }>,
  click: ApprovalClick,
  ctx: SlackRequestContext,
  deps: DecisionDeps,
): Promise<SlackMessage | undefined> {
  const a = result.approval;
  deps.log.info(`approval ${a.id}: ${click.decision} by ${click.userId}: ${result.kind}`);
  if (result.kind === 'requester-may-not-approve') {
    await ctx.ephemeral(
      errorMessage({
        summary: `You asked for this run, so you cannot approve its ${a.action} of ${a.host}.`,
        next: `The two-person rule: ${result.required === 1 ? 'another approver' : `${result.required} other approvers`} must approve.`,
      }),
    );
    return undefined;
  }
  const approvedBy = result.votes
    .filter((v) => v.decision === 'approved')
    .map((v) => (v.voter.kind === 'slack' ? v.voter.userId : actorName(v.voter)));
  const tally = `${approvedBy.length} of ${result.required} approvals`;
  if (result.kind === 'already-voted') {
    await ctx.ephemeral(
      errorMessage({
        summary: `You already answered this question (${tally}); a second click by the same person does not count.`,
        next: 'Another approver must approve.',
      }),
    );
    return undefined;
  }
  await ctx.ephemeral(
    message(`Your approval counts: ${tally}.`, [
      section(`👍 *Your approval counts:* ${tally}.`),
      context(`The ${a.action} waits for the other approvals.`),
    ]),
  );
  return redrawnQuestion(a, {
    nextWindow: deps.engine.nextWindowOf(a.host),
    approvers: deps.approvers,
    rule: { required: result.required, requesterMayApprove: result.requesterMayApprove },
    approvedBy,
  });
}

/**
 * An open question drawn again from its record (a tally under the two-person rule, also for a question asked
 * before the bot restarted): with the buttons it was first posted with, in its action's words, and "At the
 * next window" for a host with a window.
 */
export function redrawnQuestion(
  a: ApprovalRecord,
  extra: Pick<ApprovalQuestion, 'nextWindow' | 'approvers' | 'rule' | 'approvedBy'>,
): SlackMessage {
  return approvalQuestionMessage({
    approvalId: a.id,
    host: a.host,
    question: a.question,
    expiresAt: a.expiresAt,
    action: a.action,
    nextWindow: extra.nextWindow,
    ...(a.requestedBy.kind === 'slack' ? { requestedBy: a.requestedBy.userId } : {}),
    ...(extra.approvers === undefined ? {} : { approvers: extra.approvers }),
    ...(extra.rule === undefined ? {} : { rule: extra.rule }),
    ...(extra.approvedBy === undefined ? {} : { approvedBy: extra.approvedBy }),
  });
}

/** The question as it reads once answered: who answered, and when. */
export function decidedMessage(a: ApprovalRecord): SlackMessage {
  const by = a.decidedBy;
  return approvalDecidedMessage({
    host: a.host,
    question: a.question,
    decision: a.status === 'denied' ? 'denied' : 'approved',
    action: a.action,
    userId: by?.kind === 'slack' ? by.userId : '',
    ...(by !== null && by.kind !== 'slack' ? { by: escapeMrkdwn(actorName(by)) } : {}),
    at: a.decidedAt ?? a.createdAt,
  });
}

export function expiredMessage(a: ApprovalRecord): SlackMessage {
  return approvalExpiredMessage({
    host: a.host,
    question: a.question,
    expiredAt: a.expiresAt,
    action: a.action,
  });
}

export function alreadyDecidedMessage(a: ApprovalRecord): SlackMessage {
  const verdict = a.status === 'denied' ? 'declined' : 'approved';
  const by = a.decidedBy === null ? 'someone' : whoText(a.decidedBy);
  const at = a.decidedAt === null ? '' : ` at ${slackDate(a.decidedAt)}`;
  const text = `Already decided: ${verdict} by ${by}${at}. Your click changed nothing.`;
  return message(text, [
    section(`ℹ *Already decided:* ${verdict} by ${by}${at}.`),
    context('Your click changed nothing.'),
  ]);
}

function whoText(actor: Actor): string {
  return actor.kind === 'slack' ? `<@${escapeMrkdwn(actor.userId)}>` : escapeMrkdwn(actorName(actor));
}

function plainDate(at: Date): string {
  return `at ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Rewrites the messages of questions that expired: the buttons go, and the message says when it expired. */
export async function markExpired(
  slack: Pick<SlackApp, 'chat'>,
  expired: readonly ApprovalRecord[],
  log: LogSink,
): Promise<number> {
  let updated = 0;
  for (const approval of expired) {
    const ref: SlackMessageRef | null = approval.slack;
    if (ref === null) continue;
    const msg = expiredMessage(approval);
    try {
      await slack.chat.update({ channel: ref.channel, ts: ref.ts, text: msg.text, ...blocksOf(msg) });
      updated += 1;
    } catch (error) {
      log.warn(
        `approval ${approval.id}: could not mark its message expired:`,
        error instanceof Error ? error.message : String(error),
      );
    }
  }
  return updated;
}
