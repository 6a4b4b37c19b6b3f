// `/signage VERB ...` after the acknowledgement: verbs that run the pipeline report in one channel message
// updated in place (details in its thread); the others answer the requester alone. Failures go to the
// requester alone, with what to do next.
import type { Engine } from '../engine/engine.ts';
import type { AnyVerb } from '../verbs/parse.ts';
import type { SlackMessage, VerbFile } from '../verbs/verb.ts';
import { cannotSpeakHere, runNotShown, startingMessage } from './blocks/channel-access.ts';
import type { LogSink } from './bolt-logger.ts';
import type { CommandHandler, SlashCommandOptions } from './commands.ts';
import type { SlackRequestContext } from './context.ts';
import { failureMessage, isExpectedFailure } from './failure.ts';
import { type Screens, uploadProblem } from './files/screens.ts';
import type { RunMessages } from './run-messages.ts';
import { type PreparedRequest, type PrepareOptions, prepareRequest } from './slash-request.ts';

/** Verbs whose progress the channel sees; the rest (status, overlap, hosts, help) answer privately. */
export const CHANNEL_VERBS: ReadonlySet<string> = new Set([
  'deploy',
  'switch',
  'copy',
  'plan',
  'rollback',
  'restart',
  'reboot',
  'build',
]);

export interface SlashHandlerDeps extends Omit<PrepareOptions, 'prefix'> {
  readonly engine: Engine;
  readonly runMessages: RunMessages;
  readonly log: LogSink;
  /** Where a verb's file (a screenshot) is posted. */
  readonly files: Pick<Screens, 'post'>;
}

export function slashCommandOptions(
  deps: SlashHandlerDeps,
): Pick<SlashCommandOptions, 'refuse' | 'onCommand'> {
  const prepare = (text: string, who: { userId: string; channelId: string }): PreparedRequest =>
    prepareRequest(text, who, deps);
  const onCommand: CommandHandler = async (text, ctx) => {
    // Decided again here: the check is pure, and the acknowledgement already refused what fails it.
    const prepared = prepare(text, ctx);
    if (!prepared.ok) {
      await ctx.ephemeral(prepared.refusal);
      return;
    }
    deps.log.info(
      `/signage ${prepared.verb.name} by ${ctx.userId} in ${ctx.channelId}: ${JSON.stringify(text)}`,
    );
    await runVerb(deps, prepared, ctx);
  };
  return {
    refuse: (text, who) => {
      const prepared = prepare(text, who);
      if (prepared.ok) return undefined;
      deps.log.info(
        `/signage refused for ${who.userId} in ${who.channelId}: ${JSON.stringify(text.slice(0, 200))}`,
      );
      return prepared.refusal;
    },
    onCommand,
  };
}

async function runVerb(
  deps: SlashHandlerDeps,
  prepared: Extract<PreparedRequest, { ok: true }>,
  ctx: SlackRequestContext,
): Promise<void> {
  const { verb, args, typed } = prepared;
  const inChannel = CHANNEL_VERBS.has(verb.name);
  const tracker = inChannel ? deps.runMessages.track(ctx.channelId, ctx.userId) : undefined;
  if (tracker !== undefined) {
    // Before anything runs: a run nobody can see (its questions included) must not start.
    const refused = await tracker.open(startingMessage(typed, ctx.userId));
    if (refused !== undefined) {
      deps.log.info(
        `${typed} by ${ctx.userId} not run: cannot post in ${ctx.channelId}: ${describe(refused)}`,
      );
      await ctx.ephemeral(cannotSpeakHere(typed, ctx.channelId, refused));
      return;
    }
  }
  let result: unknown;
  try {
    result = await (verb as AnyVerb).run(
      {
        engine: deps.engine,
        actor: ctx.actor,
        // A verb without a message of its own (cancel) may end another run: that run's message hears of it.
        onEvent: tracker?.onEvent ?? deps.runMessages.route,
        signal: ctx.signal,
        canAsk: true,
      },
      args,
    );
  } catch (error) {
    const report = failureMessage(error, { typed, prefix: '/signage', verb });
    if (isExpectedFailure(error)) deps.log.info(`${typed} by ${ctx.userId}: ${describe(error)}`);
    else deps.log.error(`${typed} by ${ctx.userId} failed unexpectedly:`, error);
    // A run that had started keeps the failure in its thread; the requester hears of it either way.
    if (tracker !== undefined && !(await tracker.finish(report))) await tracker.abandon();
    await ctx.ephemeral(report);
    return;
  }
  const run = result as { runId?: unknown; status?: unknown };
  deps.log.info(
    `${typed} by ${ctx.userId}: done` +
      (typeof run.runId === 'string' ? ` (run ${run.runId}: ${String(run.status)})` : ''),
  );
  const rendered = verb.renderSlack(result);
  const file = verb.file?.(result);
  if (file !== undefined) {
    await shareFile(deps.files, file, rendered, ctx);
    return;
  }
  if (tracker !== undefined && (await tracker.finish(rendered))) {
    if (tracker.failure !== undefined) {
      deps.log.warn(
        `${typed} by ${ctx.userId}: the run's messages were refused: ${describe(tracker.failure)}`,
      );
      const status = typeof run.status === 'string' ? run.status : undefined;
      await ctx.ephemeral(runNotShown(typed, ctx.channelId, status, tracker.failure));
    }
    return;
  }
  await tracker?.abandon();
  await ctx.ephemeral(rendered);
}

/** A verb's file goes in the channel (a mention's thread) for everyone there; a failure to the requester alone. */
export async function shareFile(
  files: Pick<Screens, 'post'>,
  file: VerbFile,
  rendered: SlackMessage,
  ctx: SlackRequestContext,
): Promise<void> {
  try {
    await files.post(file, {
      channel: ctx.channelId,
      threadTs: ctx.threadTs,
      comment: `${rendered.text} · asked by <@${ctx.userId}>`,
    });
  } catch (error) {
    await ctx.ephemeral(uploadProblem(file, error));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
