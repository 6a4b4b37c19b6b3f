// The real Bolt app (through createSlackApp) against the fake Slack, started and stopped in the one order
// that leaves nothing behind: the fake first, then the app; on the way out the app first (so its socket
// closes cleanly), then the fake.
import { createSlackApp, type Secret, type SlackApp, type SlackAppOptions } from '../../../src/slack/app.ts';
import type { LogSink, SlackLogLevel } from '../../../src/slack/bolt-logger.ts';
import { FAKE_TOKENS, FakeSlack, type FakeSlackOptions } from './fake-slack.ts';

export function secret(value: string): Secret {
  return { reveal: () => value };
}

export interface CapturedLog extends LogSink {
  readonly lines: string[];
  /** Every line, joined: for "does the log contain …". */
  text(): string;
}

/** A log sink that keeps its lines (and can echo them, for debugging a test). */
export function captureLog(echo = false): CapturedLog {
  const lines: string[] = [];
  const at =
    (level: SlackLogLevel) =>
    (...parts: unknown[]) => {
      const line = `${level} ${parts.map((p) => (p instanceof Error ? (p.stack ?? p.message) : typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}`;
      lines.push(line);
      if (echo) process.stderr.write(`${line}\n`);
    };
  return {
    lines,
    text: () => lines.join('\n'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

export interface HarnessOptions {
  readonly mode?: 'socket' | 'http';
  readonly fake?: FakeSlackOptions;
  /** An already running fake (the harness then leaves stopping it to the caller). */
  readonly fakeSlack?: FakeSlack;
  /** Registers listeners before the app starts. */
  readonly register?: (app: SlackApp) => void;
  /** Skip auth.test by giving the bot's identity up front. */
  readonly knownIdentity?: boolean;
  readonly logLevel?: SlackLogLevel;
  readonly app?: Partial<Omit<SlackAppOptions, 'logger'>>;
}

export interface Harness {
  readonly fake: FakeSlack;
  readonly app: SlackApp;
  readonly log: CapturedLog;
  /** HTTP mode: the bot's `/slack/events` URL. */
  readonly eventsUrl: string | undefined;
  /** Stops the app, then the fake (unless the fake was given). */
  stop(): Promise<void>;
}

/** The options that point an app at `fake`, with no retries (a failing call fails at once). */
export function appOptionsFor(
  fake: FakeSlack,
  log: LogSink,
  mode: 'socket' | 'http' = 'socket',
): SlackAppOptions {
  return {
    mode,
    tokens: {
      bot: secret(FAKE_TOKENS.bot),
      ...(mode === 'socket'
        ? { app: secret(FAKE_TOKENS.app) }
        : { signingSecret: secret(FAKE_TOKENS.signingSecret) }),
    },
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    requestTimeoutMs: 5000,
    logger: log,
    ...(mode === 'http' ? { port: 0, host: '127.0.0.1' } : {}),
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const mode = options.mode ?? 'socket';
  const fake = options.fakeSlack ?? (await FakeSlack.start(options.fake));
  const log = captureLog(process.env.SIGNAGE_TEST_ECHO_LOG === '1');
  const app = createSlackApp({
    ...appOptionsFor(fake, log, mode),
    logLevel: options.logLevel ?? 'debug',
    ...(options.knownIdentity ? { identity: { botId: fake.botId, botUserId: fake.botUserId } } : {}),
    ...options.app,
  });
  options.register?.(app);
  let started: { port?: number };
  try {
    started = await app.start();
  } catch (error) {
    await app.stop();
    if (options.fakeSlack === undefined) await fake.stop();
    throw error;
  }
  return {
    fake,
    app,
    log,
    eventsUrl: started.port === undefined ? undefined : `http://127.0.0.1:${started.port}/slack/events`,
    async stop() {
      await app.stop();
      if (options.fakeSlack === undefined) await fake.stop();
    },
  };
}
