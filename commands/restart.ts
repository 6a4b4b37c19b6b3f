// `restart HOST|@TAG|all`: ask an approver before restarting the screens' display manager. At a terminal,
// `--yes` answers for an operator who may approve. Outside the hosts' maintenance window it is refused unless
// an approver says `--now`.
import { z } from 'zod';
import { NOW_USAGE, nowFlag, selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';
import { UsageError } from '../src/verbs/usage-error.ts';

export default defineVerb({
  name: 'restart',
  summary: "restart the screens' display manager, after an approver says yes",
  usage: `<host|@tag|all>... [--yes] ${NOW_USAGE}`,
  access: 'deploy',
  options: { yes: { type: 'boolean' }, ...nowFlag },
  schema: z
    .object({
      positionals: selectors(1),
      values: z.object({ yes: z.boolean().optional(), now: z.boolean().optional() }).strict(),
    })
    .transform(({ positionals, values }) => ({
      targets: positionals,
      yes: values.yes ?? false,
      now: values.now ?? false,
    })),
  run: (ctx, args) => {
    if (!args.yes && !ctx.canAsk) {
      throw new UsageError(
        'nobody to ask here: pass --yes to restart, or ask from Slack or an interactive terminal',
      );
    }
    return ctx.engine.restart(
      args.targets,
      { restart: args.yes ? 'yes' : 'ask', ignoreWindow: args.now },
      ctx,
    );
  },
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
