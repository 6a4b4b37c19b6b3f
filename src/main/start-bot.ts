// Starting the Slack bot from its configuration: secrets, the Slack app, the engine, the listeners (and the
// messages of runs a previous process left unfinished) and the schedule, in that order; and stopping them:
// the Slack app, the schedule, what is still in flight, the engine. src/main/bot.ts runs this for `npm start`;
// tests run it in-process against the fake Slack.
import type { Env } from '../adapters/config/parse.ts';
import { loadSecrets } from '../adapters/config/secrets.ts';
import { describeHealthChange } from '../scheduler/fleet-changes.ts';
import { expireJob, statusJob } from '../scheduler/jobs.ts';
import { PENDING_JOB, pendingJob } from '../scheduler/pending-job.ts';
import { fleetReportMessage } from '../scheduler/report-message.ts';
import { type Schedule, startSchedule } from '../scheduler/schedule.ts';
import { createSlackApp, type SlackAppOptions, SlackStartError } from '../slack/app.ts';
import type { LogSink } from '../slack/bolt-logger.ts';
import { approverCheckFor, type SlackBot, startSlackBot } from '../slack/bot.ts';
import type { RunTracker } from '../slack/run-messages.ts';
import { catchUpLine } from '../verbs/render-pending.ts';
import { runSlack } from '../verbs/render-run.ts';
import { type Composed, ConfigError, composeFromConfig, loadConfigOrThrow } from './compose.ts';

/**
 * How many of the newest runs are looked at for interrupted ones at start-up. Rewriting an interrupted
 * run's message is idempotent, so runs interrupted before an earlier start (or noticed first by a terminal
 * command) are covered too, at the cost of a few repeated updates.
 */
const INTERRUPTED_LOOKBACK = 50;

/** The schedule's job that warns of restart questions about to expire (with the expiry sweep's timing). */
export const WARN_EXPIRING_JOB = 'warn-expiring-approvals';

/** A reason not to start that the operator must fix: exit status 2, no stack. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface StartBotOptions {
  readonly configFile: string;
  readonly env: Env;
  readonly log: LogSink;
  /** Tests: no retries, a known identity, any free port. Production leaves these out. */
  readonly slack?: Pick<SlackAppOptions, 'retryConfig' | 'identity' | 'port' | 'budget'>;
  readonly now?: () => Date;
  readonly updateIntervalMs?: number;
}

export interface RunningBot {
  readonly composed: Composed;
  readonly slack: SlackBot;
  readonly schedule: Schedule;
  /** The HTTP port in `http` mode. */
  readonly port: number | undefined;
  /**
   * Stops the Slack app first (no new requests), then the schedule (no new jobs), then waits for the
   * requests in flight and their messages, then closes the engine and its state.
   */
  stop(): Promise<void>;
}

