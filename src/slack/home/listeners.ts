// The Home tab's listeners: opening it publishes the fleet from the cache, and a Show screen button posts that
// host's screenshot in the fleet channel (`slack.channel`), where the team sees it, naming who asked. The
// Home tab has no response URL: a refusal or a failure reaches the clicker in the app's Messages tab.
import type { BlockButtonAction } from '@slack/bolt';
import type { Engine } from '../../engine/engine.ts';
import { selector } from '../../verbs/args.ts';
import { screenshotFile } from '../../verbs/screenshot-file.ts';
import type { SlackMessage } from '../../verbs/verb.ts';
import { type AccessPolicy, checkAccess } from '../access.ts';
import type { SlackApp } from '../app.ts';
import { context, escapeMrkdwn, message, section } from '../blocks/kit.ts';
import type { LogSink } from '../bolt-logger.ts';
import { type Screens, screenshotProblem } from '../files/screens.ts';
import { blocksOf } from '../message-port.ts';
import type { FleetHome } from './fleet-home.ts';
import { SHOW_SCREEN_ACTION } from './view.ts';

export interface HomeListenerOptions {
  readonly home: FleetHome;
  readonly engine: Pick<Engine, 'screenshot' | 'resolve'>;
  readonly screens: Pick<Screens, 'post'>;
  readonly policy: AccessPolicy;
  /** Where Show screen posts: `slack.channel`. */
  readonly channel: string | undefined;
  readonly log: LogSink;
}

const ACTION = new RegExp(`^${SHOW_SCREEN_ACTION.replace(/\./g, '\\.')}`);

export function registerHomeListeners(app: SlackApp, options: HomeListenerOptions): void {
  const { home, log } = options;

  app.bolt.event('app_home_opened', async ({ event }) => {
    // The Messages tab opens with the same event; only the Home tab shows the fleet.
    if (event.tab !== 'home') return;
    try {
      await home.opened(event.user);
    } catch (error) {
      log.warn(`slack: the Home tab of ${event.user} was not published:`, describe(error));
    }
  });

  app.bolt.action<BlockButtonAction>(
    { type: 'block_actions', action_id: ACTION },
    async ({ ack, body, action }) => {
      await ack();
      const user = body.user.id;
      const tell = (msg: SlackMessage) =>
        app.chat.postMessage({ channel: user, text: msg.text, ...blocksOf(msg) }).then(
          () => undefined,
          (error: unknown) =>
            log.warn(`slack: could not tell ${user} about their Show screen click:`, describe(error)),
        );
      const host = selector.safeParse(action.value ?? '');
      if (!host.success || host.data === 'all' || host.data.startsWith('@')) {
        log.warn(`slack: Show screen by ${user} with a malformed host; ignored`);
        await tell(plain('This button does not name a screen the bot knows; nothing was done.'));
        return;
      }
      const name = host.data;
      // Viewers may look; with `slack.channels` set, the fleet channel must be one of them to be asked from.
      const channel = options.channel;
      const access = checkAccess(
        options.policy,
        { userId: user, channelId: channel ?? '' },
        { access: 'view' },
      );
      if (!access.allowed) {
        // The reason is mrkdwn written by access.ts (it links channels).
        await tell(
          message(`${access.reason} ${access.next}`, [section(`🔒 ${access.reason}`), context(access.next)]),
        );
        return;
      }
      if (channel === undefined) {
        await tell(
          plain('Screenshots from the Home tab go to the fleet channel, and `slack.channel` is not set.'),
        );
        return;
      }
      try {
        options.engine.resolve([name]);
        const shot = await options.engine.screenshot(name, {
          actor: { kind: 'slack', userId: user },
          onEvent: () => {},
        });
        await options.screens.post(screenshotFile(shot), {
          channel,
          comment: `🖥️ *${escapeMrkdwn(name)}*: what the screen shows · asked by <@${user}> from the Home tab`,
        });
        log.info(`slack: Show screen ${name} by ${user}: posted in ${channel}`);
      } catch (error) {
        log.info(`slack: Show screen ${name} by ${user}: ${describe(error)}`);
        await tell(screenshotProblem(name, error));
      }
    },
  );
}

function plain(text: string): SlackMessage {
  return message(text, [
    section(escapeMrkdwn(text)),
    context('The Home tab shows the fleet; `/signage help` lists what the bot can do.'),
  ]);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
