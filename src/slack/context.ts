// What a handler gets for one request, whatever kind it was: who asked and where, and ways to answer —
// privately (the response URL while it lasts, then chat.postEphemeral), in the channel (or the mention's
// thread), or with a message updated in place as work goes on.
import type { RespondFn, webApi } from '@slack/bolt';
import type { SlackMessageRef } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { blocksOf } from './message-port.ts';
import { createMessageUpdater, type MessageUpdater, type MessageUpdaterOptions } from './message-updater.ts';

export interface SlackActor {
  readonly kind: 'slack';
  readonly userId: string;
  readonly channelId: string;
}

export interface SlackRequestContext {
  readonly actor: SlackActor;
  readonly userId: string;
  readonly channelId: string;
  /** The thread answers go in (a mention's); undefined for the channel itself. */
  readonly threadTs: string | undefined;
  /** Only the requester sees it. */
  ephemeral(message: SlackMessage): Promise<void>;
  /** Everyone in the channel sees it (in the mention's thread, for a mention). */
  inChannel(message: SlackMessage): Promise<SlackMessageRef | undefined>;
  /** A channel message (thread, for a mention) posted with its first state and updated after. */
  progress(options?: Omit<MessageUpdaterOptions, 'clock'>): MessageUpdater;
  /** Aborted when the bot stops. */
  readonly signal: AbortSignal;
  readonly client: webApi.WebClient;
}

/** Slack lets a response URL be used five times (within 30 minutes). */
export const RESPONSE_URL_USES = 5;

export interface ContextSource {
  readonly app: Pick<SlackApp, 'messagePort' | 'signal' | 'logger' | 'chat'>;
  readonly client: webApi.WebClient;
  readonly userId: string;
  readonly channelId: string;
  /** The request's response URL, when it has one (commands and buttons; not mentions). */
  readonly respond?: RespondFn | undefined;
  /** Answers go in this thread (a mention's). */
  readonly threadTs?: string | undefined;
}

export function requestContext(source: ContextSource): SlackRequestContext {
  const { app, client, userId, channelId, threadTs } = source;
  let uses = 0;
  const thread = threadTs === undefined ? {} : { thread_ts: threadTs };

  async function postEphemeral(msg: SlackMessage): Promise<void> {
    await client.chat.postEphemeral({
      channel: channelId,
      user: userId,
      text: msg.text,
      ...blocksOf(msg),
      ...thread,
    });
  }

  return {
    actor: { kind: 'slack', userId, channelId },
    userId,
    channelId,
    threadTs,
    async ephemeral(msg) {
      if (source.respond !== undefined && uses < RESPONSE_URL_USES) {
        uses += 1;
        try {
          await source.respond({
            response_type: 'ephemeral',
            replace_original: false,
            text: msg.text,
            ...blocksOf(msg),
          });
          return;
        } catch (error) {
          // Expired or used up: the Web API reaches the user as well.
          uses = RESPONSE_URL_USES;
          app.logger.debug(
            'slack: response URL refused, answering with chat.postEphemeral:',
            errorText(error),
          );
        }
      }
      await postEphemeral(msg);
    },
    async inChannel(msg) {
      const result = await app.chat.postMessage({
        channel: channelId,
        text: msg.text,
        ...blocksOf(msg),
        ...thread,
      });
      return result.ts === undefined ? undefined : { channel: result.channel ?? channelId, ts: result.ts };
    },
    progress(options = {}) {
      return createMessageUpdater(app.messagePort(channelId, { threadTs }), {
        onError: (error) => app.logger.warn('slack: a progress message update failed:', errorText(error)),
        ...options,
      });
    },
    signal: app.signal,
    client,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
