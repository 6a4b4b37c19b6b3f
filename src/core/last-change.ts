// Which run status reports as a host's last deploy: one that did something to the host, or tried and failed.
// A rollout in which the host had nothing to do (built the same system, copied nothing, already running it)
// is not its last deploy, so "last deploy" keeps naming the run that actually changed it.
import type { StageRecord } from './ports/state.ts';

/** Stages that only look (build on the builder, plan by asking): done for every host of a rollout. */
const LOOKING = new Set(['build', 'plan']);

/** Whether a run did (or tried and failed to do) something to the host; a run with no stage of it counts. */
export function touchedHost(stages: readonly StageRecord[], host: string): boolean {
  const own = stages.filter((s) => s.host === host);
  if (own.length === 0) return true;
  return own.some(
    (s) =>
      s.status === 'failed' ||
      s.status === 'running' ||
      s.status === 'interrupted' ||
      (s.status === 'ok' && !LOOKING.has(s.stage)),
  );
}
