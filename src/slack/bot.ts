// The Slack front end, wired: `/signage`, the approval buttons and `@signage` questions, all on one engine.
// Behaviour lives in the handlers (slash-handler, decisions, mention-handler) and run-messages; this file
// only connects them to the app and keeps count of work in flight, so stopping waits for it.
import type { SlackConfig } from '../adapters/config/schema.ts';
import type { ProgressSink } from '../core/events.ts';
import type { ApprovalRecord } from '../core/ports/state.ts';
import { describePending } from '../engine/pending.ts';
import type { Composed } from '../main/compose.ts';
import type { AnyVerb } from '../verbs/parse.ts';
import { verbs as allVerbs } from '../verbs/registry.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { AccessPolicy } from './access.ts';
import { registerApprovalActions } from './actions.ts';
import type { SlackApp } from './app.ts';
import { type ApproverDecision, createApproverCheck, slackGroupResolver } from './approvers.ts';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, NEXT_WINDOW_ACTION_ID } from './blocks/approval.ts';
import type { LogSink } from './bolt-logger.ts';
import { registerSlashCommand } from './commands.ts';
import { decisionHandler, markExpired } from './decisions.ts';
import { createExpiryWarnings } from './expiry-warnings.ts';
import { createScreens, type Screens } from './files/screens.ts';
import { createFleetHome, type FleetHome } from './home/fleet-home.ts';
import { registerHomeListeners } from './home/listeners.ts';
import { SHOW_SCREEN_ACTION } from './home/view.ts';
import { registerFallbacks } from './interactivity.ts';
import { mentionHandler } from './mention-handler.ts';
import { registerMentions } from './mentions.ts';
import { blocksOf } from './message-port.ts';
import { NEXT_STEP_ACTIONS, registerNextStepActions } from './next-steps/actions.ts';
import { createRunMessages, type RunMessages } from './run-messages.ts';
import { slashCommandOptions } from './slash-handler.ts';

export interface SlackBotOptions {
  readonly composed: Pick<Composed, 'engine' | 'store'>;
  readonly app: SlackApp;
  readonly slackConfig: SlackConfig;
  readonly log: LogSink;
  /** The approver check the engine was composed with; made from `slackConfig.approvers` when absent. */
  readonly isApprover?: (userId: string) => Promise<ApproverDecision>;
  readonly verbs?: readonly AnyVerb[];
  /** Least time between two updates of a progress message. */
  readonly updateIntervalMs?: number;
  /** The clock questions expire by (the engine's). */
  readonly now?: () => Date;
  /** Screenshots after a change (the configuration's `screenshot` section); on, after 5 s, by default. */
  readonly screenshot?: { readonly afterChange: boolean; readonly settleSeconds: number };
}

export interface SlackBot {
  /** The port `/slack/events` listens on, in HTTP mode. */
  readonly port: number | undefined;
  readonly runMessages: RunMessages;
  /** The App Home tab: the scheduled status job hands it what it saw. */
  readonly home: FleetHome;
  /** Where events of runs taken up again by the schedule go. */
  readonly route: ProgressSink;
  /** Rewrites expired questions' messages (buttons gone, when it expired). */
  markExpired(expired: readonly ApprovalRecord[]): Promise<number>;
  /** Warns in their threads about questions expiring within `slack.approvers.warnBeforeExpiryMinutes`. */
  warnExpiring(): Promise<number>;
  /** Posts in `slack.channel`; false when none is configured. */
  postToChannel(message: SlackMessage): Promise<boolean>;
  /** Rewrites the messages of runs a stopped bot left `interrupted`; returns how many were updated. */
  markInterrupted(runIds: readonly string[]): Promise<number>;
  /** Resolves once every request in flight has been answered and every message update is out. */
  settled(): Promise<void>;
  /** Disconnects from Slack: no new requests; those in flight go on (`settled` waits for them). */
  disconnect(): Promise<void>;
  /** Disconnects, then waits for the requests in flight. */
  stop(): Promise<void>;
}

/** An approver check on the configuration's users and user group (members read from Slack, cached). */
export function approverCheckFor(
  app: SlackApp,
  slackConfig: SlackConfig,
): (userId: string) => Promise<ApproverDecision> {
  return createApproverCheck(
    { users: slackConfig.approvers.users, usergroup: slackConfig.approvers.usergroup },
    slackGroupResolver(app.client),
  );
}

