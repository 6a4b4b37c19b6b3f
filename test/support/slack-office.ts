// The whole bot as `npm start` runs it (startBot: configuration file, secrets from the environment, the
// engine, the real Bolt app, the schedule) on a simulated office, talking to the fake Slack. A clock the test
// can move forward stands in for waiting half an hour for a question to expire; it survives a restart of
// the bot, as the wall clock would.

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { type RunningBot, startBot } from '../../src/main/start-bot.ts';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval.ts';
import { type Office, type OfficeOptions, startOffice } from '../office/index.ts';
import {
  type CapturedLog,
  captureLog,
  FAKE_TOKENS,
  FakeSlack,
  type FakeSlackOptions,
  type StoredMessage,
} from './fake-slack/index.ts';
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
  /** Merged into the configuration's `ssh` section. */
  readonly ssh?: Record<string, unknown>;
  readonly tags?: (host: string) => string[];
  readonly screenshot?: Record<string, unknown>;
  readonly hostScreenshot?: (host: string) => string[] | undefined;
  /** The fleet flake instead of the office's plain directory, and the rules for refs off its default branch. */
  readonly flake?: string;
  readonly refs?: Record<string, unknown>;
  /** More top-level sections (`sites`, `tags`). */
  readonly sections?: Record<string, unknown>;
  /** The configuration's `activation` section. */
  readonly activation?: Record<string, unknown>;
}

