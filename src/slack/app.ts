// The Bolt app, built one way for production and tests: Socket Mode or HTTP, explicit retries, the bot's
// log (scrubbed of secrets), and a start and a stop that report what went wrong in words an operator can act
// on. Bolt is constructed with deferred initialization so that checking the bot token (auth.test) happens
// in start(), where its failure can be caught, rather than in the constructor, where it would be an
// unhandled rejection.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver, webApi } from '@slack/bolt';
import { boltLogger, type LogSink, redactingSink, type SlackLogLevel, toBoltLevel } from './bolt-logger.ts';
import { type BudgetedMethod, type BudgetRule, createSlackBudget, type SlackBudget } from './budget.ts';
import { type BudgetedChat, budgetedChat } from './chat.ts';
import { type MessagePortOptions, slackMessagePort } from './message-port.ts';
import type { MessagePort } from './message-updater.ts';
import { createRequestGuard, guardedListener } from './request-guard.ts';

/** A secret that says what it is only when asked (so it never lands in a log by accident). */
export interface Secret {
  reveal(): string;
}

export interface SlackTokens {
  /** The bot token, `xoxb-…`. */
  readonly bot: Secret;
  /** The app-level token, `xapp-…` with connections:write (Socket Mode). */
  readonly app?: Secret | undefined;
  /** The app's signing secret (HTTP mode). */
  readonly signingSecret?: Secret | undefined;
}

/** Who the bot is in its workspace; known up front, it spares the auth.test call at start. */
export interface SlackIdentity {
  readonly botId: string;
  readonly botUserId: string;
}

export type SlackMode = 'socket' | 'http';

export interface SlackAppOptions {
  readonly mode: SlackMode;
  readonly tokens: SlackTokens;
  /** HTTP mode: where `/slack/events` listens (default 3000; 0 picks a free port). */
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  /** The Web API's base URL; tests point it at the fake Slack. */
  readonly slackApiUrl?: string | undefined;
  readonly retryConfig?: webApi.RetryOptions | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly logger: LogSink;
  readonly logLevel?: SlackLogLevel | undefined;
  readonly identity?: SlackIdentity | undefined;
  /** The app-wide budget's rules (default: Slack's tiers, SLACK_BUDGET). */
  readonly budget?: Readonly<Partial<Record<BudgetedMethod, BudgetRule>>> | undefined;
}

export interface SlackApp {
  readonly mode: SlackMode;
  readonly bolt: App;
  /** The bot's Web API client. */
  readonly client: webApi.WebClient;
  /** The bot's log, scrubbed of its secrets. */
  readonly logger: LogSink;
  /** Aborted when the app stops: work in flight can give up politely. */
  readonly signal: AbortSignal;
  /** chat.postMessage and chat.update within the app-wide budget: every post and update goes through here. */
  readonly chat: BudgetedChat;
  readonly budget: SlackBudget;
  /** A Web API client that rejects a rate-limited call rather than sleeping on it: for calls the budget paces. */
  readonly api: webApi.WebClient;
  /** A port for one message in `channel` (in a thread with `threadTs`), for a message updater. */
  messagePort(channel: string, options?: MessagePortOptions): MessagePort;
  /** Checks the token and connects (Socket Mode) or listens (HTTP). Resolves with the HTTP port. */
  start(): Promise<{ port?: number; host?: string }>;
  /** Disconnects and waits for the socket or the server to close. Safe to call more than once. */
  stop(): Promise<void>;
}

/** The configuration cannot work: a token of the wrong kind, a bad port. Names the setting to fix. */
export class SlackConfigError extends Error {
  override readonly name = 'SlackConfigError';
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.variable = variable;
  }
}

export type SlackStartFailure = 'token-refused' | 'unreachable' | 'port-in-use' | 'stopped';

