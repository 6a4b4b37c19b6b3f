// The restart question and what it becomes: asked (two buttons, for approvers), decided (who and when, no
// buttons) or expired (when, no buttons). The buttons carry the approval's id and nothing else; whether the
// clicker may answer is decided when the click arrives.
import type { DiffOutcome } from '../../core/closure-diff.ts';
import type { PlanSummary } from '../../core/events.ts';
import type { SlackMessage } from '../../verbs/verb.ts';
import { diffQuestionBlocks } from './closure-diff.ts';
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
  /** What approving does: restart the display manager (the default) or reboot the host. */
  readonly action?: 'restart' | 'reboot';
  /** Who may answer: mentioned, so Slack notifies them. */
  readonly approvers?: { readonly users: readonly string[]; readonly usergroup?: string | undefined };
  /** What the deploy changed on the host, and where its paths came from, when the run worked it out. */
  readonly changes?: { readonly diff: DiffOutcome; readonly plan?: PlanSummary | undefined };
  /** The two-person rule, where it applies, and the approvals given so far (Slack user IDs or names). */
  readonly rule?: { readonly required: number; readonly requesterMayApprove: boolean };
  readonly approvedBy?: readonly string[];
  /** The host's maintenance window, "Mon-Fri 22:00-06:00, next opening …": offers "At the next window". */
  readonly nextWindow?: string | undefined;
}

/** "1 of 2 approvals: <@U1>", and whether the requester may approve, for a question under the rule. */
export function approvalTally(q: Pick<ApprovalQuestion, 'rule' | 'approvedBy'>): string | undefined {
  if (q.rule === undefined) return undefined;
  const given = q.approvedBy ?? [];
  const who = given.map((u) => (/^[UW][A-Z0-9]+$/.test(u) ? `<@${u}>` : escapeMrkdwn(u))).join(', ');
  const tally = `${given.length} of ${q.rule.required} approval${q.rule.required === 1 ? '' : 's'}${who === '' ? '' : `: ${who}`}`;
  return q.rule.requesterMayApprove ? tally : `${tally} · the requester cannot approve`;
}

/** Mentions that notify: each named approver, and the user group. */
export function approverMentions(approvers: ApprovalQuestion['approvers']): string {
  if (approvers === undefined) return '';
  const users = approvers.users.slice(0, 20).map((u) => `<@${escapeMrkdwn(u)}>`);
  if (approvers.usergroup !== undefined) users.push(`<!subteam^${escapeMrkdwn(approvers.usergroup)}>`);
  return users.join(' ');
}

/** What each kind of question warns of, and its button's words. */
const ACTION_WORDS = {
  restart: {
    effect: (host: string) =>
      `The screen on ${host} goes dark for a few seconds while its display manager restarts.`,
    button: 'Restart now',
    title: 'Restart',
    done: 'restarted',
  },
  reboot: {
    effect: (host: string) =>
      `The screen on ${host} goes dark while the host reboots, until it is back (a minute or two); the bot then checks it and undoes a new system that fails.`,
    button: 'Reboot now',
    title: 'Reboot',
    done: 'rebooted',
  },
} as const;

export function approvalQuestionMessage(q: ApprovalQuestion): SlackMessage {
  const host = escapeMrkdwn(q.host);
  const words = ACTION_WORDS[q.action ?? 'restart'];
  const by = q.requestedBy === undefined ? '' : `Asked for <@${escapeMrkdwn(q.requestedBy)}>'s run · `;
  const mentions = approverMentions(q.approvers);
  return message(mentions === '' ? q.question : `${q.question} ${mentions}`, [
    section(
      `*${escapeMrkdwn(truncate(q.question, QUESTION_CHARS))}*\n` +
        words.effect(host) +
        (mentions === '' ? '' : `\nApprovers: ${mentions}`),
    ),
    ...(q.changes === undefined ? [] : diffQuestionBlocks(q.changes.diff, q.changes.plan)),
    ...(approvalTally(q) === undefined ? [] : [section(`👥 ${approvalTally(q)}`)]),
    context(`${by}Only approvers can answer · expires ${slackDate(q.expiresAt)}`),
    actions(`approval:${truncate(q.approvalId, LIMITS.blockId - 'approval:'.length)}`, [
      button({
        text: words.button,
        actionId: APPROVE_ACTION_ID,
        value: q.approvalId,
        style: 'primary',
        confirm: {
          title: `${words.title} ${truncate(q.host, 80)}?`,
          text: words.effect(q.host),
          confirm: words.button,
          deny: 'Not yet',
        },
      }),
      ...nextWindowButtons(q),
      button({ text: 'Not now', actionId: DENY_ACTION_ID, value: q.approvalId }),
    ]),
  ]);
}

