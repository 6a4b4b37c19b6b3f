// `build HOST|@TAG|all`: evaluate and build the hosts' systems on the builder and sign them. Touches no host.
import { z } from 'zod';
import { selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'build',
  summary: "build and sign the hosts' new systems on the builder",
  usage: '<host|@tag|all>...',
  access: 'view',
  options: {},
  schema: z
    .object({ positionals: selectors(1), values: z.object({}).strict() })
    .transform(({ positionals }) => ({ targets: positionals })),
  run: (ctx, args) => ctx.engine.build(args.targets, ctx),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
