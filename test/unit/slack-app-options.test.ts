// createSlackApp refuses configurations that cannot work before anything connects, naming the setting to fix
// and never repeating a secret. Building the app makes no network call (auth.test waits for start()).
import { describe, expect, it } from 'vitest';
import {
  createSlackApp,
  DEFAULT_HTTP_PORT,
  PRODUCTION_RETRY,
  type SlackAppOptions,
  SlackConfigError,
} from '../../src/slack/app.ts';
import { redact } from '../../src/slack/bolt-logger.ts';
import { captureLog, secret } from '../support/fake-slack/index.ts';

const BOT = 'xoxb-1234-5678-topSecretBotPart';
const APP = 'xapp-1-A1-99-topSecretAppPart';
const SIGNING = '8f742231b10e8888abcd99yyyzzz85a5';

function options(overrides: Partial<SlackAppOptions> = {}): SlackAppOptions {
  return {
    mode: 'socket',
    tokens: { bot: secret(BOT), app: secret(APP) },
    logger: captureLog(),
    // Nothing listens here: a test that connected by mistake would fail loudly.
    slackApiUrl: 'http://127.0.0.1:9/api/',
    ...overrides,
  };
}

function configError(make: () => unknown): SlackConfigError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(SlackConfigError);
    return error as SlackConfigError;
  }
  throw new Error('expected a SlackConfigError');
}

describe('createSlackApp', () => {
  it('builds a Socket Mode app and an HTTP app without calling Slack', async () => {
    const socket = createSlackApp(options());
    expect(socket.mode).toBe('socket');
    const http = createSlackApp(
      options({ mode: 'http', tokens: { bot: secret(BOT), signingSecret: secret(SIGNING) } }),
    );
    expect(http.mode).toBe('http');
    await socket.stop();
    await http.stop();
  });

  it('refuses a bot token of another kind, naming the variable but not the secret', () => {
    const error = configError(() =>
      createSlackApp(options({ tokens: { bot: secret('xoxp-user-token-secretpart'), app: secret(APP) } })),
    );
    expect(error.variable).toBe('SLACK_BOT_TOKEN');
    expect(error.message).toBe(
      'SLACK_BOT_TOKEN must be a bot token starting with xoxb-; it starts with xoxp-, which is another kind of token.',
    );
    expect(error.message).not.toContain('secretpart');
  });

  it('refuses an app-level token where the bot token belongs, and a missing one in Socket Mode', () => {
    expect(
      configError(() => createSlackApp(options({ tokens: { bot: secret(BOT), app: secret(BOT) } }))).variable,
    ).toBe('SLACK_APP_TOKEN');
    const missing = configError(() => createSlackApp(options({ tokens: { bot: secret(BOT) } })));
    expect(missing.message).toMatch(/Socket Mode needs the app-level token: set SLACK_APP_TOKEN/);
  });

  it('refuses empty values and values with white space in them', () => {
    expect(
      configError(() => createSlackApp(options({ tokens: { bot: secret(''), app: secret(APP) } }))).message,
    ).toBe('SLACK_BOT_TOKEN is empty.');
    const pasted = configError(() =>
      createSlackApp(options({ tokens: { bot: secret('xoxb-1234 5678-part'), app: secret(APP) } })),
    );
    expect(pasted.message).toMatch(/contains white space/);
    // The newline that ends a secret file is not part of the token.
    expect(createSlackApp(options({ tokens: { bot: secret(`${BOT}\n`), app: secret(APP) } })).mode).toBe(
      'socket',
    );
  });

  it('needs the signing secret in HTTP mode', () => {
    const error = configError(() => createSlackApp(options({ mode: 'http', tokens: { bot: secret(BOT) } })));
    expect(error.variable).toBe('SLACK_SIGNING_SECRET');
  });

  it('refuses a port that is not one', () => {
    for (const port of [-1, 65_536, 3000.5, Number.NaN]) {
      const error = configError(() =>
        createSlackApp(
          options({ mode: 'http', port, tokens: { bot: secret(BOT), signingSecret: secret(SIGNING) } }),
        ),
      );
      expect(error.variable).toBe('slack.port');
    }
    expect(DEFAULT_HTTP_PORT).toBe(3000);
  });

  it('retries a few times with back-off in production', () => {
    expect(PRODUCTION_RETRY).toMatchObject({ retries: 4, minTimeout: 1000, maxTimeout: 15_000 });
  });
});

describe('redact', () => {
  it('removes the secrets and anything shaped like a Slack token', () => {
    expect(redact(`auth with ${BOT} and ${SIGNING}`, [BOT, SIGNING])).toBe(
      'auth with [redacted] and [redacted]',
    );
    expect(redact('Bearer xoxb-9999-8888-someoneElsesToken, xapp-1-A2-77-abcdef', [])).toBe(
      'Bearer [redacted], [redacted]',
    );
    expect(redact('xoxb- alone and xox words', [])).toBe('xoxb- alone and xox words');
  });
});
