// `cancel RUN|HOST`: stop a run at its next safe point, whichever process runs it (the bot or a terminal).
// A host name means the run going on for that host. Never in the middle of an activation; the run ends
// "cancelled" and the answer says, per host, what was done and what was not.
import { z } from 'zod';
import { defineVerb } from '../src/verbs/define.ts';
import { cancelExitCode, cancelSlack, cancelText } from '../src/verbs/render-cancel.ts';

/** Run ids are short, lower-case letters and digits; host names are DNS labels. Either passes this. */
const runOrHost = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  error: (issue) => `expected a run id or a host name, got ${JSON.stringify(String(issue.input))}`,
});

export default defineVerb({
  name: 'cancel',
  summary: 'stop a run at its next safe point (a run id, or a host whose run to stop)',
  usage: '<run-id|host>',
  access: 'deploy',
  positional: 'run or host',
  options: {},
  schema: z
    .object({
      positionals: z
        .array(z.string())
        .length(1, { error: 'name one run id, or the host whose run to cancel' })
        .pipe(z.tuple([runOrHost])),
      values: z.object({}).strict(),
    })
    .transform(({ positionals }) => ({ word: positionals[0] })),
  run: (ctx, args) => {
    const isHost = ctx.engine.hosts.some((h) => h.name === args.word);
    return ctx.engine.cancel(isHost ? { host: args.word } : { runId: args.word }, ctx);
  },
  exitCode: cancelExitCode,
  renderText: cancelText,
  renderJson: (report) => report,
  renderSlack: cancelSlack,
});