/** Starting failed: Slack refused a token, could not be reached, or the app was stopped meanwhile. */
export class SlackStartError extends Error {
  override readonly name = 'SlackStartError';
  readonly kind: SlackStartFailure;
  constructor(kind: SlackStartFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** Production retries of Web API calls: a few, spread over a quarter of a minute. */
export const PRODUCTION_RETRY: webApi.RetryOptions = {
  retries: 4,
  factor: 2,
  minTimeout: 1_000,
  maxTimeout: 15_000,
  randomize: true,
};

export const DEFAULT_HTTP_PORT = 3000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';
/** Longest wait for Slack's hello on a new Socket Mode connection. */
const HELLO_TIMEOUT_MS = 30_000;
/** Back-off between reconnection attempts after Slack could not be reached. */
const RECONNECT_MIN_MS = 2_000;
const RECONNECT_MAX_MS = 60_000;

/** Where each secret comes from, as the operator knows it (docs/slack.md). */
export const SECRET_VARIABLES = {
  bot: 'SLACK_BOT_TOKEN',
  app: 'SLACK_APP_TOKEN',
  signingSecret: 'SLACK_SIGNING_SECRET',
} as const;

/** Token errors of auth.test and apps.connections.open that retrying will not fix. */
const REFUSED = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'user_removed_from_team',
  'team_disabled',
  'missing_scope',
]);

