// "At the next window" clicked by an approver (the clicker was already checked against the approvers): the
// engine approves the restart (or reboot) for the host's next maintenance window and records it as pending work; the
// question's message then says when it will happen and who said so. Every other outcome is told privately,
// as for the other answers.
import { EngineError, NotApprover } from '../engine/errors.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { ApprovalClick } from './actions.ts';
import { approvalDeferredMessage } from './blocks/approval.ts';
import { errorMessage } from './blocks/error.ts';
import type { SlackRequestContext } from './context.ts';
import { alreadyDecidedMessage, type DecisionDeps, decidedMessage, expiredMessage } from './decisions.ts';

export async function atNextWindow(
  deps: DecisionDeps,
  click: ApprovalClick,
  ctx: SlackRequestContext,
): Promise<SlackMessage | undefined> {
  let result: Awaited<ReturnType<DecisionDeps['engine']['restartAtNextWindow']>>;
  try {
    result = await deps.engine.restartAtNextWindow(click.approvalId, {
      actor: ctx.actor,
      onEvent: deps.runMessages.route,
      signal: ctx.signal,
    });
  } catch (error) {
    if (!(error instanceof NotApprover) && !(error instanceof EngineError)) throw error;
    await ctx.ephemeral(
      errorMessage({
        summary: 'You cannot answer this question that way.',
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
        `approval ${a.id}: ${a.action} of ${a.host} at the next window (${result.nextWindow}) by ${click.userId}`,
      );
      return approvalDeferredMessage({
        host: a.host,
        action: a.action,
        question: a.question,
        nextWindow: result.nextWindow ?? 'its next maintenance window',
        userId: click.userId,
        at: a.decidedAt ?? a.createdAt,
      });
    }
    case 'already-decided':
      await ctx.ephemeral(alreadyDecidedMessage(result.approval));
      return decidedMessage(result.approval);
    case 'expired':
      await ctx.ephemeral(
        errorMessage({
          summary: `This question expired; nothing was ${result.approval.action === 'reboot' ? 'rebooted' : 'restarted'} or scheduled.`,
          next: `Run \`/signage ${result.approval.action} ${result.approval.host}\` to ask again.`,
        }),
      );
      return expiredMessage(result.approval);
    case 'unknown':
      await ctx.ephemeral(
        errorMessage({
          summary: 'The bot has no record of this question.',
          next: 'Run the deploy or restart again to get a fresh question.',
        }),
      );
      return undefined;
  }
}
