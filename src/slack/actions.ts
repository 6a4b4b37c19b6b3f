// The restart question's buttons. A click is acknowledged, its approval id checked for shape, the clicker
// checked against the approvers (refused privately otherwise, the question left as it is), and the decision
// handed on; the message the handler returns replaces the question (chat.update), which removes the buttons.
import { z } from 'zod';
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { type ApproverDecision, type ApproverPolicy, refusalMessage } from './approvers.ts';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, NEXT_WINDOW_ACTION_ID } from './blocks/approval.ts';
import { errorMessage } from './blocks/error.ts';
import { requestContext, type SlackRequestContext } from './context.ts';
import { type ButtonArgs, onButton, userFacingDetail } from './listeners.ts';
import { blocksOf } from './message-port.ts';

export interface ApprovalClick {
  readonly approvalId: string;
  /** `next-window`: approve for the host's next maintenance window (src/slack/next-window.ts). */
  readonly decision: 'approve' | 'deny' | 'next-window';
  readonly userId: string;
  readonly channelId: string;
  /** The question's message. */
  readonly messageTs: string | undefined;
}

/** Decides; the message returned replaces the question, undefined leaves it. */
export type DecisionHandler = (
  click: ApprovalClick,
  ctx: SlackRequestContext,
) => Promise<SlackMessage | undefined>;

export interface ApprovalActionOptions {
  readonly isApprover: (userId: string) => Promise<ApproverDecision>;
  /** `slack.approvers`: a refused clicker is told whom to ask. */
  readonly approvers?: ApproverPolicy;
  readonly onDecision: DecisionHandler;
}

/** Approval ids are short and plain; anything else did not come from one of the bot's questions. */
export const approvalIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/);

export function registerApprovalActions(app: SlackApp, options: ApprovalActionOptions): void {
  const listener = (decision: ApprovalClick['decision']) => ({
    async run(args: ButtonArgs) {
      const ctx = contextOf(app, args);
      if (ctx === undefined) return;
      const id = approvalIdSchema.safeParse(args.action.value);
      if (!id.success) {
        app.logger.warn(`approval click by ${ctx.userId} with a malformed approval id; ignored`);
        await ctx.ephemeral(
          errorMessage({
            summary: 'This button does not belong to a question the bot asked; nothing was done.',
            next: 'Run the deploy or restart again to get a fresh question.',
          }),
        );
        return;
      }
      const allowed = await options.isApprover(ctx.userId);
      if (!allowed.allowed) {
        app.logger.info(
          `approval ${id.data}: ${decision} by ${ctx.userId} refused (${allowed.reason}${allowed.detail === undefined ? '' : `: ${allowed.detail}`})`,
        );
        await ctx.ephemeral(refusalMessage(allowed, options.approvers));
        return;
      }
      const messageTs = args.body.container?.message_ts ?? args.body.message?.ts;
      const click: ApprovalClick = {
        approvalId: id.data,
        decision,
        userId: ctx.userId,
        channelId: ctx.channelId,
        messageTs,
      };
      const replacement = await options.onDecision(click, ctx);
      if (replacement !== undefined && messageTs !== undefined) {
        // The clicker waits to see the answer: ahead of progress updates.
        await app.chat.update(
          { channel: ctx.channelId, ts: messageTs, text: replacement.text, ...blocksOf(replacement) },
          true,
        );
      }
    },
    async onError(error: unknown, args: ButtonArgs) {
      app.logger.error(`approval click (${decision}) by ${args.body.user.id} failed unexpectedly:`, error);
      await contextOf(app, args)?.ephemeral(
        errorMessage({
          summary: 'Your answer could not be recorded.',
          detail: userFacingDetail(error),
          next: "Try the button again; the bot's log has the details.",
        }),
      );
    },
  });
  onButton(app, APPROVE_ACTION_ID, listener('approve'));
  onButton(app, DENY_ACTION_ID, listener('deny'));
  onButton(app, NEXT_WINDOW_ACTION_ID, listener('next-window'));
}

function contextOf(app: SlackApp, args: ButtonArgs): SlackRequestContext | undefined {
  const channelId = args.body.channel?.id ?? args.body.container?.channel_id;
  if (channelId === undefined) return undefined;
  return requestContext({
    app,
    client: args.client,
    userId: args.body.user.id,
    channelId,
    respond: args.respond,
  });
}
