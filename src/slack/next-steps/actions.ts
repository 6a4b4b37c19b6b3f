// What the run message's buttons do. Each click is acknowledged at once and becomes the command a person
// would type: Cancel is `cancel RUN`, Retry the run's verb again for that host with the same ref and
// options, Roll back `rollback HOST`. They then go through the slash command's own path (validation, who
// may run it, the channel's run message), so a button can do nothing a typed command could not.
import { z } from 'zod';
import type { RunRecord, StateStore } from '../../core/ports/state.ts';
import type { SlackApp } from '../app.ts';
import { errorMessage } from '../blocks/error.ts';
import type { CommandHandler } from '../commands.ts';
import { requestContext, type SlackRequestContext } from '../context.ts';
import { type ButtonArgs, onButton, userFacingDetail } from '../listeners.ts';
import { CANCEL_ACTION_ID, RETRY_ACTION_ID, RETRYABLE_VERBS, ROLLBACK_ACTION_ID } from './blocks.ts';

export interface NextStepOptions {
  readonly store: Pick<StateStore, 'getRun'>;
  /** The slash command's handler: the text as if typed after `/signage`. */
  readonly onCommand: CommandHandler;
}

const word = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
const hostValue = z
  .string()
  .max(400)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ run: word, host: word }).strict());

const notOurs = errorMessage({
  summary: 'This button does not belong to a run the bot reported; nothing was done.',
  next: 'Run the command again with `/signage`.',
});

/** The words a Retry types: the run's verb for one host, with the ref and restart choice it was asked with. */
export function retryText(run: Pick<RunRecord, 'verb' | 'options'>, host: string): string | undefined {
  if (!RETRYABLE_VERBS.has(run.verb)) return undefined;
  const words = [run.verb, host];
  const o = run.options ?? {};
  const builds = run.verb === 'deploy' || run.verb === 'switch' || run.verb === 'copy';
  if (builds && typeof o.ref === 'string') words.push('--ref', o.ref);
  if (run.verb === 'deploy' || run.verb === 'rollback') {
    if (o.restart === 'yes') words.push('--restart');
    if (o.restart === 'no') words.push('--no-restart');
  }
  return words.join(' ');
}

export function registerNextStepActions(app: SlackApp, options: NextStepOptions): void {
  const listener = (
    what: string,
    textFor: (value: string, ctx: SlackRequestContext) => string | undefined,
  ) => ({
    async run(args: ButtonArgs) {
      const ctx = contextOf(app, args);
      if (ctx === undefined) return;
      const text = textFor(args.action.value ?? '', ctx);
      if (text === undefined) {
        app.logger.info(`${what} click by ${ctx.userId} with a value the bot did not make; told them`);
        await ctx.ephemeral(notOurs);
        return;
      }
      app.logger.info(`${what} button by ${ctx.userId} in ${ctx.channelId}: ${text}`);
      await options.onCommand(text, ctx);
    },
    async onError(error: unknown, args: ButtonArgs) {
      app.logger.error(`${what} click by ${args.body.user.id} failed unexpectedly:`, error);
      await contextOf(app, args)?.ephemeral(
        errorMessage({
          summary: `The ${what} could not be done.`,
          detail: userFacingDetail(error),
          next: "Try again with `/signage`; the bot's log has the details.",
        }),
      );
    },
  });

  onButton(
    app,
    CANCEL_ACTION_ID,
    listener('cancel', (value) => (word.safeParse(value).success ? `cancel ${value}` : undefined)),
  );
  const forHost = (make: (run: RunRecord, host: string) => string | undefined) => (value: string) => {
    const parsed = hostValue.safeParse(value);
    if (!parsed.success) return undefined;
    const run = options.store.getRun(parsed.data.run);
    if (run === undefined || !run.hosts.includes(parsed.data.host)) return undefined;
    return make(run, parsed.data.host);
  };
  onButton(app, RETRY_ACTION_ID, listener('retry', forHost(retryText)));
  onButton(
    app,
    ROLLBACK_ACTION_ID,
    listener(
      'rollback',
      forHost((_run, host) => `rollback ${host}`),
    ),
  );
}

/** Every action ID this file handles, for the fallback that answers unknown buttons. */
export const NEXT_STEP_ACTIONS: readonly string[] = [CANCEL_ACTION_ID, RETRY_ACTION_ID, ROLLBACK_ACTION_ID];

function contextOf(app: SlackApp, args: ButtonArgs): SlackRequestContext | undefined {
  const channelId = args.body.channel?.id ?? args.body.container?.channel_id;
  if (channelId === undefined) return undefined;
  return requestContext({
    app,
    client: args.client,
    userId: args.body.user.id,
    channelId,
    respond: args.respond,
  });
}