export function createSlackApp(options: SlackAppOptions): SlackApp {
  const secrets = checkTokens(options);
  const port = checkPort(options);
  const slackApiUrl = checkApiUrl(options.slackApiUrl);
  const level = options.logLevel ?? 'info';
  const logger = redactingSink(
    options.logger,
    Object.values(secrets).filter((s) => s !== undefined),
  );
  const libraryLog = boltLogger(logger, level);

  // Each client gets its own copy: Bolt and the Socket Mode client write into the options they are given.
  const clientOptions = (): webApi.WebClientOptions => ({
    slackApiUrl,
    // Always explicit: left unset, the Socket Mode client writes 100 retries here for every client.
    retryConfig: options.retryConfig ?? PRODUCTION_RETRY,
    timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    logger: libraryLog,
  });

  const socketReceiver =
    options.mode === 'socket'
      ? new SocketModeReceiver({
          appToken: secrets.app ?? '',
          logger: libraryLog,
          logLevel: toBoltLevel(level),
          installerOptions: { clientOptions: clientOptions() },
          autoReconnectEnabled: true,
        })
      : undefined;
  const httpReceiver =
    options.mode === 'http'
      ? new HTTPReceiver({
          signingSecret: secrets.signingSecret ?? '',
          endpoints: '/slack/events',
          port,
          logger: libraryLog,
          logLevel: toBoltLevel(level),
          processBeforeResponse: false,
          installerOptions: { clientOptions: clientOptions() },
        })
      : undefined;

  if (httpReceiver !== undefined) {
    const guard = createRequestGuard(secrets.signingSecret ?? '');
    httpReceiver.requestListener = guardedListener(
      httpReceiver.requestListener,
      '/slack/events',
      guard,
      (reason) => logger.warn(`slack: HTTP request refused: ${reason}`),
    );
  }

  const bolt = new App({
    token: secrets.bot,
    ...(socketReceiver === undefined ? {} : { socketMode: true, receiver: socketReceiver }),
    ...(httpReceiver === undefined ? {} : { receiver: httpReceiver }),
    logger: libraryLog,
    logLevel: toBoltLevel(level),
    clientOptions: clientOptions(),
    deferInitialization: true,
    // The global error handler gets the request's body, so it can tell the requester (interactivity.ts).
    extendedErrorHandler: true,
    // A known identity needs no auth.test; otherwise start() makes that call and reports its failure.
    tokenVerificationEnabled: options.identity === undefined,
    ...(options.identity === undefined
      ? {}
      : { botId: options.identity.botId, botUserId: options.identity.botUserId }),
  });
  // Message ports see a 429 as an error to wait out with the newest state, rather than a call that sleeps.
  const portClient = new webApi.WebClient(secrets.bot, { ...clientOptions(), rejectRateLimitedCalls: true });
  const budget = createSlackBudget(options.budget);
  const chat = budgetedChat(portClient, budget);

  const stopped = new AbortController();
  let starting: Promise<{ port?: number; host?: string }> | undefined;
  let stopping: Promise<void> | undefined;
  let server: Server | undefined;
  const reconnect =
    socketReceiver === undefined ? undefined : superviseReconnects(socketReceiver, logger, stopped);

  function refuseIfStopped(): void {
    if (stopped.signal.aborted)
      throw new SlackStartError('stopped', 'The Slack app was stopped while it was starting.');
  }

  async function start(): Promise<{ port?: number; host?: string }> {
    refuseIfStopped();
    try {
      await bolt.init();
    } catch (error) {
      throw startError(error, 'bot', slackApiUrl);
    }
    refuseIfStopped();
    if (socketReceiver !== undefined) {
      try {
        await withTimeout(bolt.start(), HELLO_TIMEOUT_MS, () => {
          void socketReceiver.client.disconnect();
        });
      } catch (error) {
        refuseIfStopped();
        throw startError(error, 'app', slackApiUrl);
      }
      reconnect?.connected();
      if (stopped.signal.aborted) {
        // stop() ran while the connection was being made: it must not outlive the stop.
        await socketReceiver.client.disconnect();
        refuseIfStopped();
      }
      return {};
    }
    try {
      server = (await bolt.start({
        port,
        ...(options.host === undefined ? {} : { host: options.host }),
      })) as Server;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new SlackStartError(
          'port-in-use',
          `Port ${port} is already in use; set slack.port to a free port.`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    if (stopped.signal.aborted) {
      await closeServer();
      refuseIfStopped();
    }
    const address = server.address() as AddressInfo | null;
    return { port: address?.port ?? port, ...(address === null ? {} : { host: address.address }) };
  }

  async function closeServer(): Promise<void> {
    if (httpReceiver === undefined || server === undefined) return;
    server = undefined;
    await httpReceiver.stop();
  }

  async function stop(): Promise<void> {
    stopped.abort();
    if (socketReceiver !== undefined) {
      // Resolves once the socket has closed (the receiver's own stop does not wait for that).
      await socketReceiver.client.disconnect();
      await reconnect?.stop();
    }
    await starting?.catch(() => {});
    await closeServer();
  }

  return {
    mode: options.mode,
    bolt,
    client: bolt.client,
    logger,
    signal: stopped.signal,
    chat,
    budget,
    api: portClient,
    messagePort: (channel, portOptions) => slackMessagePort(portClient, channel, portOptions, budget),
    start() {
      starting ??= start();
      return starting;
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}

function checkTokens(options: SlackAppOptions): { bot: string; app?: string; signingSecret?: string } {
  const bot = revealed(options.tokens.bot, SECRET_VARIABLES.bot);
  expectPrefix(bot, 'xoxb-', SECRET_VARIABLES.bot, 'a bot token');
  const out: { bot: string; app?: string; signingSecret?: string } = { bot };
  if (options.mode === 'socket') {
    if (options.tokens.app === undefined) {
      throw new SlackConfigError(
        SECRET_VARIABLES.app,
        `Socket Mode needs the app-level token: set ${SECRET_VARIABLES.app} (xapp-…, with connections:write).`,
      );
    }
    out.app = revealed(options.tokens.app, SECRET_VARIABLES.app);
    expectPrefix(out.app, 'xapp-', SECRET_VARIABLES.app, 'an app-level token');
  } else {
    if (options.tokens.signingSecret === undefined) {
      throw new SlackConfigError(
        SECRET_VARIABLES.signingSecret,
        `HTTP mode needs the app's signing secret: set ${SECRET_VARIABLES.signingSecret}.`,
      );
    }
    out.signingSecret = revealed(options.tokens.signingSecret, SECRET_VARIABLES.signingSecret);
    if (out.signingSecret.length < 8) {
      throw new SlackConfigError(
        SECRET_VARIABLES.signingSecret,
        `${SECRET_VARIABLES.signingSecret} is too short to be a signing secret (Basic Information → App Credentials).`,
      );
    }
  }
  return out;
}

function revealed(secret: Secret, variable: string): string {
  // A file written by an editor ends in a newline; that is not part of the token.
  const value = secret.reveal().trim();
  if (value === '') {
    throw new SlackConfigError(variable, `${variable} is empty.`);
  }
  if (/\s/.test(value)) {
    throw new SlackConfigError(
      variable,
      `${variable} contains white space; copy the token again, without spaces or line breaks.`,
    );
  }
  return value;
}

function expectPrefix(value: string, prefix: string, variable: string, what: string): void {
  if (value.startsWith(prefix)) return;
  // Shows only the token's kind (the part before the first dash), never the secret part.
  const kind = /^[a-z]{3,5}-/.exec(value)?.[0];
  throw new SlackConfigError(
    variable,
    `${variable} must be ${what} starting with ${prefix}` +
      (kind === undefined ? '.' : `; it starts with ${kind}, which is another kind of token.`),
  );
}

function checkPort(options: SlackAppOptions): number {
  const port = options.port ?? DEFAULT_HTTP_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new SlackConfigError(
      'slack.port',
      `slack.port must be a whole number from 0 to 65535, not ${String(port)}.`,
    );
  }
  return port;
}

function checkApiUrl(url: string | undefined): string {
  if (url === undefined) return DEFAULT_SLACK_API_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlackConfigError('slack.apiUrl', `slack.apiUrl is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SlackConfigError('slack.apiUrl', `slack.apiUrl must be http or https, not ${parsed.protocol}`);
  }
  return url.endsWith('/') ? url : `${url}/`;
}

/** Words for why starting failed; `token` says which of the two tokens the failing call used. */
function startError(error: unknown, token: 'bot' | 'app', apiUrl: string): Error {
  const variable = SECRET_VARIABLES[token];
  if (error instanceof SlackStartError) return error;
  if (error instanceof webApi.WebAPIPlatformError) {
    const code = error.data.error;
    if (REFUSED.has(code)) {
      return new SlackStartError(
        'token-refused',
        `Slack refused the ${token === 'bot' ? 'bot' : 'app-level'} token (${code}): check ${variable}` +
          (token === 'app'
            ? ' (an xapp- token with connections:write)'
            : ' (the xoxb- token of the installed app)') +
          '.',
        { cause: error },
      );
    }
    return new SlackStartError('unreachable', `Slack answered ${code} when the bot connected.`, {
      cause: error,
    });
  }
  if (error instanceof webApi.WebAPIRequestError) {
    return new SlackStartError(
      'unreachable',
      `Could not reach Slack at ${apiUrl}: ${error.original.message}${causeCode(error.original)}.`,
      { cause: error },
    );
  }
  if (error instanceof webApi.WebAPIHTTPError) {
    return new SlackStartError('unreachable', `Slack answered HTTP ${error.statusCode} at ${apiUrl}.`, {
      cause: error,
    });
  }
  if (error instanceof TimeoutError) {
    return new SlackStartError('unreachable', error.message, { cause: error });
  }
  // The Socket Mode client rejects with nothing when the connection closes before Slack said hello.
  return new SlackStartError(
    'unreachable',
    `The Socket Mode connection closed before Slack said hello${error instanceof Error ? `: ${error.message}` : ''}.`,
    { cause: error },
  );
}

function causeCode(error: Error): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? ` (${cause.code})` : '';
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(
        new TimeoutError(`Slack did not say hello on the Socket Mode connection within ${ms / 1000} s.`),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Socket Mode client reconnects by itself after a disconnect, but when Slack cannot be reached at that
 * moment its reconnection attempt rejects with nobody to catch it, and it does not try again. Reconnection
 * attempts go through here instead: a failure is logged and retried with back-off until the app stops, and
 * an attempt that connects after the app was stopped closes its socket before stop() returns.
 */
function superviseReconnects(
  receiver: SocketModeReceiver,
  logger: LogSink,
  stopped: AbortController,
): { connected(): void; stop(): Promise<void> } {
  const client = receiver.client;
  const connect = client.start.bind(client);
  const nothing = {} as webApi.AppsConnectionsOpenResponse;
  let initialDone = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<webApi.AppsConnectionsOpenResponse> | undefined;

  const attempt = async (): Promise<webApi.AppsConnectionsOpenResponse> => {
    try {
      const result = await connect();
      if (stopped.signal.aborted) {
        await client.disconnect();
        return nothing;
      }
      if (failures > 0) logger.info(`slack: reconnected after ${failures} failed attempt(s)`);
      failures = 0;
      return result;
    } catch (error) {
      if (stopped.signal.aborted) return nothing;
      failures += 1;
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (failures - 1));
      logger.warn(
        `slack: reconnecting failed (${error instanceof Error ? error.message : 'connection closed'}); next attempt in ${Math.round(delay / 1000)} s`,
      );
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped.signal.aborted) void client.start();
      }, delay);
      return nothing;
    }
  };
  client.start = () => {
    if (!initialDone) return connect();
    const running = attempt();
    inFlight = running;
    void running.finally(() => {
      if (inFlight === running) inFlight = undefined;
    });
    return running;
  };
  return {
    connected() {
      initialDone = true;
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      const running = inFlight;
      if (running === undefined) return;
      // A Slack that never says hello must not hold the stop forever.
      await withTimeout(running, HELLO_TIMEOUT_MS, () => {
        void client.disconnect();
      }).catch(() => {});
    },
  };
}
