// Every listener acknowledges first and works after: Slack gives three seconds for the acknowledgement, and
// the work (a build, a copy) takes minutes. A refusal decided in those three seconds becomes the
// acknowledgement itself. Errors end in `onError`, and an error there is logged: nothing a listener does can
// become an unhandled rejection.
import type {
  AllMiddlewareArgs,
  BlockButtonAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlashCommand,
} from '@slack/bolt';
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { blocksOf } from './message-port.ts';

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
export type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;
export type MentionArgs = SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs;

type Host = Pick<SlackApp, 'bolt' | 'logger'>;

export interface SlashCommandListener {
  /** Runs before the acknowledgement, so it must be quick: a message refuses the command with it. */
  readonly refuse?: (command: SlashCommand) => SlackMessage | undefined;
  readonly run: (args: CommandArgs) => Promise<void>;
  readonly onError: (error: unknown, args: CommandArgs) => Promise<void>;
}

export function onSlashCommand(app: Host, command: string, listener: SlashCommandListener): void {
  app.bolt.command(command, async (args) => {
    let refusal: SlackMessage | undefined;
    try {
      refusal = listener.refuse?.(args.command);
    } catch (error) {
      await args.ack();
      await handled(app, `${command}`, () => listener.onError(error, args));
      return;
    }
    if (refusal !== undefined) {
      await args.ack({ response_type: 'ephemeral', text: refusal.text, ...blocksOf(refusal) });
      return;
    }
    await args.ack();
    await handled(
      app,
      command,
      () => listener.run(args),
      (error) => listener.onError(error, args),
    );
  });
}

export interface ButtonListener {
  readonly run: (args: ButtonArgs) => Promise<void>;
  readonly onError: (error: unknown, args: ButtonArgs) => Promise<void>;
}

export function onButton(app: Host, actionId: string, listener: ButtonListener): void {
  app.bolt.action<BlockButtonAction>({ type: 'block_actions', action_id: actionId }, async (args) => {
    await args.ack();
    await handled(
      app,
      `button ${actionId}`,
      () => listener.run(args),
      (error) => listener.onError(error, args),
    );
  });
}

export interface MentionListener {
  readonly run: (args: MentionArgs) => Promise<void>;
  readonly onError: (error: unknown, args: MentionArgs) => Promise<void>;
}

export function onMention(app: Host, listener: MentionListener): void {
  // Bolt acknowledges events itself, before any listener runs.
  app.bolt.event('app_mention', async (args) => {
    await handled(
      app,
      'mention',
      () => listener.run(args),
      (error) => listener.onError(error, args),
    );
  });
}

async function handled(
  app: Host,
  what: string,
  work: () => Promise<void>,
  onError?: (error: unknown) => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (onError === undefined) {
      app.logger.error(`slack: ${what}: reporting a failure failed:`, error);
      return;
    }
    try {
      await onError(error);
    } catch (reportError) {
      app.logger.error(`slack: ${what} failed:`, error);
      app.logger.error(`slack: ${what}: telling the user failed too:`, reportError);
    }
  }
}

/** An unexpected error as the requester may see it: its message (errorMessage scrubs it of tokens). */
export function userFacingDetail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
