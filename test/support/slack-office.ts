// The whole bot as `npm start` runs it (startBot: configuration file, secrets from the environment, the
// engine, the real Bolt app, the schedule) on a simulated office, talking to the fake Slack. A clock the test
// can move forward stands in for waiting half an hour for a question to expire; it survives a restart of
// the bot, as the wall clock would.

import { type RunningBot, startBot } from '../../src/main/start-bot.ts';
import type { Office } from '../office/index.ts';
import { type CapturedLog, captureLog, FAKE_TOKENS, type FakeSlack } from './fake-slack/index.ts';
import { officeConfig } from './office-bot.ts';

export const CHANNEL = 'C0SIGNAGE';
/** Approver (named) and deployer. */
export const ALICE = 'U0ALICE';
/** Deployer, not an approver. */
export const BOB = 'U0BOB';
/** Approver through the user group, not a deployer. */
export const CAROL = 'U0CAROL';
/** Neither: a viewer, as everyone is. */
export const VICTOR = 'U0VICTOR';
export const APPROVERS_GROUP = 'S0APPROVE';

/** A cron expression that does not come round during a test: jobs run when the test says (runNow). */
export const NEVER = '0 0 1 1 *';

export interface SlackOfficeOptions {
  readonly mode?: 'socket' | 'http';
  readonly slack?: Record<string, unknown>;
  readonly schedule?: Record<string, unknown>;
  readonly limits?: Record<string, unknown>;
  readonly tags?: (host: string) => string[];
}

export interface SlackOffice {
  readonly bot: RunningBot;
  readonly log: CapturedLog;
  readonly file: string;
  readonly stateDir: string;
  /** Moves the bot's clock forward. */
  advance(ms: number): void;
  /** Stops the bot (app, schedule, engine) and starts a new one on the same configuration and state. */
  restart(): Promise<void>;
  /** Stops the bot and removes its state directory. */
  stop(): Promise<void>;
}

/** The fake's group of approvers, for FakeSlack.start. */
export const FAKE_DIRECTORY = { usergroups: { [APPROVERS_GROUP]: [CAROL] } };

export async function startSlackOffice(
  office: Office,
  fake: FakeSlack,
  options: SlackOfficeOptions = {},
): Promise<SlackOffice> {
  const mode = options.mode ?? 'socket';
  const cfg = officeConfig(office, {
    slack: {
      mode,
      channel: CHANNEL,
      approvers: { users: [ALICE], usergroup: APPROVERS_GROUP },
      deployers: [ALICE, BOB],
      ...options.slack,
    },
    schedule: { status: false, expireApprovals: NEVER, ...options.schedule },
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  const env = {
    SLACK_BOT_TOKEN: FAKE_TOKENS.bot,
    ...(mode === 'socket'
      ? { SLACK_APP_TOKEN: FAKE_TOKENS.app }
      : { SLACK_SIGNING_SECRET: FAKE_TOKENS.signingSecret }),
  };
  const log = captureLog(process.env.SIGNAGE_TEST_ECHO_LOG === '1');
  let offset = 0;
  const start = () =>
    startBot({
      configFile: cfg.file,
      env,
      log,
      slack: {
        slackApiUrl: fake.apiUrl,
        retryConfig: { retries: 0 },
        ...(mode === 'http' ? { port: 0, host: '127.0.0.1' } : {}),
      },
      now: () => new Date(Date.now() + offset),
      updateIntervalMs: 250,
    });
  let bot = await start();
  return {
    get bot() {
      return bot;
    },
    log,
    file: cfg.file,
    stateDir: cfg.stateDir,
    advance(ms) {
      offset += ms;
    },
    async restart() {
      await bot.stop();
      bot = await start();
    },
    async stop() {
      await bot.stop();
      cfg.cleanup();
    },
  };
}