export async function startBot(options: StartBotOptions): Promise<RunningBot> {
  const { configFile, env } = options;
  let log = options.log;
  let config: Awaited<ReturnType<typeof loadConfigOrThrow>>;
  try {
    config = await loadConfigOrThrow(configFile, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new StartupError(error.message);
    throw error;
  }
  const slackConfig = config.slack;
  if (slackConfig === undefined) {
    throw new StartupError(
      `${configFile} has no slack section, so there is nothing for the bot to do; add one (docs/configuration.md), or use the terminal command \`signage\`.`,
    );
  }
  const secrets = await loadSecrets(env, {
    needSocket: slackConfig.mode === 'socket',
    needHttp: slackConfig.mode === 'http',
  });
  // The message names the missing variables and points at manifest.yml and docs/slack.md; it shows no value.
  if (!secrets.ok) throw new StartupError(secrets.message);

  let app: ReturnType<typeof createSlackApp>;
  try {
    app = createSlackApp({
      mode: slackConfig.mode,
      tokens: {
        bot: secrets.value.botToken,
        ...(secrets.value.appToken === undefined ? {} : { app: secrets.value.appToken }),
        ...(secrets.value.signingSecret === undefined ? {} : { signingSecret: secrets.value.signingSecret }),
      },
      port: slackConfig.port,
      host: slackConfig.listenAddress,
      slackApiUrl: slackConfig.apiUrl,
      logger: log,
      ...options.slack,
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'SlackConfigError') throw new StartupError(error.message);
    throw error;
  }
  // From here on the log goes through the app's sink, which scrubs the bot's secrets from every line.
  log = app.logger;
  const isApprover = approverCheckFor(app, slackConfig);

  const composed = await composeFromConfig(config, configFile, {
    env,
    slackApprover: async (userId) => (await isApprover(userId)).allowed,
    ...(options.now === undefined ? {} : { now: options.now }),
  }).catch((error: unknown) => {
    if (error instanceof ConfigError) throw new StartupError(error.message);
    throw error;
  });
  for (const w of composed.warnings) log.warn(`state: ${w}`);
  const { interruptedRuns, freedLocks } = composed.recovered;
  if (interruptedRuns + freedLocks > 0) {
    log.warn(
      `state: the previous process stopped mid-run; ${interruptedRuns} run(s) marked interrupted, ${freedLocks} host lock(s) freed`,
    );
  } else {
    log.info('state: nothing left over from a previous process');
  }
  log.info(`engine: ${composed.hosts.length} host(s): ${composed.hosts.map((h) => h.name).join(', ')}`);

  let slack: SlackBot;
  try {
    slack = await startSlackBot({
      composed,
      app,
      slackConfig,
      log,
      isApprover,
      ...(options.updateIntervalMs === undefined ? {} : { updateIntervalMs: options.updateIntervalMs }),
      ...(options.now === undefined ? {} : { now: options.now }),
      screenshot: config.screenshot,
    });
  } catch (error) {
    await app.stop();
    await composed.close();
    // A refused token or a taken port is the operator's to fix, like a bad configuration.
    if (
      error instanceof SlackStartError &&
      (error.kind === 'token-refused' || error.kind === 'port-in-use')
    ) {
      throw new StartupError(error.message);
    }
    throw error;
  }

  // Activations a stopped process left open: the hosts say how they ended, and the run messages show it.
  for (const s of await composed.engine.settleActivations({ kind: 'schedule', job: 'start' })) {
    if (s.outcome === null) log.warn(`activation: ${s.message}`);
    else log.info(`activation: ${s.message}`);
  }

  // Runs the previous process left running can never finish; their messages must not say "running" forever.
  const interrupted = composed.store
    .recentRuns({ limit: INTERRUPTED_LOOKBACK })
    .filter((run) => run.status === 'interrupted' && run.slack !== null)
    .map((run) => run.id);
  if (interrupted.length > 0) {
    const updated = await slack.markInterrupted(interrupted);
    log.info(`slack: ${updated} of ${interrupted.length} interrupted run message(s) say so`);
  }

  const { schedule: when } = config;
  const catchUpTrackers = new Map<string, RunTracker>();
  const schedule = startSchedule({
    timezone: when.timezone,
    log,
    jobs: [
      {
        name: WARN_EXPIRING_JOB,
        cron: when.expireApprovals,
        run: async () => {
          const warned = await slack.warnExpiring();
          if (warned > 0) log.info(`schedule: ${warned} restart question(s) about to expire, warned`);
          return warned;
        },
      },
      expireJob(composed.engine, when.expireApprovals, {
        onEvent: slack.route,
        onExpired: async (expired) => {
          const updated = await slack.markExpired(expired);
          log.info(`schedule: ${expired.length} restart question(s) expired, ${updated} message(s) updated`);
        },
      }),
      pendingJob(composed.engine, when.pendingWork, {
        canAsk: true,
        askerFor: (work) => {
          const actor = { kind: 'schedule', job: PENDING_JOB } as const;
          if (slackConfig.channel === undefined) return { actor, onEvent: slack.route };
          // Each catch-up has its run message in the channel, with its restart question in its thread.
          const requester = work.requestedBy.kind === 'slack' ? work.requestedBy.userId : undefined;
          const tracker = slack.runMessages.track(slackConfig.channel, requester);
          catchUpTrackers.set(work.host, tracker);
          return { actor, onEvent: tracker.onEvent };
        },
        told: async (catchUp) => {
          const tracker = catchUpTrackers.get(catchUp.host);
          catchUpTrackers.delete(catchUp.host);
          if (tracker && catchUp.run) await tracker.finish(runSlack(catchUp.run));
          const line = catchUpLine(catchUp);
          await slack.postToChannel({ text: line });
          log.info(`schedule: ${line}`);
        },
      }),
      ...(when.status === false
        ? []
        : [
            statusJob(
              composed.engine,
              when.status,
              async (report) => {
                await slack.postToChannel(fleetReportMessage(report));
                log.info(
                  report.kind === 'first'
                    ? `schedule: first fleet report posted (${report.rows.length} host(s))`
                    : `schedule: fleet changes posted: ${[
                        ...report.changes.map((c) => `${c.host} ${c.from ?? 'new'} -> ${c.to}`),
                        ...report.health.map((c) => `${c.host} ${describeHealthChange(c)}`),
                      ].join(', ')}`,
                );
              },
              { store: composed.store, now: options.now ?? (() => new Date()) },
              (rows) => slack.home.update(rows),
            ),
          ]),
    ],
  });

  let stopping: Promise<void> | undefined;
  return {
    composed,
    slack,
    schedule,
    port: slack.port,
    stop() {
      stopping ??= (async () => {
        // No new requests, then no new jobs; only then is what is in flight waited for, so nothing can queue
        // a message after the wait, and the state closes last.
        await slack.disconnect();
        await schedule.stop();
        await slack.settled();
        await composed.close();
      })();
      return stopping;
    },
  };
}
