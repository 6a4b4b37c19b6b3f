// plan, copy and switch are the deploy pipeline stopped at a stage: one definition, three verbs.
import { z } from 'zod';
import type { Until } from '../engine/pipeline.ts';
import { selectors } from './args.ts';
import { defineVerb } from './define.ts';
import { runExitCode, runJson, runSlack, runText } from './render-run.ts';
import type { Access } from './verb.ts';

export function pipelineVerb(spec: {
  name: string;
  summary: string;
  until: Exclude<Until, 'restart'>;
  access: Access;
}) {
  return defineVerb({
    name: spec.name,
    summary: spec.summary,
    usage: '<host|@tag|all>...',
    access: spec.access,
    options: {},
    schema: z
      .object({ positionals: selectors(1), values: z.object({}).strict() })
      .transform(({ positionals }) => ({ targets: positionals })),
    run: (ctx, args) => ctx.engine.deploy(args.targets, { until: spec.until, restart: 'no' }, ctx),
    exitCode: runExitCode,
    renderText: runText,
    renderJson: runJson,
    renderSlack: runSlack,
  });
}
