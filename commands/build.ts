// `build HOST|@TAG|all`: evaluate and build the hosts' systems on the builder and sign them. Touches no host.
import { z } from 'zod';
import { REF_USAGE, refFlag, refValues, selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { runExitCode, runJson, runSlack, runText } from '../src/verbs/render-run.ts';

export default defineVerb({
  name: 'build',
  summary: "build and sign the hosts' new systems on the builder",
  usage: `<host|@tag|all>... ${REF_USAGE}`,
  access: 'view',
  options: { ...refFlag },
  schema: z
    .object({ positionals: selectors(1), values: refValues.strict() })
    .transform(({ positionals, values }) => ({ targets: positionals, ref: values.ref ?? null })),
  run: (ctx, args) => ctx.engine.build(args.targets, ctx, { ref: args.ref }),
  exitCode: runExitCode,
  renderText: runText,
  renderJson: runJson,
  renderSlack: runSlack,
});
