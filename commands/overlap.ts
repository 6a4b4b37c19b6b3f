// `overlap HOST...`: which store paths and bytes hosts share and which are host-specific, for their new
// builds (default), their running systems (--running), or both; for one host, where its missing paths would
// come from.
import { z } from 'zod';
import { selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { overlapSlack, overlapText } from '../src/verbs/render-overlap.ts';

export default defineVerb({
  name: 'overlap',
  summary: 'which store paths and bytes the hosts share, and what is specific to each',
  usage: '<host|@tag|all>... [--running|--both]',
  access: 'view',
  options: { running: { type: 'boolean' }, both: { type: 'boolean' } },
  schema: z
    .object({
      positionals: selectors(1),
      values: z
        .object({ running: z.boolean().optional(), both: z.boolean().optional() })
        .strict()
        .refine((v) => !(v.running && v.both), { error: 'choose --running or --both, not both' }),
    })
    .transform(({ positionals, values }) => ({
      targets: positionals,
      of: values.both ? ('both' as const) : values.running ? ('running' as const) : ('built' as const),
    })),
  run: (ctx, args) => ctx.engine.overlap(args.targets, args.of, ctx),
  exitCode: (r) => (r.missing.length > 0 ? 1 : 0),
  renderText: overlapText,
  renderJson: (r) => r,
  renderSlack: overlapSlack,
});
