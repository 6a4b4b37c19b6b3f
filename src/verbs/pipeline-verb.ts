// plan, copy and switch are the deploy pipeline stopped at a stage: one definition, three verbs.
import { z } from 'zod';
import type { Until } from '../engine/pipeline.ts';
import { NOW_USAGE, nowFlag, nowValues, REF_USAGE, refFlag, refValues, selectors } from './args.ts';
import { defineVerb } from './define.ts';
import { runExitCode, runJson, runSlack, runText } from './render-run.ts';
import type { Access } from './verb.ts';

export function pipelineVerb(spec: {
  name: string;
  summary: string;
  until: Exclude<Until, 'restart'>;
  access: Access;
}) {
  // Only an activation waits for a window, so only `switch` has `--now`.
  const activates = spec.until === 'switch';
  return defineVerb({
    name: spec.name,
    summary: spec.summary,
    usage: `<host|@tag|all>... ${REF_USAGE}${activates ? ` ${NOW_USAGE}` : ''}`,
    access: spec.access,
    options: { ...refFlag, ...(activates ? nowFlag : {}) },
    schema: z
      // parseArgs refuses `--now` where `options` lacks it, so one schema serves all three verbs.
      .object({ positionals: selectors(1), values: refValues.extend(nowValues.shape).strict() })
      .transform(({ positionals, values }) => ({
        targets: positionals,
        ref: values.ref ?? null,
        now: values.now ?? false,
      })),
    run: (ctx, args) =>
      ctx.engine.deploy(
        args.targets,
        { until: spec.until, restart: 'no', ref: args.ref, ignoreWindow: args.now },
        ctx,
      ),
    exitCode: runExitCode,
    renderText: runText,
    renderJson: runJson,
    renderSlack: runSlack,
  });
}
