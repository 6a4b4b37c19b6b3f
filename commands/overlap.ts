// `overlap HOST...`: which store paths and bytes hosts share and which are host-specific, for their new
// builds (default), their running systems (--running), or both; for one host, where its missing paths would
// come from.
import { z } from 'zod';
import { REF_USAGE, refFlag, refValues, selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { overlapSlack, overlapText } from '../src/verbs/render-overlap.ts';

export default defineVerb({
  name: 'overlap',
  summary: 'which store paths and bytes the hosts share, and what is specific to each',
  usage: `<host|@tag|all>... [--running|--both] ${REF_USAGE}`,
  access: 'view',
  options: { running: { type: 'boolean' }, both: { type: 'boolean' }, ...refFlag },
  schema: z
    .object({
      positionals: selectors(1),
      values: z
        .object({ running: z.boolean().optional(), both: z.boolean().optional(), ref: refValues.shape.ref })
        .strict()
        .refine((v) => !(v.running && v.both), { error: 'choose --running or --both, not both' })
        .refine((v) => !(v.running && v.ref !== undefined), {
          error: '--ref chooses what new builds are of; --running looks only at what runs now',
        }),
    })
    .transform(({ positionals, values }) => ({
      targets: positionals,
      of: values.both ? ('both' as const) : values.running ? ('running' as const) : ('built' as const),
      ref: values.ref ?? null,
    })),
  run: (ctx, args) => ctx.engine.overlap(args.targets, args.of, ctx, { ref: args.ref }),
  exitCode: (r) => (r.missing.length > 0 ? 1 : 0),
  renderText: overlapText,
  renderJson: (r) => r,
  renderSlack: overlapSlack,
});
