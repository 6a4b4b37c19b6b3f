// A message updater's port onto the Web API: chat.postMessage once, chat.update after. The client given here
// rejects rate-limited calls instead of sleeping inside the library, so the updater sees the 429 and waits
// with the newest state in hand.
import { webApi } from '@slack/bolt';
import type { SlackMessageRef } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { Block } from './blocks/kit.ts';
import { type MessagePort, RateLimitedError } from './message-updater.ts';

/** The blocks of a message as the Web API's arguments take them (none: the fallback text is the message). */
export function blocksOf(message: SlackMessage): { blocks: Block[] } | Record<never, never> {
  return message.blocks === undefined ? {} : { blocks: message.blocks as unknown as Block[] };
}

export interface MessagePortOptions {
  /** Posts in this thread instead of the channel. */
  readonly threadTs?: string | undefined;
}

type ChatClient = Pick<webApi.WebClient, 'chat'>;

export function slackMessagePort(
  client: ChatClient,
  channel: string,
  options: MessagePortOptions = {},
): MessagePort {
  return {
    async post(message) {
      const result = await rateLimited('chat.postMessage', () =>
        client.chat.postMessage({
          channel,
          text: message.text,
          ...blocksOf(message),
          ...(options.threadTs === undefined ? {} : { thread_ts: options.threadTs }),
        }),
      );
      if (result.ts === undefined) throw new Error(`chat.postMessage in ${channel} returned no ts`);
      const ref: SlackMessageRef = { channel: result.channel ?? channel, ts: result.ts };
      return ref;
    },
    async update(ref, message) {
      await rateLimited('chat.update', () =>
        client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, ...blocksOf(message) }),
      );
    },
  };
}

async function rateLimited<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof webApi.WebAPIRateLimitedError || isRateLimited(error)) {
      throw new RateLimitedError(error.retryAfter * 1000, method);
    }
    throw error;
  }
}

function isRateLimited(error: unknown): error is { retryAfter: number } {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === webApi.ErrorCode.RateLimitedError &&
    typeof (error as { retryAfter?: unknown }).retryAfter === 'number'
  );
}
