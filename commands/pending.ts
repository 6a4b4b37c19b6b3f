// `pending [--run]`: the work waiting per host (a host a rollout could not reach, an activation or a restart
// waiting for its window), and at a terminal `--run` to run what is due now: for installations without the Slack bot,
// whose schedule otherwise does it (call it from cron).
import { z } from 'zod';
import type { PendingWork } from '../src/core/ports/state.ts';
import type { CatchUp } from '../src/engine/pending.ts';
import { describePending } from '../src/engine/pending.ts';
import { escapeMrkdwn, header, message, section } from '../src/slack/blocks/kit.ts';
import { noPositionals } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { catchUpLine } from '../src/verbs/render-pending.ts';
import { UsageError } from '../src/verbs/usage-error.ts';

type Result =
  | { readonly kind: 'list'; readonly pending: readonly PendingWork[] }
  | { readonly kind: 'ran'; readonly catchUps: readonly CatchUp[] };

function listLines(pending: readonly PendingWork[]): string[] {
  if (pending.length === 0) return ['nothing pending'];
  return pending.map((w) => `${w.host}  ${w.toplevel ?? 'restart'}  ${describePending(w)}`);
}

function lines(r: Result): string[] {
  if (r.kind === 'list') return listLines(r.pending);
  return r.catchUps.length === 0 ? ['nothing pending'] : r.catchUps.map(catchUpLine);
}

export default defineVerb({
  name: 'pending',
  summary: 'the work waiting per host (unreachable, or for its window); --run runs what is due now',
  usage: '[--run]',
  access: 'view',
  options: { run: { type: 'boolean' } },
  schema: z
    .object({ positionals: noPositionals, values: z.object({ run: z.boolean().optional() }).strict() })
    .transform(({ values }) => ({ run: values.run ?? false })),
  run: async (ctx, args): Promise<Result> => {
    if (!args.run) return { kind: 'list', pending: ctx.engine.pending() };
    if (ctx.actor.kind !== 'cli') {
      throw new UsageError('--run is for a terminal; the bot runs pending work on its own schedule');
    }
    const asker = { actor: ctx.actor, onEvent: ctx.onEvent, signal: ctx.signal };
    return { kind: 'ran', catchUps: await ctx.engine.runPending(() => asker, { canAsk: ctx.canAsk }) };
  },
  // 1 when a catch-up failed.
  exitCode: (r) => (r.kind === 'ran' && r.catchUps.some((c) => c.run?.status === 'failed') ? 1 : 0),
  renderText: (r) => lines(r).join('\n'),
  renderJson: (r) => r,
  renderSlack: (r) => {
    const title = r.kind === 'list' ? `${r.pending.length} host(s) pending` : 'Pending work run';
    return message(title, [header(title), section(lines(r).map(escapeMrkdwn).join('\n'))]);
  },
});
