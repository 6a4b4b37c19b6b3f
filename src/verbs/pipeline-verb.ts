// plan, copy and switch are the deploy pipeline stopped at a stage: one definition, three verbs.
import { z } from 'zod';
import type { Until } from '../engine/pipeline.ts';
import { REF_USAGE, refFlag, refValues, selectors } from './args.ts';
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
    usage: `<host|@tag|all>... ${REF_USAGE}`,
    access: spec.access,
    options: { ...refFlag },
    schema: z
      .object({ positionals: selectors(1), values: refValues.strict() })
      .transform(({ positionals, values }) => ({ targets: positionals, ref: values.ref ?? null })),
    run: (ctx, args) =>
      ctx.engine.deploy(args.targets, { until: spec.until, restart: 'no', ref: args.ref }, ctx),
    exitCode: runExitCode,
    renderText: runText,
    renderJson: runJson,
    renderSlack: runSlack,
  });
}
