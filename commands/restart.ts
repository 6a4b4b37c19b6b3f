// `restart HOST|@TAG|all`: ask an approver before restarting the screens' display manager. At a terminal,
// `--yes` answers for an operator who may approve. Outside the hosts' maintenance window it is refused unless
// an approver says `--now`.
import { APPROVAL_USAGE, approvalAnswer, approvalArgs, approvalFlags } from '../src/verbs/approval-args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'restart',
  summary: "restart the screens' display manager, after an approver says yes",
  usage: APPROVAL_USAGE,
  access: 'deploy',
  options: approvalFlags,
  schema: approvalArgs,
  run: (ctx, args) =>
    ctx.engine.restart(
      args.targets,
      { restart: approvalAnswer(args, ctx.canAsk, 'restart'), ignoreWindow: args.now },
      ctx,
    ),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
