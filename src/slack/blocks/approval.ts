// The restart question and what it becomes: asked (two buttons, for approvers), decided (who and when, no
// buttons) or expired (when, no buttons). The buttons carry the approval's id and nothing else; whether the
// clicker may answer is decided when the click arrives.
import type { SlackMessage } from '../../verbs/verb.ts';
import {
  actions,
  button,
  context,
  escapeMrkdwn,
  LIMITS,
  message,
  section,
  slackDate,
  truncate,
} from './kit.ts';

export const APPROVE_ACTION_ID = 'restart_approve';
export const DENY_ACTION_ID = 'restart_deny';
export const NEXT_WINDOW_ACTION_ID = 'restart_next_window';

/** The question text is the engine's; a long one is cut so the buttons always fit. */
const QUESTION_CHARS = 2000;

export interface ApprovalQuestion {
  readonly approvalId: string;
  readonly host: string;
  readonly question: string;
  readonly expiresAt: Date;
  /** The Slack user whose run asks. */
  readonly requestedBy?: string;
  /** Who may answer: mentioned, so Slack notifies them. */
  readonly approvers?: { readonly users: readonly string[]; readonly usergroup?: string | undefined };
  /** The host's maintenance window, "Mon-Fri 22:00-06:00, next opening …": offers "At the next window". */
  readonly nextWindow?: string | undefined;
}

/** Mentions that notify: each named approver, and the user group. */
export function approverMentions(approvers: ApprovalQuestion['approvers']): string {
  if (approvers === undefined) return '';
  const users = approvers.users.slice(0, 20).map((u) => `<@${escapeMrkdwn(u)}>`);
  if (approvers.usergroup !== undefined) users.push(`<!subteam^${escapeMrkdwn(approvers.usergroup)}>`);
  return users.join(' ');
}

export function approvalQuestionMessage(q: ApprovalQuestion): SlackMessage {
  const host = escapeMrkdwn(q.host);
  const by = q.requestedBy === undefined ? '' : `Asked for <@${escapeMrkdwn(q.requestedBy)}>'s run · `;
  const mentions = approverMentions(q.approvers);
  return message(mentions === '' ? q.question : `${q.question} ${mentions}`, [
    section(
      `*${escapeMrkdwn(truncate(q.question, QUESTION_CHARS))}*\n` +
        `The screen on ${host} goes dark for a few seconds while its display manager restarts.` +
        (mentions === '' ? '' : `\nApprovers: ${mentions}`),
    ),
    context(`${by}Only approvers can answer · expires ${slackDate(q.expiresAt)}`),
    actions(`approval:${truncate(q.approvalId, LIMITS.blockId - 'approval:'.length)}`, [
      button({
        text: 'Restart now',
        actionId: APPROVE_ACTION_ID,
        value: q.approvalId,
        style: 'primary',
        confirm: {
          title: `Restart ${truncate(q.host, 80)}?`,
          text: `The screen on ${q.host} goes dark for a few seconds while its display manager restarts.`,
          confirm: 'Restart now',
          deny: 'Not yet',
        },
      }),
      ...nextWindowButtons(q),
      button({ text: 'Not now', actionId: DENY_ACTION_ID, value: q.approvalId }),
    ]),
  ]);
}

/** "At the next window", for a host with a maintenance window; confirmed like "Restart now". */
export function nextWindowButtons(q: ApprovalQuestion): ReturnType<typeof button>[] {
  if (q.nextWindow === undefined) return [];
  return [
    button({
      text: 'At the next window',
      actionId: NEXT_WINDOW_ACTION_ID,
      value: q.approvalId,
      confirm: {
        title: `Restart ${truncate(q.host, 60)} later?`,
        text: truncate(
          `The display manager on ${q.host} restarts at its next maintenance window: ${q.nextWindow}.`,
          300,
        ),
        confirm: 'At the next window',
        deny: 'Not yet',
      },
    }),
  ];
}

export interface ApprovalDeferred {
  readonly host: string;
  readonly question: string;
  /** "Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo". */
  readonly nextWindow: string;
  /** The approver's Slack user ID. */
  readonly userId: string;
  readonly at: Date;
}

/** The question once an approver chose "At the next window": when it will happen and who said so. */
export function approvalDeferredMessage(d: ApprovalDeferred): SlackMessage {
  const who = `<@${escapeMrkdwn(d.userId)}>`;
  return message(`Restart of ${d.host} at the next window, ${d.nextWindow} — approved by <@${d.userId}>`, [
    section(
      `🕙 *Restart of ${escapeMrkdwn(d.host)} at the next window*, ${escapeMrkdwn(d.nextWindow)} — approved by ${who} at ${slackDate(d.at)}.`,
    ),
    context(
      `Asked: ${escapeMrkdwn(truncate(d.question, QUESTION_CHARS))} · \`/signage pending\` lists it; a newer deploy of ${escapeMrkdwn(d.host)} replaces it.`,
    ),
  ]);
}

export interface ApprovalDecided {
  readonly host: string;
  readonly question: string;
  readonly decision: 'approved' | 'denied';
  /** The approver's Slack user ID; empty when someone answered from elsewhere (see `by`). */
  readonly userId: string;
  /** Who answered, already escaped, when not a Slack user (the terminal). */
  readonly by?: string;
  readonly at: Date;
}

export function approvalDecidedMessage(d: ApprovalDecided): SlackMessage {
  const who = d.userId !== '' ? `<@${escapeMrkdwn(d.userId)}>` : (d.by ?? 'someone');
  const host = escapeMrkdwn(d.host);
  const verdict =
    d.decision === 'approved'
      ? `✅ *Restart of ${host} approved* by ${who} at ${slackDate(d.at)}.`
      : `✋ *Restart of ${host} declined* (not now) by ${who} at ${slackDate(d.at)}.`;
  const plainWho = d.userId !== '' ? `<@${d.userId}>` : (d.by ?? 'someone');
  return message(
    `Restart of ${d.host} ${d.decision === 'approved' ? 'approved' : 'declined'} by ${plainWho}`,
    [section(verdict), context(`Asked: ${escapeMrkdwn(truncate(d.question, QUESTION_CHARS))}`)],
  );
}

export interface ApprovalExpired {
  readonly host: string;
  readonly question: string;
  readonly expiredAt: Date;
}

export function approvalExpiredMessage(e: ApprovalExpired): SlackMessage {
  const host = escapeMrkdwn(e.host);
  return message(`The restart question for ${e.host} expired; nothing was restarted`, [
    section(
      `⌛ *Restart of ${host} not answered*: the question expired ${slackDate(e.expiredAt)}; nothing was restarted.`,
    ),
    context(
      `Asked: ${escapeMrkdwn(truncate(e.question, QUESTION_CHARS))} · \`/signage restart ${host}\` asks again.`,
    ),
  ]);
}
