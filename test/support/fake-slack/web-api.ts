// The Web API methods the bot uses, answered from the fake's state the way Slack answers them: HTTP 200 with
// `ok: false` and an error code for anything wrong, `invalid_blocks` for blocks beyond Slack's limits, and
// `unknown_method` for methods the fake does not know.
import { messageProblems } from './block-limits.ts';
import type { FakeFiles } from './files.ts';
import type { EphemeralRecord, Json, StoredMessage } from './records.ts';
import type { FakeViews } from './views.ts';

export interface FakeUser {
  readonly id: string;
  readonly name: string;
  readonly realName?: string;
}

export interface WebApiState {
  readonly botToken: string;
  readonly appToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly teamDomain: string;
  readonly usergroups: ReadonlyMap<string, readonly string[]>;
  readonly users: ReadonlyMap<string, FakeUser>;
  /** The ws:// URL a new Socket Mode connection should use. */
  socketUrl(): string;
  nextTs(): string;
  storeMessage(message: StoredMessage): void;
  findMessage(channel: string, ts: string): StoredMessage | undefined;
  recordEphemeral(record: EphemeralRecord): void;
  violation(text: string): void;
  readonly files: FakeFiles;
  readonly views: FakeViews;
  /** Upload URLs are this plus a file ID. */
  readonly uploadBase: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: Json;
  readonly headers?: Record<string, string>;
}

const ok = (body: Json): ApiAnswer => ({ status: 200, body: { ok: true, ...body } });
const fail = (error: string, extra: Json = {}): ApiAnswer => ({
  status: 200,
  body: { ok: false, error, ...extra },
});

type Handler = (args: Json, token: string | undefined) => ApiAnswer;

/** Form fields that carry JSON. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'files', 'view']);

/** Parses a form or JSON body; form fields holding JSON (blocks) are decoded. */
export function parseApiBody(contentType: string | undefined, raw: string): Json {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Json;
  const out: Json = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    out[key] = JSON_FIELDS.has(key) ? tryJson(value) : value;
  }
  return out;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return { unparseable: value };
  }
}

