// A restart question about to expire unanswered is said again in its run's thread, mentioning the approvers,
// a configurable time before it expires: a question seen too late restarts nothing. Each question is warned
// about once per process (a restart of the bot may warn once more, which is better than never).
import type { StateStore } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import { type ApprovalQuestion, approverMentions } from './blocks/approval.ts';
import { context, escapeMrkdwn, message, section, slackDate } from './blocks/kit.ts';
import type { RunMessages } from './run-messages.ts';

export interface ExpiryWarningOptions {
  readonly store: Pick<StateStore, 'pendingApprovals'>;
  readonly runMessages: Pick<RunMessages, 'reply'>;
  readonly approvers: ApprovalQuestion['approvers'];
  /** How long before expiry the warning goes out; 0: never. */
  readonly leadMs: number;
  readonly now: () => Date;
}

export function expiryWarningMessage(host: string, expiresAt: Date, mentions: string): SlackMessage {
  const text = `The restart question for ${host} expires soon${mentions === '' ? '' : `: ${mentions}`}`;
  return message(text, [
    section(
      `⏳ *The restart question for ${escapeMrkdwn(host)} expires ${slackDate(expiresAt)}* and nothing will be restarted unless an approver answers.` +
        (mentions === '' ? '' : `\n${mentions}`),
    ),
    context('The question is above in this thread.'),
  ]);
}

/** Checks for questions due a warning and posts them; returns how many were posted. */
export function createExpiryWarnings(options: ExpiryWarningOptions): () => Promise<number> {
  const warned = new Set<string>();
  const mentions = approverMentions(options.approvers);
  return async () => {
    if (options.leadMs <= 0) return 0;
    const now = options.now().getTime();
    let posted = 0;
    for (const approval of options.store.pendingApprovals()) {
      const left = approval.expiresAt.getTime() - now;
      if (left <= 0 || left > options.leadMs || warned.has(approval.id)) continue;
      warned.add(approval.id);
      if (
        await options.runMessages.reply(
          approval.runId,
          expiryWarningMessage(approval.host, approval.expiresAt, mentions),
        )
      )
        posted += 1;
    }
    return posted;
  };
}
