// `reboot HOST|@TAG|all`: ask an approver, then reboot the screens, wait for each to come back and check it:
// a system staged with `boot` (one that needs a reboot) is confirmed, or undone by the bot and the host's
// boot guard. At a terminal, `--yes` answers for an operator who may approve. Outside a host's maintenance
// window it is refused unless an approver says `--now`, as a restart is.
import { APPROVAL_USAGE, approvalAnswer, approvalArgs, approvalFlags } from '../src/verbs/approval-args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'reboot',
  summary: 'reboot the screens after an approver says yes, and wait until each is back and healthy',
  usage: APPROVAL_USAGE,
  access: 'deploy',
  options: approvalFlags,
  schema: approvalArgs,
  run: (ctx, args) =>
    ctx.engine.reboot(
      args.targets,
      { reboot: approvalAnswer(args, ctx.canAsk, 'reboot'), ignoreWindow: args.now },
      ctx,
    ),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
