// `@signage …` in a channel: the channel is checked against `slack.channels` first (elsewhere the mention is
// refused privately, whatever it says), then the text is checked, read as a verb and its arguments
// (parseMention), and answered in the mention's thread; what the bot cannot read gets a short reply saying
// what it can.
import type { SlackMessage } from '../verbs/verb.ts';
import { type AccessDecision, checkChannel } from './access.ts';
import type { SlackApp } from './app.ts';
import { errorMessage } from './blocks/error.ts';
import { context, message, section } from './blocks/kit.ts';
import { requestContext, type SlackRequestContext } from './context.ts';
import type { MentionArgs } from './listeners.ts';
import { onMention, userFacingDetail } from './listeners.ts';
import { parseMention } from './mention-parse.ts';
import { checkRequestText } from './text-input.ts';

export interface MentionRequest {
  readonly verb: string;
  readonly tokens: readonly string[];
}

export type MentionHandler = (request: MentionRequest, ctx: SlackRequestContext) => Promise<void>;

export interface MentionOptions {
  readonly onMention: MentionHandler;
  /** Verbs a mention is read as (default: status, hosts, help). */
  readonly verbs?: readonly string[];
  /** `slack.channels`: where the bot answers at all (empty or absent: anywhere). */
  readonly channels?: readonly string[];
}

export function registerMentions(app: SlackApp, options: MentionOptions): void {
  const contextOf = ({ event, client }: MentionArgs): SlackRequestContext | undefined => {
    if (event.user === undefined) return undefined;
    return requestContext({
      app,
      client,
      userId: event.user,
      channelId: event.channel,
      threadTs: event.thread_ts ?? event.ts,
    });
  };
  onMention(app, {
    async run(args) {
      const { event, context } = args;
      // Other bots (and this one) mentioning the bot are not requests.
      if (event.bot_id !== undefined || event.user === undefined || event.user === context.botUserId) return;
      const ctx = contextOf(args);
      if (ctx === undefined) return;
      const where = checkChannel({ channels: options.channels ?? [] }, event.channel);
      if (!where.allowed) {
        app.logger.info(`mention refused for ${event.user} in ${event.channel}: not one of slack.channels`);
        await ctx.ephemeral(refusal(where));
        return;
      }
      const checked = checkRequestText(event.text ?? '');
      if (!checked.ok) {
        app.logger.info(`mention refused for ${event.user} in ${event.channel}: ${checked.reason}`);
        await ctx.ephemeral(errorMessage({ summary: 'The request was not read.', detail: checked.reason }));
        return;
      }
      const parsed = parseMention(checked.text, { botUserId: context.botUserId, verbs: options.verbs });
      if (parsed.kind === 'reply') {
        await ctx.inChannel(parsed.message);
        return;
      }
      await options.onMention({ verb: parsed.verb, tokens: parsed.tokens }, ctx);
    },
    async onError(error, args) {
      app.logger.error(`mention by ${args.event.user ?? 'unknown'} failed unexpectedly:`, error);
      const ctx = contextOf(args);
      await ctx?.ephemeral(
        errorMessage({
          summary: 'Answering the mention failed unexpectedly.',
          detail: userFacingDetail(error),
          next: "The bot's log has the details.",
        }),
      );
    },
  });
}

/** The reason is mrkdwn written by access.ts (it links the channels). */
function refusal(decision: Extract<AccessDecision, { allowed: false }>): SlackMessage {
  return message(`The mention was not answered. ${decision.reason}`, [
    section(`🔒 *The mention was not answered.* ${decision.reason}`),
    context(decision.next),
  ]);
}
