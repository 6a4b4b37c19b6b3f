// Pending work on the schedule: each tick probes the pending hosts and brings those that answer, inside their
// window, to their system through the same pipeline as any deploy; the channel is told of each.
import type { PendingWork } from '../core/ports/state.ts';
import type { Asker, Engine } from '../engine/engine.ts';
import type { CatchUp } from '../engine/pending.ts';
import type { Job } from './schedule.ts';

export const PENDING_JOB = 'pending-work';

export interface PendingTargets {
  /** Where one host's catch-up run reports (its own run message in the channel). */
  readonly askerFor: (work: PendingWork) => Asker;
  /** Called once per host whose pending work ran, with what became of it. */
  readonly told: (catchUp: CatchUp) => Promise<unknown>;
  /** Whether a restart question can be put to someone (the Slack bot: yes). */
  readonly canAsk: boolean;
}

export function pendingJob(engine: Engine, cron: string, targets: PendingTargets): Job {
  return {
    name: PENDING_JOB,
    cron,
    run: async () => {
      // Nothing pending: no host is probed.
      if (engine.pending().length === 0) return 0;
      const done = await engine.runPending(targets.askerFor, { canAsk: targets.canAsk });
      const ran = done.filter((c) => c.run !== undefined);
      for (const c of ran) await targets.told(c);
      return ran.length;
    },
  };
}
