// Where the bot may speak, as Slack decides it: in a channel it is a member of; in a public channel it has not
// joined only with the chat:write.public scope (the manifest asks for it); never in a private channel or a
// direct message it is not part of. Slack answers those with `channel_not_found` (private: to the bot, the
// channel does not exist) and `not_in_channel` (public, without chat:write.public).

export interface FakeChannel {
  readonly private: boolean;
  botMember: boolean;
}

export type ChannelRefusal = 'channel_not_found' | 'not_in_channel' | undefined;

export class Channels {
  readonly #known = new Map<string, FakeChannel>();
  readonly #chatWritePublic: boolean;

  constructor(chatWritePublic: boolean) {
    this.#chatWritePublic = chatWritePublic;
  }

  /**
   * A channel not declared is taken from its ID as Slack shapes them: `C…` public with the bot in it (tests
   * that do not care need not declare theirs), `G…` private and `D…` a direct message, without the bot;
   * `U…` the bot's direct message with that user.
   */
  get(id: string): FakeChannel {
    let channel = this.#known.get(id);
    if (channel === undefined) {
      const isPublic = id.startsWith('C');
      // A user ID as the channel is the bot's own direct message with that user (its Messages tab).
      const appDm = id.startsWith('U') || id.startsWith('W');
      channel = { private: !isPublic, botMember: isPublic || appDm };
      this.#known.set(id, channel);
    }
    return channel;
  }

  declare(id: string, channel: FakeChannel): void {
    this.#known.set(id, { ...channel });
  }

  /** Whether the bot may post (or update, or post ephemerally) in `id`. */
  refusal(id: string, method: string): ChannelRefusal {
    const channel = this.get(id);
    if (channel.botMember) return undefined;
    if (channel.private) return 'channel_not_found';
    if (this.#chatWritePublic && method !== 'chat.postEphemeral') return undefined;
    return 'not_in_channel';
  }
}
