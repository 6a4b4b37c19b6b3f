// A small Slack on loopback for tests: the Web API under /api/, response URLs under /response/, and the
// Socket Mode WebSocket, all on one port. Tests drive it the way people drive Slack (a slash command, a
// click, a mention) and read back what a person would see: channel messages as they stand after updates,
// private replies, and how fast the bot acknowledged. It holds the bot to Slack's rules: acknowledgements
// later than three seconds and blocks beyond the limits are recorded as violations.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { messageProblems } from './block-limits.ts';
import { Channels, type FakeChannel } from './channels.ts';
import {
  appHomeOpenedPayload,
  appMentionPayload,
  blockActionsPayload,
  envelope,
  homeBlockActionsPayload,
  slashCommandForm,
  slashCommandPayload,
  type Workspace,
} from './envelopes.ts';
import { type FakeFile, FakeFiles } from './files.ts';
import { RateLimiter, type RateRule, SLACK_RATE_RULES } from './rate-limits.ts';
import {
  type AckRecord,
  type ApiCall,
  type EphemeralRecord,
  type Json,
  peakPerSecond,
  type ResponseRecord,
  type StoredMessage,
  snapshot,
  tsClock,
} from './records.ts';
import { postSignedEvent, type SignedPostOptions, type SignedPostResult } from './signed-request.ts';
import { FakeViews, type PublishedView } from './views.ts';
import { type ApiAnswer, type FakeUser, parseApiBody, unknownMethod, webApiHandlers } from './web-api.ts';

/** Test secrets: shaped like the real ones so the bot's checks accept them, and recognisable in a log. */
export const FAKE_TOKENS = {
  bot: 'xoxb-1111-2222-fakeBotTokenSecret',
  app: 'xapp-1-A0FAKE-3333-fakeAppTokenSecret',
  signingSecret: 'fake-signing-secret-0123456789abcdef',
} as const;

export interface FakeSlackOptions {
  readonly botToken?: string;
  readonly appToken?: string;
  readonly botUserId?: string;
  readonly botId?: string;
  readonly teamId?: string;
  readonly teamDomain?: string;
  readonly appId?: string;
  /** User group ID -> member user IDs. */
  readonly usergroups?: Readonly<Record<string, readonly string[]>>;
  readonly users?: readonly FakeUser[];
  /** Slack's acknowledgement deadline (3000 ms). */
  readonly ackDeadlineMs?: number;
  /** How long a test waits for an acknowledgement before failing (10 s). */
  readonly ackTimeoutMs?: number;
  /** Rate limits per method (default: Slack's, SLACK_RATE_RULES). */
  readonly rateRules?: Readonly<Record<string, RateRule>>;
  /** Whether the app has chat:write.public, as manifest.yml asks (default true). */
  readonly chatWritePublic?: boolean;
  /** Channels declared up front; others are shaped by their ID (channels.ts). */
  readonly channels?: Readonly<Record<string, FakeChannel>>;
  /** Whether the app's Home tab is on, as manifest.yml asks (default true). */
  readonly homeTabEnabled?: boolean;
}

export type ApiFailure =
  | { readonly status: 429; readonly retryAfter: number }
  | { readonly status: number }
  | { readonly error: string };

export interface SlashCommandResult {
  readonly envelopeId: string;
  /** What the bot acknowledged with (a refusal, usually), or undefined for a plain acknowledgement. */
  readonly ack: Json | undefined;
  readonly latencyMs: number;
  readonly responseUrl: string;
}

export interface ClickResult {
  readonly ack: Json | undefined;
  readonly latencyMs: number;
  readonly responseUrl: string;
}

interface ResponseUrl {
  readonly user: string;
  readonly channel: string;
  readonly messageTs: string | undefined;
  uses: number;
}

interface PendingAck {
  readonly type: string;
  readonly started: number;
  readonly resolve: (payload: Json | undefined) => void;
}

/** Methods that speak in a channel, which Slack refuses where the bot may not speak. */
const CHANNEL_METHODS: ReadonlySet<string> = new Set([
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
  'chat.delete',
  'files.completeUploadExternal',
]);

/** Slack lets a response URL be used five times. */
const RESPONSE_URL_USES = 5;