/** "At the next window", for a host with a maintenance window; confirmed like "Restart now" ("Reboot now"). */
export function nextWindowButtons(q: ApprovalQuestion): ReturnType<typeof button>[] {
  if (q.nextWindow === undefined) return [];
  const reboot = q.action === 'reboot';
  return [
    button({
      text: 'At the next window',
      actionId: NEXT_WINDOW_ACTION_ID,
      value: q.approvalId,
      confirm: {
        title: `${reboot ? 'Reboot' : 'Restart'} ${truncate(q.host, 60)} later?`,
        text: truncate(
          reboot
            ? `${q.host} reboots at its next maintenance window: ${q.nextWindow}. The bot then waits for it and checks it.`
            : `The display manager on ${q.host} restarts at its next maintenance window: ${q.nextWindow}.`,
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
  /** What was deferred: a restart (the default) or a reboot. */
  readonly action?: 'restart' | 'reboot';
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
  const title = ACTION_WORDS[d.action ?? 'restart'].title;
  return message(`${title} of ${d.host} at the next window, ${d.nextWindow} — approved by <@${d.userId}>`, [
    section(
      `🕙 *${title} of ${escapeMrkdwn(d.host)} at the next window*, ${escapeMrkdwn(d.nextWindow)} — approved by ${who} at ${slackDate(d.at)}.`,
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
  readonly action?: 'restart' | 'reboot';
  /** The approver's Slack user ID; empty when someone answered from elsewhere (see `by`). */
  readonly userId: string;
  /** Who answered, already escaped, when not a Slack user (the terminal). */
  readonly by?: string;
  readonly at: Date;
}

export function approvalDecidedMessage(d: ApprovalDecided): SlackMessage {
  const who = d.userId !== '' ? `<@${escapeMrkdwn(d.userId)}>` : (d.by ?? 'someone');
  const host = escapeMrkdwn(d.host);
  const what = ACTION_WORDS[d.action ?? 'restart'].title;
  const verdict =
    d.decision === 'approved'
      ? `✅ *${what} of ${host} approved* by ${who} at ${slackDate(d.at)}.`
      : `✋ *${what} of ${host} declined* (not now) by ${who} at ${slackDate(d.at)}.`;
  const plainWho = d.userId !== '' ? `<@${d.userId}>` : (d.by ?? 'someone');
  return message(
    `${what} of ${d.host} ${d.decision === 'approved' ? 'approved' : 'declined'} by ${plainWho}`,
    [section(verdict), context(`Asked: ${escapeMrkdwn(truncate(d.question, QUESTION_CHARS))}`)],
  );
}

export interface ApprovalExpired {
  readonly host: string;
  readonly question: string;
  readonly expiredAt: Date;
  readonly action?: 'restart' | 'reboot';
}

export function approvalExpiredMessage(e: ApprovalExpired): SlackMessage {
  const host = escapeMrkdwn(e.host);
  const action = e.action ?? 'restart';
  const { title, done } = ACTION_WORDS[action];
  return message(`The ${action} question for ${e.host} expired; nothing was ${done}`, [
    section(
      `⌛ *${title} of ${host} not answered*: the question expired ${slackDate(e.expiredAt)}; nothing was ${done}.`,
    ),
    context(
      `Asked: ${escapeMrkdwn(truncate(e.question, QUESTION_CHARS))} · \`/signage ${action} ${host}\` asks again.`,
    ),
  ]);
}
