// Where the bot cannot speak: what the requester is told (privately) when Slack refuses the bot's messages
// in the channel a request came from, before anything ran or while a run was going; and the first message
// of a run, posted before anything runs so that such a refusal is found first.
import type { SlackMessage } from '../../verbs/verb.ts';
import { errorMessage } from './error.ts';
import { context, escapeMrkdwn, message, section } from './kit.ts';

/** Slack's answers that mean the bot may not post in the channel. */
export const CANNOT_SPEAK: ReadonlySet<string> = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'ekm_access_denied',
]);

/** Slack's error code of a failed Web API call (`ok: false`), if it was one. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

function fix(code: string | undefined, channelId: string): string {
  if (channelId.startsWith('D')) {
    return 'The bot cannot post in a direct message between people. Send the command in a channel the bot is in, or in your direct messages with the bot (Apps → signage).';
  }
  if (code === 'is_archived') return 'The channel is archived; use another channel.';
  return `Invite the bot to this channel (\`/invite @signage\`, or the channel's details → Integrations → Add apps), then send the command again.`;
}

/** The request was not run: the bot cannot post in its channel. */
export function cannotSpeakHere(typed: string, channelId: string, error: unknown): SlackMessage {
  const code = slackErrorCode(error);
  return errorMessage({
    summary: `\`${typed}\` was not run: the bot cannot post in this conversation, so nobody would see its progress or its restart questions.`,
    detail: code === undefined ? String((error as Error)?.message ?? error) : `Slack answered ${code}`,
    next: fix(code, channelId),
  });
}

/** Slack refused the run's messages after it started: the channel's picture is incomplete, whatever the end. */
export function runNotShown(
  typed: string,
  channelId: string,
  status: string | undefined,
  error: unknown,
): SlackMessage {
  const code = slackErrorCode(error);
  return errorMessage({
    summary:
      `\`${typed}\`: Slack refused the bot's messages in this conversation while the run was going, so its progress` +
      ` and any restart question may not be shown. The run ended ${status ?? 'without a result'}; do not take it as done until you have checked.`,
    detail: code === undefined ? String((error as Error)?.message ?? error) : `Slack answered ${code}`,
    next: `Check the screens with \`/signage status\` from a channel the bot is in. ${fix(code, channelId)}`,
  });
}

/** The run's message before the run starts: proof the bot can speak here, replaced by the run's progress. */
export function startingMessage(typed: string, requester: string): SlackMessage {
  const text = `${typed} by <@${requester}>: starting…`;
  return message(text, [
    section(`⏳ \`${escapeMrkdwn(typed)}\` by <@${escapeMrkdwn(requester)}>: starting…`),
    context('This message shows the run as it goes.'),
  ]);
}
