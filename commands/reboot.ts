// `reboot HOST|@TAG|all`: ask an approver, then reboot the screens, wait for each to come back and check it:
// a system staged with `boot` (one that needs a reboot) is confirmed, or undone by the bot and the host's
// boot guard. At a terminal, `--yes` answers for an operator who may approve. Outside a host's maintenance
// window it is refused unless an approver says `--now`, as a restart is.
import { z } from 'zod';
import { NOW_USAGE, nowFlag, selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';
import { UsageError } from '../src/verbs/usage-error.ts';

export default defineVerb({
  name: 'reboot',
  summary: 'reboot the screens after an approver says yes, and wait until each is back and healthy',
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
        'nobody to ask here: pass --yes to reboot, or ask from Slack or an interactive terminal',
      );
    }
    return ctx.engine.reboot(args.targets, { reboot: args.yes ? 'yes' : 'ask', ignoreWindow: args.now }, ctx);
  },
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