export function webApiHandlers(state: WebApiState): ReadonlyMap<string, Handler> {
  const bot =
    (handler: Handler): Handler =>
    (args, token) =>
      token === state.botToken
        ? handler(args, token)
        : fail(token === undefined ? 'not_authed' : 'invalid_auth');

  const checkContent = (method: string, args: Json): ApiAnswer | undefined => {
    if (typeof args.channel !== 'string' || args.channel === '') return fail('channel_not_found');
    if (
      args.blocks !== undefined &&
      (!Array.isArray(args.blocks) || 'unparseable' in (args.blocks as object))
    ) {
      state.violation(`${method}: blocks are not a JSON array`);
      return fail('invalid_blocks_format');
    }
    const problems = messageProblems({ text: args.text, blocks: args.blocks });
    if (problems.length > 0) {
      if (args.text === undefined && args.blocks === undefined) return fail('no_text');
      state.violation(`${method}: invalid_blocks: ${problems.join('; ')}`);
      return fail('invalid_blocks', { errors: problems });
    }
    return undefined;
  };

  const handlers: [string, Handler][] = [
    [
      'auth.test',
      bot(() =>
        ok({
          url: `https://${state.teamDomain}.slack.com/`,
          team: state.teamDomain,
          user: 'signage',
          team_id: state.teamId,
          user_id: state.botUserId,
          bot_id: state.botId,
          is_enterprise_install: false,
        }),
      ),
    ],
    [
      'apps.connections.open',
      (_args, token) =>
        token === state.appToken
          ? ok({ url: state.socketUrl() })
          : fail(token?.startsWith('xoxb-') ? 'not_allowed_token_type' : 'invalid_auth'),
    ],
    [
      'chat.postMessage',
      bot((args) => {
        const refused = checkContent('chat.postMessage', args);
        if (refused !== undefined) return refused;
        const channel = args.channel as string;
        const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
        if (threadTs !== undefined && state.findMessage(channel, threadTs) === undefined) {
          return fail('thread_not_found');
        }
        const ts = state.nextTs();
        const message: StoredMessage = {
          channel,
          ts,
          text: typeof args.text === 'string' ? args.text : '',
          blocks: args.blocks as unknown[] | undefined,
          user: state.botUserId,
          threadTs,
          broadcast: args.reply_broadcast === true || args.reply_broadcast === 'true',
          deleted: false,
          updateTimes: [],
        };
        state.storeMessage(message);
        return ok({
          channel,
          ts,
          message: {
            type: 'message',
            user: state.botUserId,
            bot_id: state.botId,
            text: message.text,
            ts,
            ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
            ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
          },
        });
      }),
    ],
    [
      'chat.update',
      bot((args) => {
        const refused = checkContent('chat.update', args);
        if (refused !== undefined) return refused;
        const channel = args.channel as string;
        if (typeof args.ts !== 'string') return fail('message_not_found');
        const message = state.findMessage(channel, args.ts);
        if (message === undefined || message.deleted) return fail('message_not_found');
        if (message.user !== state.botUserId) return fail('cant_update_message');
        if (typeof args.text === 'string') message.text = args.text;
        message.blocks = args.blocks === undefined ? message.blocks : (args.blocks as unknown[]);
        message.updateTimes.push(performance.now());
        return ok({ channel, ts: message.ts, text: message.text });
      }),
    ],
    [
      'chat.delete',
      bot((args) => {
        if (typeof args.channel !== 'string' || typeof args.ts !== 'string') return fail('message_not_found');
        const message = state.findMessage(args.channel, args.ts);
        if (message === undefined || message.deleted) return fail('message_not_found');
        if (message.user !== state.botUserId) return fail('cant_delete_message');
        message.deleted = true;
        return ok({ channel: args.channel, ts: args.ts });
      }),
    ],
    [
      'chat.postEphemeral',
      bot((args) => {
        const refused = checkContent('chat.postEphemeral', args);
        if (refused !== undefined) return refused;
        if (typeof args.user !== 'string' || args.user === '') return fail('user_not_found');
        state.recordEphemeral({
          user: args.user,
          channel: args.channel as string,
          text: typeof args.text === 'string' ? args.text : '',
          blocks: args.blocks as unknown[] | undefined,
          via: 'chat.postEphemeral',
          threadTs: typeof args.thread_ts === 'string' ? args.thread_ts : undefined,
          at: performance.now(),
        });
        return ok({ message_ts: state.nextTs() });
      }),
    ],
    [
      'files.getUploadURLExternal',
      bot((args) => {
        const reserved = state.files.reserve(args, state.uploadBase);
        return 'error' in reserved
          ? fail(reserved.error)
          : ok({ upload_url: reserved.url, file_id: reserved.id });
      }),
    ],
    [
      'files.completeUploadExternal',
      bot((args) => {
        const checked = state.files.check(args);
        if ('error' in checked) return fail(checked.error);
        const channel =
          typeof args.channel_id === 'string' && args.channel_id !== '' ? args.channel_id : undefined;
        const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
        if (channel === undefined) {
          // Uploaded but shared nowhere: a private file nobody in a channel sees.
          state.violation('files.completeUploadExternal: no channel_id, the file is shared nowhere');
        } else if (threadTs !== undefined && state.findMessage(channel, threadTs) === undefined) {
          return fail('thread_not_found');
        }
        const comment = typeof args.initial_comment === 'string' ? args.initial_comment : '';
        checked.files.forEach((file, i) => {
          file.title = checked.titles[i] ?? file.filename;
          if (channel !== undefined) file.shared = { channel, threadTs, comment };
        });
        if (channel !== undefined) {
          state.storeMessage({
            channel,
            ts: state.nextTs(),
            text: comment,
            blocks: undefined,
            user: state.botUserId,
            threadTs,
            broadcast: false,
            deleted: false,
            updateTimes: [],
            files: checked.files.map((f) => f.id),
          });
        }
        return ok({ files: checked.files.map((f) => ({ id: f.id, title: f.title })) });
      }),
    ],
    [
      'views.publish',
      bot((args) => {
        const published = state.views.publish(args, state.violation);
        if ('error' in published) {
          return fail(published.error, published.errors === undefined ? {} : { errors: published.errors });
        }
        return ok({ view: { id: published.id, type: 'home' } });
      }),
    ],
    [
      'usergroups.users.list',
      bot((args) => {
        const members = typeof args.usergroup === 'string' ? state.usergroups.get(args.usergroup) : undefined;
        return members === undefined ? fail('no_such_subteam') : ok({ users: [...members] });
      }),
    ],
    [
      'users.info',
      bot((args) => {
        const user = typeof args.user === 'string' ? state.users.get(args.user) : undefined;
        if (user === undefined) return fail('user_not_found');
        return ok({
          user: {
            id: user.id,
            team_id: state.teamId,
            name: user.name,
            real_name: user.realName ?? user.name,
            is_bot: false,
            deleted: false,
            tz: 'Europe/Oslo',
            profile: { display_name: user.name, real_name: user.realName ?? user.name },
          },
        });
      }),
    ],
  ];
  return new Map(handlers);
}

export function unknownMethod(): ApiAnswer {
  return fail('unknown_method');
}
