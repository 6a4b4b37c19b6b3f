// `/signage …`: the text is checked (length, control characters) and the caller's refusal rule applied
// inside the acknowledgement, so a bad request is answered at once and nothing runs; the rest is handed to
// the command handler with a request context. A handler that throws is reported to the requester alone.
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { errorMessage } from './blocks/error.ts';
import { requestContext, type SlackRequestContext } from './context.ts';
import { onSlashCommand, userFacingDetail } from './listeners.ts';
import { checkRequestText } from './text-input.ts';

export const SLASH_COMMAND = '/signage';

export type CommandHandler = (text: string, ctx: SlackRequestContext) => Promise<void>;

export interface Requester {
  readonly userId: string;
  readonly channelId: string;
}

export interface SlashCommandOptions {
  /** Default `/signage`. */
  readonly command?: string;
  /** Decided inside the acknowledgement (quick and pure): a message refuses the request with it. */
  readonly refuse?: (text: string, who: Requester) => SlackMessage | undefined;
  readonly onCommand: CommandHandler;
}

export function registerSlashCommand(app: SlackApp, options: SlashCommandOptions): void {
  const command = options.command ?? SLASH_COMMAND;
  onSlashCommand(app, command, {
    refuse(cmd) {
      const checked = checkRequestText(cmd.text ?? '');
      if (!checked.ok) {
        app.logger.info(`${command} refused for ${cmd.user_id} in ${cmd.channel_id}: ${checked.reason}`);
        return errorMessage({ summary: 'The request was not run.', detail: checked.reason });
      }
      return options.refuse?.(checked.text, { userId: cmd.user_id, channelId: cmd.channel_id });
    },
    async run({ command: cmd, client, respond }) {
      const checked = checkRequestText(cmd.text ?? '');
      // Refused in the acknowledgement already; checked again so nothing unchecked can reach the handler.
      if (!checked.ok) return;
      const ctx = requestContext({ app, client, userId: cmd.user_id, channelId: cmd.channel_id, respond });
      await options.onCommand(checked.text, ctx);
    },
    async onError(error, { command: cmd, client, respond }) {
      app.logger.error(`${command} by ${cmd.user_id} failed unexpectedly:`, error);
      const ctx = requestContext({ app, client, userId: cmd.user_id, channelId: cmd.channel_id, respond });
      await ctx.ephemeral(
        errorMessage({
          summary: `${command} failed unexpectedly.`,
          detail: userFacingDetail(error),
          next: "Nothing more will happen for this request. The bot's log has the details.",
        }),
      );
    },
  });
}
