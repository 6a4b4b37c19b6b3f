// `rollback HOST|@TAG|all`: back to the previous system profile generation, as `nixos-rebuild --rollback`
// does, then the restart question like a deploy.
import { z } from 'zod';
import {
  effectiveRestart,
  restartFlags,
  restartPolicy,
  restartValues,
  selectors,
} from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'rollback',
  summary: 'switch the hosts back to their previous generation',
  usage: '<host|@tag|all>... [--restart|--no-restart]',
  access: 'deploy',
  options: { ...restartFlags },
  schema: z
    .object({ positionals: selectors(1), values: restartValues })
    .transform(({ positionals, values }) => ({ targets: positionals, restart: restartPolicy(values) })),
  run: (ctx, args) =>
    ctx.engine.rollback(args.targets, { restart: effectiveRestart(args.restart, ctx.canAsk) }, ctx),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
