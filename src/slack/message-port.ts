// A message updater's port onto the Web API: chat.postMessage once, chat.update after, each in its turn of the
// app-wide budget. The client given here rejects rate-limited calls instead of sleeping inside the library,
// so the budget and the updater see the 429 and wait with the newest state in hand.
import type { webApi } from '@slack/bolt';
import type { SlackMessageRef } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { Block } from './blocks/kit.ts';
import type { SlackBudget } from './budget.ts';
import { rateLimitedCall } from './chat.ts';
import type { MessagePort } from './message-updater.ts';

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
  budget?: SlackBudget,
): MessagePort {
  return {
    async post(message) {
      const result = await rateLimitedCall(
        'chat.postMessage',
        () =>
          client.chat.postMessage({
            channel,
            text: message.text,
            ...blocksOf(message),
            ...(options.threadTs === undefined ? {} : { thread_ts: options.threadTs }),
          }),
        budget,
        channel,
      );
      if (result.ts === undefined) throw new Error(`chat.postMessage in ${channel} returned no ts`);
      const ref: SlackMessageRef = { channel: result.channel ?? channel, ts: result.ts };
      return ref;
    },
    async update(ref, message) {
      await rateLimitedCall(
        'chat.update',
        () =>
          client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, ...blocksOf(message) }),
        budget,
        ref.channel,
      );
    },
    ...(budget === undefined
      ? {}
      : {
          turn: (kind: 'post' | 'update', urgent: () => boolean) =>
            budget.turn(kind === 'post' ? 'chat.postMessage' : 'chat.update', channel, urgent),
        }),
  };
}
