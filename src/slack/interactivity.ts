// What no listener handles still gets an answer. A click on a button the bot does not know (a message from an
// older version, another app's leftovers) is acknowledged at once and the clicker told privately that nothing
// was done; other interactive payloads the bot has no use for are acknowledged so Slack shows no error. And
// an error that escapes every listener reaches the person who asked, in words, through Bolt's global error
// handler, instead of only the log.
import type { AnyMiddlewareArgs } from '@slack/bolt';
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { errorMessage } from './blocks/error.ts';
import { blocksOf } from './message-port.ts';
import { redact } from './redact.ts';

type Body = Record<string, unknown>;

/** Interactive payloads the bot never asks for; acknowledged so they do not time out. */
const IGNORED_TYPES: ReadonlySet<string> = new Set([
  'shortcut',
  'message_action',
  'view_submission',
  'view_closed',
  'block_suggestion',
]);

export function unknownActionMessage(): SlackMessage {
  return errorMessage({
    summary:
      'This button is not one the bot knows (an old message, or another version of the bot); nothing was done.',
    next: 'Run the command again to get a fresh message, or `/signage help` for what the bot can do.',
  });
}

/**
 * Registers the fallbacks; `knownActions` are the action IDs some listener handles, `knownPrefixes` the
 * starts of those that carry a value in their ID (one per host in a view).
 */
export function registerFallbacks(
  app: SlackApp,
  knownActions: ReadonlySet<string>,
  knownPrefixes: readonly string[] = [],
): void {
  const known = (id: unknown) =>
    typeof id === 'string' && (knownActions.has(id) || knownPrefixes.some((p) => id.startsWith(p)));
  app.bolt.use(async (args) => {
    const body = args.body as Body;
    const type = body.type;
    if (type === 'block_actions') {
      const actions = Array.isArray(body.actions) ? (body.actions as Body[]) : [];
      if (actions.some((a) => known(a.action_id))) {
        await args.next();
        return;
      }
      await ackOf(args)?.();
      const ids = actions.map((a) => String(a.action_id)).join(', ');
      app.logger.info(
        `slack: unknown action ${ids.slice(0, 200)} by ${userOf(body) ?? 'someone'}; told them`,
      );
      await tellPrivately(app, body, unknownActionMessage());
      return;
    }
    if (typeof type === 'string' && IGNORED_TYPES.has(type)) {
      const ack = ackOf(args);
      await (type === 'block_suggestion' ? ack?.({ options: [] }) : ack?.());
      app.logger.info(`slack: ${type} payload acknowledged; the bot has no use for it`);
      return;
    }
    await args.next();
  });

  app.bolt.error((async ({ error, body }: { error: Error; body?: unknown }) => {
    app.logger.error('slack: a request failed outside every listener:', error);
    try {
      await tellPrivately(
        app,
        (body ?? {}) as Body,
        errorMessage({
          summary: 'The bot could not handle your request.',
          detail: redact(error.message),
          next: "Nothing was run. Try again; if it keeps failing, the bot's log has the details.",
        }),
      );
    } catch (reportError) {
      app.logger.error('slack: telling the requester failed too:', reportError);
    }
    // Bolt takes either handler shape; with extendedErrorHandler (app.ts) it calls this one with the body.
  }) as unknown as Parameters<SlackApp['bolt']['error']>[0]);
}

function ackOf(args: AnyMiddlewareArgs): ((response?: Record<string, unknown>) => Promise<void>) | undefined {
  const ack = (args as { ack?: unknown }).ack;
  return typeof ack === 'function' ? (ack as (r?: Record<string, unknown>) => Promise<void>) : undefined;
}

function userOf(body: Body): string | undefined {
  if (typeof body.user_id === 'string') return body.user_id;
  const user = body.user as Body | string | undefined;
  if (typeof user === 'string') return user;
  if (typeof user?.id === 'string') return user.id;
  const event = body.event as Body | undefined;
  return typeof event?.user === 'string' ? event.user : undefined;
}

function channelOf(body: Body): string | undefined {
  if (typeof body.channel_id === 'string') return body.channel_id;
  const channel = body.channel as Body | undefined;
  if (typeof channel?.id === 'string') return channel.id;
  const event = body.event as Body | undefined;
  return typeof event?.channel === 'string' ? event.channel : undefined;
}

/** Through the request's response URL when it has one, else as an ephemeral message where it came from. */
async function tellPrivately(app: SlackApp, body: Body, msg: SlackMessage): Promise<void> {
  const responseUrl = typeof body.response_url === 'string' ? body.response_url : undefined;
  if (responseUrl !== undefined && /^https?:\/\//.test(responseUrl)) {
    const answer = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        response_type: 'ephemeral',
        replace_original: false,
        text: msg.text,
        ...blocksOf(msg),
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (answer.ok) return;
  }
  const user = userOf(body);
  const channel = channelOf(body);
  if (user === undefined || channel === undefined) return;
  await app.client.chat.postEphemeral({ channel, user, text: msg.text, ...blocksOf(msg) });
}