export class FakeSlack {
  readonly port: number;
  readonly url: string;
  readonly apiUrl: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly violations: string[] = [];
  readonly acks: AckRecord[] = [];

  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #workspace: Workspace;
  readonly #options: FakeSlackOptions;
  readonly #calls: ApiCall[] = [];
  readonly #messages = new Map<string, StoredMessage[]>();
  readonly #responses: ResponseRecord[] = [];
  readonly #ephemerals: EphemeralRecord[] = [];
  readonly #responseUrls = new Map<string, ResponseUrl>();
  readonly #failures = new Map<string, ApiFailure[]>();
  readonly #delays = new Map<string, number[]>();
  readonly #tickets = new Set<string>();
  readonly #sockets = new Set<WebSocket>();
  readonly #pending = new Map<string, PendingAck>();
  readonly #nextTs = tsClock();
  readonly #handlers: ReturnType<typeof webApiHandlers>;
  readonly #limiter: RateLimiter;
  readonly #channels: Channels;
  readonly #files = new FakeFiles();
  readonly #views: FakeViews;
  #counter = 0;

  private constructor(server: Server, options: FakeSlackOptions) {
    this.#server = server;
    this.#options = options;
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    this.apiUrl = `${this.url}/api/`;
    this.botUserId = options.botUserId ?? 'UBOT0SIGN';
    this.botId = options.botId ?? 'BBOT0SIGN';
    this.teamId = options.teamId ?? 'T0OFFICE';
    this.#workspace = {
      teamId: this.teamId,
      teamDomain: options.teamDomain ?? 'office',
      appId: options.appId ?? 'A0FAKE',
      botUserId: this.botUserId,
    };
    this.#views = new FakeViews(options.homeTabEnabled ?? true);
    this.#handlers = webApiHandlers({
      files: this.#files,
      views: this.#views,
      uploadBase: `${this.url}/upload/`,
      botToken: options.botToken ?? FAKE_TOKENS.bot,
      appToken: options.appToken ?? FAKE_TOKENS.app,
      botUserId: this.botUserId,
      botId: this.botId,
      teamId: this.teamId,
      teamDomain: this.#workspace.teamDomain,
      usergroups: new Map(Object.entries(options.usergroups ?? {})),
      users: new Map((options.users ?? []).map((u) => [u.id, u])),
      socketUrl: () => {
        const ticket = randomUUID();
        this.#tickets.add(ticket);
        return `ws://127.0.0.1:${this.port}/link/?ticket=${ticket}`;
      },
      nextTs: this.#nextTs,
      storeMessage: (m) => this.#store(m),
      findMessage: (channel, ts) => this.#messages.get(channel)?.find((m) => m.ts === ts),
      recordEphemeral: (r) => this.#ephemerals.push(r),
      violation: (v) => this.violations.push(v),
    });
    this.#limiter = new RateLimiter(options.rateRules ?? SLACK_RATE_RULES);
    this.#channels = new Channels(options.chatWritePublic ?? true);
    for (const [id, channel] of Object.entries(options.channels ?? {})) this.#channels.declare(id, channel);
    this.#wss = new WebSocketServer({ noServer: true });
    server.on('request', (req, res) => {
      this.#route(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', this.url);
      const ticket = url.searchParams.get('ticket');
      if (url.pathname !== '/link/' || ticket === null || !this.#tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws));
    });
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new FakeSlack(server, options);
  }

  // ---- what tests read ----------------------------------------------------------------------------

  get openConnections(): number {
    return [...this.#sockets].filter((s) => s.readyState === s.OPEN).length;
  }

  calls(method?: string): ApiCall[] {
    return this.#calls.filter((c) => method === undefined || c.method === method);
  }

  async waitForCall(
    method: string,
    pred: (call: ApiCall) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<ApiCall> {
    let found: ApiCall | undefined;
    await this.until(
      () => {
        found = this.#calls.find((c) => c.method === method && pred(c));
        return found !== undefined;
      },
      { timeoutMs, what: `a ${method} call` },
    );
    return found as ApiCall;
  }

  /** Every file the bot started to upload, with its bytes once they arrived and where it was shared. */
  files(): FakeFile[] {
    return this.#files.list();
  }

  /** The Home tab view last published to `user`. */
  homeView(user: string): PublishedView | undefined {
    return this.#views.home(user);
  }

  responses(): ResponseRecord[] {
    return [...this.#responses];
  }

  /** What only one person saw: refusals in acknowledgements, ephemeral responses, chat.postEphemeral. */
  ephemerals(filter: { user?: string; channel?: string } = {}): EphemeralRecord[] {
    return this.#ephemerals.filter(
      (e) =>
        (filter.user === undefined || e.user === filter.user) &&
        (filter.channel === undefined || e.channel === filter.channel),
    );
  }

  /** The channel's messages (thread replies included) as they stand now, oldest first. */
  messages(channel: string): StoredMessage[] {
    return (this.#messages.get(channel) ?? []).filter((m) => !m.deleted).map(snapshot);
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    const m = this.#messages.get(channel)?.find((x) => x.ts === ts);
    return m === undefined ? undefined : snapshot(m);
  }

  /** The most updates one message (or, without `ts`, any message) got within one second. */
  peakUpdatesPerSecond(channel?: string, ts?: string): number {
    let peak = 0;
    for (const [ch, list] of this.#messages) {
      if (channel !== undefined && ch !== channel) continue;
      for (const m of list)
        if (ts === undefined || m.ts === ts) peak = Math.max(peak, peakPerSecond(m.updateTimes));
    }
    return peak;
  }

  /** Calls Slack answered 429 because they were over its rate limits (not those a test asked for). */
  rateLimited(method?: string): ApiCall[] {
    return this.#calls.filter(
      (c) => c.status === 429 && c.enforced === true && (method === undefined || c.method === method),
    );
  }

  /** Declares a channel: private or public, with or without the bot in it. */
  declareChannel(id: string, channel: FakeChannel): void {
    this.#channels.declare(id, channel);
  }

  /** Someone removes the bot from `channel`: from now on it cannot speak there. */
  removeBot(channel: string): void {
    this.#channels.get(channel).botMember = false;
  }

  /** The next `count` calls of `method` get HTTP 429 with Retry-After. */
  rateLimitNext(method: string, retryAfterSec = 1, count = 1): void {
    this.failNext(method, { status: 429, retryAfter: retryAfterSec }, count);
  }

  /** The next `count` calls of `method` fail: an HTTP status, or `ok: false` with an error code. */
  failNext(method: string, failure: ApiFailure, count = 1): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** The next `count` calls of `method` are answered `ms` later (they are recorded when they arrive). */
  delayNext(method: string, ms: number, count = 1): void {
    const queue = this.#delays.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push(ms);
    this.#delays.set(method, queue);
  }

  /** Polls `pred` until it holds; fails with `what` after the timeout. */
  async until(pred: () => boolean, options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
    const deadline = performance.now() + (options.timeoutMs ?? 5000);
    while (!pred()) {
      if (performance.now() > deadline) {
        throw new Error(`fake Slack: timed out waiting for ${options.what ?? 'a condition'}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A fresh response URL for `user` in `channel` (bound to a message for replace_original). */
  responseUrlFor(input: { user: string; channel: string; messageTs?: string }): string {
    const id = `R${++this.#counter}-${randomUUID().slice(0, 8)}`;
    this.#responseUrls.set(id, {
      user: input.user,
      channel: input.channel,
      messageTs: input.messageTs,
      uses: 0,
    });
    return `${this.url}/response/${id}`;
  }

  // ---- what tests do -------------------------------------------------------------------------------

  async sendSlashCommand(input: {
    user: string;
    channel: string;
    text: string;
    command?: string;
  }): Promise<SlashCommandResult> {
    const responseUrl = this.responseUrlFor(input);
    const payload = slashCommandPayload(this.#workspace, {
      ...input,
      responseUrl,
      triggerId: this.#id('trigger'),
    });
    const { envelopeId, ack, latencyMs } = await this.#send('slash_commands', payload);
    if (ack !== undefined && (typeof ack.text === 'string' || Array.isArray(ack.blocks))) {
      this.#ephemerals.push({
        user: input.user,
        channel: input.channel,
        text: typeof ack.text === 'string' ? ack.text : '',
        blocks: ack.blocks as unknown[] | undefined,
        via: 'ack',
        threadTs: undefined,
        at: performance.now(),
      });
    }
    return { envelopeId, ack, latencyMs, responseUrl };
  }

  /** The form body of a slash command for HTTP mode, with a live response URL. */
  slashCommandBody(input: { user: string; channel: string; text: string; command?: string }): string {
    const responseUrl = this.responseUrlFor(input);
    return slashCommandForm(this.#workspace, { ...input, responseUrl, triggerId: this.#id('trigger') });
  }

  /**
   * Clicks a button of a message; throws when the message has no such button (any more). With `seen`, the
   * click is on the message as someone's screen still showed it (a copy taken earlier): Slack clients do
   * not all redraw at once, so a button that is gone can still be clicked there.
   */
  async clickButton(input: {
    user: string;
    channel: string;
    ts: string;
    actionId: string;
    value?: string;
    seen?: StoredMessage;
  }): Promise<ClickResult> {
    const stored = this.#messages.get(input.channel)?.find((m) => m.ts === input.ts && !m.deleted);
    if (stored === undefined) throw new Error(`fake Slack: no message ${input.ts} in ${input.channel}`);
    if (input.seen !== undefined && input.seen.ts !== input.ts) {
      throw new Error(`fake Slack: the message seen is ${input.seen.ts}, not ${input.ts}`);
    }
    const message = input.seen ?? stored;
    const found = findButton(message.blocks, input.actionId);
    if (found === undefined) {
      throw new Error(`fake Slack: message ${input.ts} has no button ${input.actionId} (any more)`);
    }
    const responseUrl = this.responseUrlFor({
      user: input.user,
      channel: input.channel,
      messageTs: input.ts,
    });
    const payload = blockActionsPayload(this.#workspace, {
      user: input.user,
      channel: input.channel,
      message: { ts: message.ts, text: message.text, blocks: message.blocks, user: message.user },
      blockId: found.blockId,
      button: found.button,
      value: input.value ?? (found.button.value as string | undefined),
      responseUrl,
      triggerId: this.#id('trigger'),
      actionTs: this.#nextTs(),
    });
    const { ack, latencyMs } = await this.#send('interactive', payload);
    return { ack, latencyMs, responseUrl };
  }

  /** Someone writes `text` (with `<@BOT>` in it) in a channel, or in a thread with `threadTs`. */
  async mention(input: {
    user: string;
    channel: string;
    text: string;
    threadTs?: string;
  }): Promise<{ ts: string; latencyMs: number }> {
    const ts = this.#nextTs();
    this.#store({
      channel: input.channel,
      ts,
      text: input.text,
      blocks: undefined,
      user: input.user,
      threadTs: input.threadTs,
      broadcast: false,
      deleted: false,
      updateTimes: [],
    });
    const payload = appMentionPayload(this.#workspace, {
      ...input,
      ts,
      threadTs: input.threadTs,
      eventId: this.#id('Ev'),
    });
    const { latencyMs } = await this.#send('events_api', payload);
    return { ts, latencyMs };
  }

  /** `user` opens the app's Home tab: the app_home_opened event. */
  async openHome(user: string): Promise<{ latencyMs: number }> {
    const ts = this.#nextTs();
    const payload = appHomeOpenedPayload(this.#workspace, {
      user,
      ts,
      eventId: this.#id('Ev'),
      viewId: this.#views.home(user) === undefined ? undefined : `V0HOME${user}`,
    });
    const { latencyMs } = await this.#send('events_api', payload);
    return { latencyMs };
  }

  /** Clicks a button of the Home tab as `user` sees it now; throws when it has no such button. */
  async clickHomeButton(input: { user: string; actionId: string }): Promise<ClickResult> {
    const view = this.#views.home(input.user);
    if (view === undefined) throw new Error(`fake Slack: ${input.user} has no Home tab view`);
    const found = findButton(view.blocks, input.actionId);
    if (found === undefined) {
      throw new Error(`fake Slack: the Home tab of ${input.user} has no button ${input.actionId}`);
    }
    const payload = homeBlockActionsPayload(this.#workspace, {
      user: input.user,
      viewId: `V0HOME${input.user}`,
      blocks: view.blocks,
      blockId: found.blockId,
      button: found.button,
      triggerId: this.#id('trigger'),
      actionTs: this.#nextTs(),
    });
    const { ack, latencyMs } = await this.#send('interactive', payload);
    return { ack, latencyMs, responseUrl: '' };
  }

  /** Asks every Socket Mode client to reconnect, as Slack does every few hours. */
  disconnect(reason = 'refresh_requested'): void {
    for (const ws of this.#sockets) {
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
      }
    }
  }

  postSignedEvent(
    url: string,
    body: string | Record<string, unknown>,
    options: SignedPostOptions,
  ): Promise<SignedPostResult> {
    return postSignedEvent(url, body, options);
  }

  async stop(): Promise<void> {
    for (const [, pending] of this.#pending) pending.resolve(undefined);
    this.#pending.clear();
    const closing = [...this.#sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1001, 'fake Slack stopping');
          setTimeout(() => ws.terminate(), 1000).unref();
        }),
    );
    await Promise.all(closing);
    this.#wss.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  // ---- inside ----------------------------------------------------------------------------------------

  #id(prefix: string): string {
    return `${prefix}${++this.#counter}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  }

  #store(message: StoredMessage): void {
    const list = this.#messages.get(message.channel) ?? [];
    list.push(message);
    this.#messages.set(message.channel, list);
  }

  #connected(ws: WebSocket): void {
    this.#sockets.add(ws);
    ws.on('close', () => this.#sockets.delete(ws));
    ws.on('message', (data) => {
      let parsed: Json;
      try {
        parsed = JSON.parse(String(data)) as Json;
      } catch {
        this.violations.push(`socket: a message that is not JSON: ${String(data).slice(0, 100)}`);
        return;
      }
      const id = parsed.envelope_id;
      if (typeof id !== 'string') return;
      const pending = this.#pending.get(id);
      if (pending === undefined) {
        this.violations.push(`socket: acknowledgement of an unknown envelope ${id}`);
        return;
      }
      this.#pending.delete(id);
      const latencyMs = performance.now() - pending.started;
      const payload = parsed.payload as Json | undefined;
      this.acks.push({ envelopeId: id, type: pending.type, payload, latencyMs });
      if (latencyMs > (this.#options.ackDeadlineMs ?? 3000)) {
        this.violations.push(
          `late ack: ${pending.type} envelope ${id} acknowledged after ${Math.round(latencyMs)} ms`,
        );
      }
      pending.resolve(payload);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#sockets.size,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: this.#workspace.appId },
      }),
    );
  }

  async #send(
    type: string,
    payload: Json,
  ): Promise<{ envelopeId: string; ack: Json | undefined; latencyMs: number }> {
    await this.until(() => this.openConnections > 0, { timeoutMs: 10_000, what: 'a Socket Mode connection' });
    const ws = [...this.#sockets].filter((s) => s.readyState === s.OPEN).at(-1) as WebSocket;
    const envelopeId = randomUUID();
    const timeoutMs = this.#options.ackTimeoutMs ?? 10_000;
    const started = performance.now();
    const acked = new Promise<Json | undefined>((resolve) => {
      this.#pending.set(envelopeId, { type, started, resolve });
    });
    ws.send(JSON.stringify(envelope(envelopeId, type, payload)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#pending.delete(envelopeId);
        this.violations.push(`no ack: ${type} envelope ${envelopeId} never acknowledged`);
        reject(
          new Error(`fake Slack: the bot did not acknowledge the ${type} envelope within ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
    try {
      const ack = await Promise.race([acked, timeout]);
      return { envelopeId, ack, latencyMs: performance.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const bytes = await readBytes(req);
    if (req.method === 'POST' && url.pathname.startsWith('/upload/')) {
      const status = this.#files.receive(url.pathname.slice('/upload/'.length), bytes);
      res
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status === 200 ? `OK - ${bytes.length}` : 'not found');
      return;
    }
    const raw = bytes.toString('utf8');
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      const method = url.pathname.slice('/api/'.length);
      await this.#api(method, req, raw, res);
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/response/')) {
      this.#response(url.pathname.slice('/response/'.length), raw, res);
      return;
    }
    res.writeHead(404).end('not found');
  }

  async #api(method: string, req: IncomingMessage, raw: string, res: ServerResponse): Promise<void> {
    let args: Json;
    try {
      args = parseApiBody(req.headers['content-type'], raw);
    } catch {
      send(res, { status: 200, body: { ok: false, error: 'invalid_json' } });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    const failure = this.#failures.get(method)?.shift();
    let answer: ApiAnswer;
    let enforced = false;
    // files.completeUploadExternal names its channel channel_id.
    const where = typeof args.channel === 'string' ? args.channel : args.channel_id;
    const refusal =
      CHANNEL_METHODS.has(method) && typeof where === 'string' && where !== ''
        ? this.#channels.refusal(where, method)
        : undefined;
    const wait =
      failure === undefined ? this.#limiter.check(method, args.channel, performance.now()) : undefined;
    if (failure === undefined && wait !== undefined) {
      enforced = true;
      answer = {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(wait) },
      };
    } else if (
      failure === undefined &&
      refusal !== undefined &&
      token === (this.#options.botToken ?? FAKE_TOKENS.bot)
    ) {
      answer = { status: 200, body: { ok: false, error: refusal } };
    } else if (failure !== undefined) {
      answer =
        'error' in failure
          ? { status: 200, body: { ok: false, error: failure.error } }
          : failure.status === 429 && 'retryAfter' in failure
            ? {
                status: 429,
                body: { ok: false, error: 'ratelimited' },
                headers: { 'retry-after': String(failure.retryAfter) },
              }
            : { status: failure.status, body: { ok: false, error: 'fake_http_error' } };
    } else {
      answer = (this.#handlers.get(method) ?? unknownMethod)(args, token);
    }
    const { token: _omitted, ...recorded } = args;
    this.#calls.push({
      method,
      args: recorded,
      token,
      at: performance.now(),
      status: answer.status,
      response: answer.body,
      ...(enforced ? { enforced } : {}),
    });
    const delay = this.#delays.get(method)?.shift();
    if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
    send(res, answer);
  }

  #response(id: string, raw: string, res: ServerResponse): void {
    const target = this.#responseUrls.get(id);
    let body: Json;
    try {
      body = JSON.parse(raw) as Json;
    } catch {
      res.writeHead(400).end('invalid_payload');
      return;
    }
    const record = (status: number) => this.#responses.push({ id, body, status, at: performance.now() });
    if (target === undefined) {
      record(404);
      res.writeHead(404).end('expired_url');
      return;
    }
    if (target.uses >= RESPONSE_URL_USES) {
      record(404);
      res.writeHead(404).end('used_url');
      return;
    }
    target.uses += 1;
    const problems = messageProblems({ text: body.text, blocks: body.blocks });
    if (problems.length > 0) {
      this.violations.push(`response_url: invalid_blocks: ${problems.join('; ')}`);
      record(400);
      res.writeHead(400).end('invalid_blocks');
      return;
    }
    record(200);
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = body.blocks as unknown[] | undefined;
    if (body.delete_original === true && target.messageTs !== undefined) {
      const m = this.#messages.get(target.channel)?.find((x) => x.ts === target.messageTs);
      if (m !== undefined) m.deleted = true;
    } else if (body.replace_original === true && target.messageTs !== undefined) {
      const m = this.#messages.get(target.channel)?.find((x) => x.ts === target.messageTs);
      if (m !== undefined) {
        m.text = text;
        m.blocks = blocks;
        m.updateTimes.push(performance.now());
      }
    } else if (body.response_type === 'in_channel') {
      this.#store({
        channel: target.channel,
        ts: this.#nextTs(),
        text,
        blocks,
        user: this.botUserId,
        threadTs: undefined,
        broadcast: false,
        deleted: false,
        updateTimes: [],
      });
    } else {
      this.#ephemerals.push({
        user: target.user,
        channel: target.channel,
        text,
        blocks,
        via: 'response_url',
        threadTs: undefined,
        at: performance.now(),
      });
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }
}

function findButton(
  blocks: unknown[] | undefined,
  actionId: string,
): { blockId: string; button: Json } | undefined {
  for (const block of blocks ?? []) {
    const b = block as Json;
    // A section's button accessory.
    const accessory = b.accessory as Json | undefined;
    if (b.type === 'section' && accessory?.type === 'button' && accessory.action_id === actionId) {
      return { blockId: typeof b.block_id === 'string' ? b.block_id : 'section', button: accessory };
    }
    if (b.type !== 'actions' || !Array.isArray(b.elements)) continue;
    for (const element of b.elements as Json[]) {
      if (element.type === 'button' && element.action_id === actionId) {
        return { blockId: typeof b.block_id === 'string' ? b.block_id : 'actions', button: element };
      }
    }
  }
  return undefined;
}

function readBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: ApiAnswer): void {
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}
