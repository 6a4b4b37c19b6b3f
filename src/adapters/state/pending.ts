// Pending work per host: one row per host (a newer deploy replaces it), kept until the host is brought to its
// system or the work is dropped.
import type { DatabaseSync } from 'node:sqlite';
import type {
  PendingPort,
  PendingReason,
  PendingRestart,
  PendingVerb,
  PendingWork,
} from '../../core/ports/state.ts';
import { revisionJson, revisionOf } from './revision-json.ts';
import { actorJson, actorOf, dateOf, dateOrNull, ms, type Row, str } from './sql.ts';

function pendingOf(row: Row): PendingWork {
  return {
    host: str(row.host),
    toplevel: row.toplevel === null ? null : str(row.toplevel),
    revision: revisionOf(row.revision),
    reason: str(row.reason) as PendingReason,
    since: dateOf(row.since),
    opensAt: dateOrNull(row.opens_at),
    requestedBy: actorOf(row.requested_by),
    runId: str(row.run_id),
    verb: str(row.verb) as PendingVerb,
    restart: str(row.restart) as PendingRestart,
  };
}

export function pendingPort(db: DatabaseSync): PendingPort {
  const upsert = db.prepare(`
    INSERT INTO pending (host, toplevel, revision, reason, since, opens_at, requested_by, run_id, verb, restart)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (host) DO UPDATE SET toplevel = excluded.toplevel, revision = excluded.revision,
      reason = excluded.reason, since = excluded.since, opens_at = excluded.opens_at,
      requested_by = excluded.requested_by, run_id = excluded.run_id, verb = excluded.verb,
      restart = excluded.restart`);
  const drop = db.prepare('DELETE FROM pending WHERE host = ? RETURNING *');
  const all = db.prepare('SELECT * FROM pending ORDER BY since, host');
  return {
    setPending(w) {
      upsert.run(
        w.host,
        w.toplevel,
        revisionJson(w.revision),
        w.reason,
        ms(w.since),
        w.opensAt === null ? null : ms(w.opensAt),
        actorJson(w.requestedBy),
        w.runId,
        w.verb,
        w.restart,
      );
    },
    dropPending(host) {
      const row = drop.get(host) as Row | undefined;
      return row === undefined ? undefined : pendingOf(row);
    },
    pendingWork: () => (all.all() as Row[]).map(pendingOf),
  };
}
