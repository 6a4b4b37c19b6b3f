// `status [HOST|@TAG|all]`: what each host runs versus what was last deployed, generation, booted system,
// free space on /nix, health (uptime, power, temperature) and the last deploy. Read-only.
import { z } from 'zod';
import { selectors } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { statusSlack, statusText } from '../src/verbs/render-status.ts';

export default defineVerb({
  name: 'status',
  summary: 'what the hosts run, whether it is what was deployed, and their last deploy',
  usage: '[<host|@tag|all>...]',
  access: 'view',
  options: {},
  schema: z
    .object({ positionals: selectors(0), values: z.object({}).strict() })
    .transform(({ positionals }) => ({ targets: positionals })),
  run: (ctx, args) => ctx.engine.status(args.targets, ctx),
  // 0 when every host answered and runs what was deployed (or was never deployed by the bot); 1 when one is
  // unreachable, behind, drifted, unconfirmed (an activation not confirmed or an interrupted switch) or has
  // a reboot pending. A host off on schedule (its off hours) is not a failure.
  exitCode: (rows) =>
    rows.every((r) => r.offSchedule || (r.reachable && (r.sync === 'in-sync' || r.sync === 'never-deployed')))
      ? 0
      : 1,
  renderText: statusText,
  renderJson: (rows) => rows,
  renderSlack: statusSlack,
});