/** A configuration file for a bot on the office, in a state directory of its own. */
export interface SlackOfficeConfig {
  readonly mode: 'socket' | 'http';
  readonly file: string;
  readonly stateDir: string;
  /** The bot's secrets, as its environment would hold them. */
  readonly env: Readonly<Record<string, string>>;
  /** Removes the state directory. */
  cleanup(): void;
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

/** A stored message's blocks as text, for asserting what a reader sees in them. */
export const blocksText = (m: StoredMessage | undefined): string => JSON.stringify(m?.blocks ?? []);

/** Whether a stored message still offers the restart buttons. */
export const hasButtons = (m: StoredMessage | undefined): boolean =>
  blocksText(m).includes(APPROVE_ACTION_ID);

/** The action ids of a message's buttons, in order. */
export const actionIds = (m: StoredMessage): string[] =>
  ((m.blocks ?? []) as { type: string; elements?: { action_id: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .map((e) => e.action_id);

/** Whether a message in the channel says `text`, in its text or its blocks. */
export const channelSays = (fake: FakeSlack, text: string): boolean =>
  fake.messages(CHANNEL).some((m) => m.text.includes(text) || blocksText(m).includes(text));

/** "HH:MM:SS" of an instant in UTC, as a maintenance window is written. */
export const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** A maintenance window of ten minutes opening an hour from now: a test moves the bot's clock into it. */
export function windowInAnHour(): { readonly opensAt: number; readonly text: string } {
  const opensAt = Math.ceil((Date.now() + 3_600_000) / 1000) * 1000;
  return { opensAt, text: `${hms(opensAt)}-${hms(opensAt + 10 * 60_000)}` };
}

/**
 * ALICE's slash command, and the question it asks once posted (`find` picks it out of the channel), the bot
 * settled after posting it.
 */
export async function askInChannel(
  set: { readonly fake: FakeSlack; readonly bot: SlackOffice },
  text: string,
  find: () => StoredMessage | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<StoredMessage> {
  await set.fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text });
  await set.fake.until(() => find() !== undefined, { timeoutMs, what });
  await set.bot.bot.slack.settled();
  return find()!;
}

/** ALICE (an approver) presses "At the next window" on a question; the question as answered, its buttons gone. */
export async function answerAtNextWindow(fake: FakeSlack, question: StoredMessage): Promise<StoredMessage> {
  await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_next_window' });
  const answered = () => fake.messages(CHANNEL).find((m) => m.ts === question.ts)!;
  await fake.until(() => !hasButtons(answered()), { timeoutMs: 60_000, what: 'the question answered' });
  return answered();
}

/** The fake's group of approvers, for FakeSlack.start. */
export const FAKE_DIRECTORY = { usergroups: { [APPROVERS_GROUP]: [CAROL] } };

export function slackOfficeConfig(
  office: Office,
  fake: Pick<FakeSlack, 'apiUrl'>,
  options: SlackOfficeOptions = {},
): SlackOfficeConfig {
  const mode = options.mode ?? 'socket';
  const cfg = officeConfig(office, {
    slack: {
      mode,
      apiUrl: fake.apiUrl,
      channel: CHANNEL,
      approvers: { users: [ALICE], usergroup: APPROVERS_GROUP },
      deployers: [ALICE, BOB],
      ...options.slack,
    },
    schedule: { status: false, expireApprovals: NEVER, ...options.schedule },
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
    ...(options.screenshot === undefined ? {} : { screenshot: options.screenshot }),
    ...(options.hostScreenshot === undefined ? {} : { hostScreenshot: options.hostScreenshot }),
    ...(options.flake === undefined ? {} : { flake: options.flake }),
    ...(options.refs === undefined ? {} : { refs: options.refs }),
    ...(options.sections === undefined ? {} : { sections: options.sections }),
    ...(options.activation === undefined ? {} : { activation: options.activation }),
  });
  if (options.ssh !== undefined) {
    const config = parse(readFileSync(cfg.file, 'utf8')) as { ssh: Record<string, unknown> };
    writeFileSync(cfg.file, stringify({ ...config, ssh: { ...config.ssh, ...options.ssh } }));
  }
  const env = {
    SLACK_BOT_TOKEN: FAKE_TOKENS.bot,
    ...(mode === 'socket'
      ? { SLACK_APP_TOKEN: FAKE_TOKENS.app }
      : { SLACK_SIGNING_SECRET: FAKE_TOKENS.signingSecret }),
  };
  return { mode, file: cfg.file, stateDir: cfg.stateDir, env, cleanup: cfg.cleanup };
}

export async function startSlackOffice(
  office: Office,
  fake: FakeSlack,
  options: SlackOfficeOptions & { readonly config?: SlackOfficeConfig } = {},
): Promise<SlackOffice> {
  const cfg = options.config ?? slackOfficeConfig(office, fake, options);
  const { mode, env } = cfg;
  const log = captureLog(process.env.SIGNAGE_TEST_ECHO_LOG === '1');
  let offset = 0;
  const start = () =>
    startBot({
      configFile: cfg.file,
      env,
      log,
      slack: {
        retryConfig: { retries: 0 },
        ...(mode === 'http' ? { port: 0 } : {}),
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

/** What most Slack test files share: a simulated office, the fake Slack and the whole bot on them. */
export interface SlackOfficeSet {
  readonly office: Office;
  readonly fake: FakeSlack;
  readonly bot: SlackOffice;
}

type BotOptions = SlackOfficeOptions & { readonly config?: SlackOfficeConfig };

export interface SlackOfficeSetup {
  /** The office, as startOffice takes it. */
  readonly office: OfficeOptions;
  /** The fake Slack's directory and channels; FAKE_DIRECTORY when not given. */
  readonly fake?: FakeSlackOptions;
  /**
   * The bot's options, or a step that makes them once the office and the fake are up (a git fleet of the
   * office's, a configuration file edited by hand).
   */
  readonly bot?: BotOptions | ((office: Office, fake: FakeSlack) => BotOptions | Promise<BotOptions>);
}

/**
 * Starts the office, the fake Slack and the bot, in that order. When a part fails to start, the parts
 * already started are stopped before the error is thrown, so a test file's afterAll never sees half a set.
 */
export async function startSlackOfficeSet(setup: SlackOfficeSetup): Promise<SlackOfficeSet> {
  const office = await startOffice(setup.office);
  let fake: FakeSlack | undefined;
  try {
    fake = await FakeSlack.start(setup.fake ?? FAKE_DIRECTORY);
    const options = typeof setup.bot === 'function' ? await setup.bot(office, fake) : setup.bot;
    const bot = await startSlackOffice(office, fake, options);
    return { office, fake, bot };
  } catch (e) {
    await stopSlackOfficeSet({ fake, office });
    throw e;
  }
}

/** Stops whatever of a set started: the bot before the fake (a fake that disappears under a connected client makes it reconnect), then the office. */
export async function stopSlackOfficeSet(set: Partial<SlackOfficeSet>): Promise<void> {
  await set.bot?.stop();
  await set.fake?.stop();
  await set.office?.close();
}

/** The bot in a process of its own (Socket Mode), so that a test can kill it as a crash would. */
export interface BotProcess {
  readonly pid: number;
  /** Its log so far. */
  stderr(): string;
  /** Kills it and everything it started at once, with no chance to clean up; resolves once it is gone. */
  crash(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** What the child runs: startBot on the configuration, talking to the fake Slack, logging on stderr. */
const CHILD = `
const { startBot } = await import(process.env.SIGNAGE_TEST_START_BOT);
const { lineLogger } = await import(process.env.SIGNAGE_TEST_LOG);
await startBot({
  configFile: process.env.SIGNAGE_TEST_CONFIG,
  env: process.env,
  log: lineLogger((line) => process.stderr.write(line), 'debug'),
  slack: { retryConfig: { retries: 0 } },
  updateIntervalMs: 250,
});
process.stdout.write('ready\\n');
`;

export async function startSlackOfficeProcess(config: SlackOfficeConfig): Promise<BotProcess> {
  if (config.mode !== 'socket') throw new Error('startSlackOfficeProcess: Socket Mode only');
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    // Its own process group, so a crash takes whatever it started (a build) along with it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...config.env,
      SIGNAGE_TEST_START_BOT: pathToFileURL(join(ROOT, 'src', 'main', 'start-bot.ts')).href,
      SIGNAGE_TEST_LOG: pathToFileURL(join(ROOT, 'src', 'main', 'log.ts')).href,
      SIGNAGE_TEST_CONFIG: config.file,
    },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('startSlackOfficeProcess: the bot process did not start');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (process.env.SIGNAGE_TEST_ECHO_LOG === '1') process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error(`the bot process exited before it was ready:\n${stderr}`)));
  });
  return {
    pid,
    stderr: () => stderr,
    async crash() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
      await exited;
    },
  };
}
