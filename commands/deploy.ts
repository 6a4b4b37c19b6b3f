// `deploy HOST|@TAG|all`: build, plan, copy (peers first, the uplink for the rest), switch, then the restart
// question. Several hosts roll out canary first. Outside a host's maintenance window it is copied to and its
// activation left pending for the window, unless an approver says `--now`.
import { z } from 'zod';
import {
  effectiveRestart,
  NOW_USAGE,
  nowFlag,
  nowValues,
  REF_USAGE,
  refFlag,
  refValues,
  restartFlags,
  restartPolicy,
  restartValues,
  selectors,
} from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'deploy',
  summary: 'build, copy from peers and the builder, switch, then ask before restarting the screen',
  usage: `<host|@tag|all>... [--dry-run] [--restart|--no-restart] ${REF_USAGE} ${NOW_USAGE}`,
  access: 'deploy',
  options: { ...restartFlags, ...refFlag, ...nowFlag, 'dry-run': { type: 'boolean' } },
  schema: z
    .object({
      positionals: selectors(1),
      values: restartValues
        .and(refValues)
        .and(nowValues)
        .and(z.object({ 'dry-run': z.boolean().optional() })),
    })
    .transform(({ positionals, values }) => ({
      targets: positionals,
      dryRun: values['dry-run'] ?? false,
      restart: restartPolicy(values),
      ref: values.ref ?? null,
      now: values.now ?? false,
    })),
  run: (ctx, args) =>
    ctx.engine.deploy(
      args.targets,
      {
        until: args.dryRun ? 'plan' : 'restart',
        restart: effectiveRestart(args.restart, ctx.canAsk),
        ref: args.ref,
        ignoreWindow: args.now,
      },
      ctx,
    ),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