/** Registers every listener on `app` and connects it (Socket Mode) or starts listening (HTTP). */
export async function startSlackBot(options: SlackBotOptions): Promise<SlackBot> {
  const { app, slackConfig, log } = options;
  const { engine, store } = options.composed;
  const verbs = options.verbs ?? allVerbs;
  const isApprover = options.isApprover ?? approverCheckFor(app, slackConfig);
  const policy: AccessPolicy = {
    deployers: slackConfig.deployers,
    viewers: slackConfig.viewers,
    channels: slackConfig.channels,
  };
  // Both follow every run's events; they are made below, once the run messages they post through exist.
  let screens: Screens | undefined;
  let home: FleetHome | undefined;
  const runMessages = createRunMessages({
    slack: app,
    store,
    log,
    observe: (event) => {
      screens?.observe(event);
      home?.observe(event);
    },
    ...(options.updateIntervalMs === undefined ? {} : { updateIntervalMs: options.updateIntervalMs }),
    approvers: slackConfig.approvers,
  });
  const warnExpiring = createExpiryWarnings({
    store,
    runMessages,
    approvers: slackConfig.approvers,
    leadMs: slackConfig.approvers.warnBeforeExpiryMinutes * 60_000,
    now: options.now ?? (() => new Date()),
  });

  // Every request, from its acknowledgement to its last reply, is counted while it runs: stopping and
  // tests wait for them.
  const inFlight = new Set<Promise<unknown>>();
  app.bolt.use(async ({ next }) => {
    const running = next();
    inFlight.add(running);
    const forget = () => inFlight.delete(running);
    running.then(forget, forget);
    await running;
  });

  screens = createScreens({
    app,
    engine,
    hosts: engine.hosts,
    runMessages,
    log,
    afterChange: options.screenshot?.afterChange ?? true,
    settleMs: (options.screenshot?.settleSeconds ?? 5) * 1000,
  });
  // Show screen buttons need somewhere to post: the fleet channel.
  const screenshots = new Set(
    slackConfig.channel === undefined
      ? []
      : engine.hosts.filter((h) => h.screenshot !== undefined).map((h) => h.name),
  );
  home = createFleetHome({
    app,
    engine,
    log,
    screenshots,
    hostsOfRun: (runId) => store.getRun(runId)?.hosts ?? [],
    // Hosts waiting for a catch-up or their window, with why (src/engine/pending.ts).
    notes: () =>
      engine.pending().map((w) => ({
        host: w.host,
        text: describePending(
          w,
          engine.hosts.find((h) => h.name === w.host),
        ),
      })),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  registerFallbacks(
    app,
    new Set([APPROVE_ACTION_ID, DENY_ACTION_ID, NEXT_WINDOW_ACTION_ID, ...NEXT_STEP_ACTIONS]),
    [SHOW_SCREEN_ACTION],
  );

  const resolve = (selectors: readonly string[]) => engine.resolve(selectors);
  const files = screens;
  const slash = slashCommandOptions({ engine, verbs, policy, resolve, runMessages, log, files });
  registerSlashCommand(app, slash);
  registerNextStepActions(app, { store, onCommand: slash.onCommand });
  registerApprovalActions(app, {
    isApprover,
    approvers: slackConfig.approvers,
    onDecision: decisionHandler({ engine, runMessages, log, approvers: slackConfig.approvers }),
  });
  registerMentions(app, {
    onMention: mentionHandler({ engine, verbs, policy, resolve, log, files }),
    channels: policy.channels,
    // Every verb is recognised, so `@signage deploy x` is pointed at the slash command rather than misread.
    verbs: verbs.map((v) => v.name),
  });

  const fleetHome = home;
  registerHomeListeners(app, {
    home: fleetHome,
    engine,
    screens,
    policy,
    channel: slackConfig.channel,
    log,
  });

  const started = await app.start();
  log.info(
    `slack: ${app.mode === 'socket' ? 'connected in Socket Mode' : `listening for HTTP on ${started.host ?? 'every address'} port ${started.port}`}` +
      `; ${policy.deployers.length} deployer(s), viewers: ${policy.viewers === 'everyone' ? 'everyone' : policy.viewers.length}` +
      (policy.channels.length > 0 ? `, only in ${policy.channels.join(', ')}` : ''),
  );

  const settled = async () => {
    // A request that ends queues message updates, and waiting for those can see another request end.
    do {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await runMessages.settled();
      await screens.settled();
      await fleetHome.settled();
    } while (inFlight.size > 0);
  };
  let stopping: Promise<void> | undefined;
  return {
    port: started.port,
    runMessages,
    home: fleetHome,
    route: runMessages.route,
    markExpired: (expired) => markExpired(app, expired, log),
    warnExpiring,
    async postToChannel(msg) {
      if (slackConfig.channel === undefined) return false;
      await app.chat.postMessage({ channel: slackConfig.channel, text: msg.text, ...blocksOf(msg) });
      return true;
    },
    markInterrupted: (runIds) => runMessages.markInterrupted(runIds),
    settled,
    disconnect: () => app.stop(),
    stop() {
      stopping ??= (async () => {
        await app.stop();
        await settled();
      })();
      return stopping;
    },
  };
}
