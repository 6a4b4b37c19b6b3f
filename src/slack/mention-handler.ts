// Questions asked with `@signage`: status and the host list, answered in the mention's thread. Anything that
// would change a screen is pointed at the slash command, which has the permission checks and the progress
// message.
import type { Engine } from '../engine/engine.ts';
import type { AnyVerb } from '../verbs/parse.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import { context, escapeMrkdwn, message, section } from './blocks/kit.ts';
import type { LogSink } from './bolt-logger.ts';
import { SLASH_COMMAND } from './commands.ts';
import { failureMessage, isExpectedFailure } from './failure.ts';
import type { Screens } from './files/screens.ts';
import type { MentionHandler } from './mentions.ts';
import { shareFile } from './slash-handler.ts';
import { type PrepareOptions, prepareRequest } from './slash-request.ts';

/** What a mention may ask: read-only questions (and a look at a screen). */
export const MENTION_VERBS: ReadonlySet<string> = new Set(['status', 'hosts', 'show']);

export const MENTION_PREFIX = '@signage';

export interface MentionHandlerDeps extends Omit<PrepareOptions, 'prefix'> {
  readonly engine: Engine;
  readonly log: LogSink;
  /** Where a verb's file (a screenshot) is posted. */
  readonly files: Pick<Screens, 'post'>;
}

export function mentionHandler(deps: MentionHandlerDeps): MentionHandler {
  return async (request, ctx) => {
    const text = [request.verb, ...request.tokens].join(' ');
    if (!MENTION_VERBS.has(request.verb)) {
      await ctx.ephemeral(useSlashCommand(text));
      return;
    }
    const prepared = prepareRequest(text, ctx, { ...deps, prefix: MENTION_PREFIX });
    if (!prepared.ok) {
      await ctx.ephemeral(prepared.refusal);
      return;
    }
    deps.log.info(`${MENTION_PREFIX} ${prepared.verb.name} by ${ctx.userId} in ${ctx.channelId}`);
    let result: unknown;
    try {
      result = await (prepared.verb as AnyVerb).run(
        { engine: deps.engine, actor: ctx.actor, onEvent: () => {}, signal: ctx.signal, canAsk: false },
        prepared.args,
      );
    } catch (error) {
      if (isExpectedFailure(error)) deps.log.info(`${prepared.typed} by ${ctx.userId}: ${String(error)}`);
      else deps.log.error(`${prepared.typed} by ${ctx.userId} failed unexpectedly:`, error);
      await ctx.ephemeral(
        failureMessage(error, { typed: prepared.typed, prefix: MENTION_PREFIX, verb: prepared.verb }),
      );
      return;
    }
    // The context posts in the mention's thread.
    const rendered = prepared.verb.renderSlack(result);
    const file = prepared.verb.file?.(result);
    if (file !== undefined) await shareFile(deps.files, file, rendered, ctx);
    else await ctx.inChannel(rendered);
  };
}

function useSlashCommand(text: string): SlackMessage {
  const command = escapeMrkdwn(`${SLASH_COMMAND} ${text}`.slice(0, 200));
  const line = `Changes go through the slash command, which checks who may make them: \`${command}\``;
  return message(line, [section(line), context(`\`${SLASH_COMMAND} help\` lists what it can do.`)]);
}
