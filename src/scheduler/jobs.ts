// What the bot does by itself: expire restart questions whose time is up (and say so on their messages), and
// watch the fleet, reporting the first check after start and then only what changed.
import type { ProgressSink } from '../core/events.ts';
import type { HealthWatch } from '../core/health-watch.ts';
import type { ApprovalRecord, HealthWatchPort } from '../core/ports/state.ts';
import type { Engine } from '../engine/engine.ts';
import type { HostStatusRow } from '../engine/status.ts';
import {
  fleetChanges,
  type HealthChange,
  type HostChange,
  healthChanges,
  type Snapshot,
  snapshotOf,
} from './fleet-changes.ts';
import type { Job } from './schedule.ts';

export const EXPIRE_JOB = 'expire-approvals';
export const STATUS_JOB = 'status-report';

export interface ExpiryTargets {
  /** Where the events of runs ended by an expiry go (their messages). */
  readonly onEvent: ProgressSink;
  /** Updates the expired questions' messages. */
  readonly onExpired: (expired: readonly ApprovalRecord[]) => Promise<unknown>;
}

export function expireJob(engine: Engine, cron: string, targets: ExpiryTargets): Job {
  return {
    name: EXPIRE_JOB,
    cron,
    run: async () => {
      const expired = engine.expire(targets.onEvent);
      if (expired.length > 0) await targets.onExpired(expired);
      return expired.length;
    },
  };
}

export type FleetReport =
  | {
      readonly kind: 'first';
      readonly rows: readonly HostStatusRow[];
      /** Health that settled at this check, from what the state kept of the checks before a restart. */
      readonly health?: readonly HealthChange[];
    }
  | {
      readonly kind: 'changed';
      readonly changes: readonly HostChange[];
      /** Health that settled at this check (held for two checks, or flapping), told once. */
      readonly health: readonly HealthChange[];
      readonly rows: readonly HostStatusRow[];
    };

/** Where the status job keeps each host's health watch, and the clock it writes with. */
export interface HealthMemory {
  readonly store: HealthWatchPort;
  readonly now: () => Date;
}

export function statusJob(
  engine: Engine,
  cron: string,
  post: (report: FleetReport) => Promise<unknown>,
  memory?: HealthMemory,
  /** Told of every check's rows, changed or not (the Home tab's cache). */
  observe?: (rows: readonly HostStatusRow[]) => void,
): Job {
  let last: Snapshot | undefined;
  // Without a store the watches live as long as the job: flapping is still recognised, not across restarts.
  let kept = new Map<string, HealthWatch>();
  return {
    name: STATUS_JOB,
    cron,
    run: async () => {
      const rows = await engine.status([], {
        actor: { kind: 'schedule', job: STATUS_JOB },
        onEvent: () => {},
      });
      observe?.(rows);
      const previous = last;
      const health = healthChanges(memory ? memory.store.healthWatches() : kept, rows);
      if (previous === undefined) {
        await post({ kind: 'first', rows, health: health.changes });
      } else {
        const changes = fleetChanges(previous, rows);
        if (changes.length > 0 || health.changes.length > 0)
          await post({ kind: 'changed', changes, health: health.changes, rows });
      }
      // Only once reported: a report that could not be posted is tried again at the next check.
      last = snapshotOf(rows);
      if (memory) memory.store.saveHealthWatches(health.watches, memory.now());
      else kept = new Map([...kept, ...health.watches]);
    },
  };
}
