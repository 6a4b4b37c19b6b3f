// What changed in the fleet between two scheduled checks: a host that stopped answering, drifted from what
// was deployed, fell behind, or came back; and health that settled (held for two checks) or flaps. Pure;
// the watch job keeps the last snapshot, and the state database each host's health watch.
import {
  describeHealthSettled,
  type HealthSettled,
  type HealthWatch,
  watchHealth,
} from '../core/health-watch.ts';
import type { SyncState } from '../core/sync.ts';
import { bootStaged, type HostStatusRow } from '../engine/status.ts';

/**
 * The one word a scheduled check compares: unreachable, off on schedule, a new system staged for the next boot,
 * or the sync state.
 */
export type Condition = 'unreachable' | 'off' | 'boot-staged' | SyncState;

export type Snapshot = ReadonlyMap<string, Condition>;

export interface HostChange {
  readonly host: string;
  /** Undefined for a host the previous check did not know (added to the configuration). */
  readonly from: Condition | undefined;
  readonly to: Condition;
  readonly row: HostStatusRow;
}

export function conditionOf(row: HostStatusRow): Condition {
  if (!row.reachable) return row.offSchedule ? 'off' : 'unreachable';
  if (bootStaged(row)) return 'boot-staged';
  return row.sync ?? 'no-system';
}

export function snapshotOf(rows: readonly HostStatusRow[]): Snapshot {
  return new Map(rows.map((row) => [row.host, conditionOf(row)]));
}

/** A screen going off in its off hours, or coming back on as it was, is no news. */
function onSchedule(from: Condition | undefined, to: Condition): boolean {
  return (
    (from !== undefined && to === 'off') || (from === 'off' && (to === 'in-sync' || to === 'never-deployed'))
  );
}

/** Hosts whose condition differs from the previous snapshot, in the order of `rows`. */
export function fleetChanges(previous: Snapshot, rows: readonly HostStatusRow[]): HostChange[] {
  const changes: HostChange[] = [];
  for (const row of rows) {
    const to = conditionOf(row);
    const from = previous.get(row.host);
    if (from !== to && !onSchedule(from, to)) changes.push({ host: row.host, from, to, row });
  }
  return changes;
}

const WORDS: Record<Condition, string> = {
  unreachable: 'unreachable',
  off: 'off (on schedule)',
  'in-sync': 'in sync',
  'reboot-pending': 'reboot pending (the booted kernel is not the running one)',
  'boot-staged': 'staged for next boot (reboot pending)',
  unconfirmed: 'unconfirmed (an activation not confirmed, or an interrupted switch)',
  behind: 'behind (an older generation than deployed)',
  drifted: 'drifted (not what was deployed)',
  'never-deployed': 'never deployed by the bot',
  'no-system': 'no NixOS system',
};

/** One line for a change, e.g. "became unreachable: connect ETIMEDOUT" or "recovered: in sync". */
export function describeChange(change: HostChange): string {
  const to = WORDS[change.to];
  if (change.from === undefined) return `now watched: ${to}`;
  if (change.to === 'unreachable')
    return `became unreachable${change.row.error ? `: ${change.row.error}` : ''}`;
  if (change.to === 'off') return 'off (on schedule)';
  if (change.from === 'unreachable' || change.from === 'off') return `recovered: reachable again, ${to}`;
  return `${WORDS[change.from].split(' (')[0]} → ${to}`;
}

// ---- health ------------------------------------------------------------------------------------------

export interface HealthChange {
  readonly host: string;
  readonly change: HealthSettled;
  readonly row: HostStatusRow;
}

export interface HealthCheck {
  /** Changes that settled at this check, in the order of `rows`: each is told once. */
  readonly changes: readonly HealthChange[];
  /** The watches to keep for the hosts this check saw (an unreachable host's is left as it was). */
  readonly watches: ReadonlyMap<string, HealthWatch>;
}

export function healthChanges(
  previous: ReadonlyMap<string, HealthWatch>,
  rows: readonly HostStatusRow[],
): HealthCheck {
  const changes: HealthChange[] = [];
  const watches = new Map<string, HealthWatch>();
  for (const row of rows) {
    if (!row.reachable || !row.health) continue;
    const step = watchHealth(previous.get(row.host) ?? null, row.health.states);
    watches.set(row.host, step.next);
    if (step.settled) changes.push({ host: row.host, change: step.settled, row });
  }
  return { changes, watches };
}

/** One line for a health change, e.g. "health: ok → undervoltage now, throttled now". */
export function describeHealthChange(change: HealthChange): string {
  return describeHealthSettled(change.change);
}
