// The payloads Slack sends a bot, in the shapes Bolt reads: Socket Mode envelopes for slash commands, button
// clicks and app mentions, and the form body of a slash command in HTTP mode.
import type { Json } from './records.ts';

export interface Workspace {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly appId: string;
  readonly botUserId: string;
}

export interface SlashCommandInput {
  readonly user: string;
  readonly channel: string;
  readonly text: string;
  readonly command?: string;
  readonly responseUrl: string;
  readonly triggerId: string;
}

export function slashCommandPayload(ws: Workspace, c: SlashCommandInput): Json {
  return {
    team_id: ws.teamId,
    team_domain: ws.teamDomain,
    channel_id: c.channel,
    channel_name: c.channel.toLowerCase(),
    user_id: c.user,
    user_name: c.user.toLowerCase(),
    command: c.command ?? '/signage',
    text: c.text,
    api_app_id: ws.appId,
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId,
  };
}

/** The form body Slack posts to `/slack/events` for a slash command in HTTP mode. */
export function slashCommandForm(ws: Workspace, c: SlashCommandInput): string {
  const payload = slashCommandPayload(ws, c);
  return new URLSearchParams(
    Object.entries(payload).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
}

export interface ButtonClickInput {
  readonly user: string;
  readonly channel: string;
  readonly message: {
    readonly ts: string;
    readonly text: string;
    readonly blocks: unknown[] | undefined;
    readonly user: string;
  };
  readonly blockId: string;
  readonly button: Json;
  /** The value sent; the button's own unless a test forges another. */
  readonly value: string | undefined;
  readonly responseUrl: string;
  readonly triggerId: string;
  readonly actionTs: string;
}

export function blockActionsPayload(ws: Workspace, b: ButtonClickInput): Json {
  return {
    type: 'block_actions',
    user: { id: b.user, username: b.user.toLowerCase(), name: b.user.toLowerCase(), team_id: ws.teamId },
    api_app_id: ws.appId,
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: b.message.ts, channel_id: b.channel, is_ephemeral: false },
    trigger_id: b.triggerId,
    team: { id: ws.teamId, domain: ws.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: b.channel, name: b.channel.toLowerCase() },
    message: {
      type: 'message',
      user: b.message.user,
      ts: b.message.ts,
      text: b.message.text,
      ...(b.message.blocks === undefined ? {} : { blocks: b.message.blocks }),
    },
    state: { values: {} },
    response_url: b.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: b.button.action_id,
        block_id: b.blockId,
        text: b.button.text,
        ...(b.value === undefined ? {} : { value: b.value }),
        ...(b.button.style === undefined ? {} : { style: b.button.style }),
        action_ts: b.actionTs,
      },
    ],
  };
}

export interface MentionInput {
  readonly user: string;
  readonly channel: string;
  readonly text: string;
  readonly ts: string;
  readonly threadTs: string | undefined;
  readonly eventId: string;
}

export function appMentionPayload(ws: Workspace, m: MentionInput): Json {
  return {
    token: 'verification-token-unused',
    team_id: ws.teamId,
    api_app_id: ws.appId,
    event: {
      type: 'app_mention',
      user: m.user,
      text: m.text,
      ts: m.ts,
      channel: m.channel,
      event_ts: m.ts,
      ...(m.threadTs === undefined ? {} : { thread_ts: m.threadTs }),
    },
    type: 'event_callback',
    event_id: m.eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: ws.teamId,
        user_id: ws.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

export function appHomeOpenedPayload(
  ws: Workspace,
  h: { user: string; ts: string; eventId: string; viewId: string | undefined },
): Json {
  return {
    token: 'verification-token-unused',
    team_id: ws.teamId,
    api_app_id: ws.appId,
    event: {
      type: 'app_home_opened',
      user: h.user,
      channel: `D0${h.user.slice(1)}`,
      tab: 'home',
      event_ts: h.ts,
      // Slack sends the view the user has, once one was published.
      ...(h.viewId === undefined ? {} : { view: { id: h.viewId, type: 'home' } }),
    },
    type: 'event_callback',
    event_id: h.eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: ws.teamId,
        user_id: ws.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

/** A click in the Home tab: the container is the view, there is no channel and no response URL. */
export function homeBlockActionsPayload(
  ws: Workspace,
  b: {
    user: string;
    viewId: string;
    blocks: unknown[];
    blockId: string;
    button: Json;
    triggerId: string;
    actionTs: string;
  },
): Json {
  return {
    type: 'block_actions',
    user: { id: b.user, username: b.user.toLowerCase(), name: b.user.toLowerCase(), team_id: ws.teamId },
    api_app_id: ws.appId,
    token: 'verification-token-unused',
    container: { type: 'view', view_id: b.viewId },
    trigger_id: b.triggerId,
    team: { id: ws.teamId, domain: ws.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view: {
      id: b.viewId,
      team_id: ws.teamId,
      type: 'home',
      blocks: b.blocks,
      private_metadata: '',
      callback_id: '',
      state: { values: {} },
      hash: 'fakehash',
      app_id: ws.appId,
      bot_id: 'B0FAKE',
    },
    actions: [
      {
        type: 'button',
        action_id: b.button.action_id,
        block_id: b.blockId,
        text: b.button.text,
        ...(b.button.value === undefined ? {} : { value: b.button.value }),
        action_ts: b.actionTs,
      },
    ],
  };
}

export function envelope(envelopeId: string, type: string, payload: Json): Json {
  return {
    envelope_id: envelopeId,
    type,
    payload,
    accepts_response_payload: type !== 'events_api',
    ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
  };
}
