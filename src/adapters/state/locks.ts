// One deploy per host at a time. Taking a run's locks is one transaction: every host is locked, or none is
// and the refusal names who holds each busy host, with which run and since when.
import type { DatabaseSync } from 'node:sqlite';
import type { LockHold, LocksPort } from '../../core/ports/state.ts';
import type { ProcessOwner } from './owner.ts';
import { deadRunSweeper } from './recovery.ts';
import { actorJson, actorOf, dateOf, immediate, listParam, ms, type Row, str } from './sql.ts';

export function lockOf(row: Row): LockHold {
  return {
    host: str(row.host),
    runId: str(row.run_id),
    holder: actorOf(row.holder),
    since: dateOf(row.since),
  };
}

export function locksPort(db: DatabaseSync, alive: (owner: ProcessOwner) => boolean): LocksPort {
  const heldByOthers = db.prepare(`
    SELECT * FROM locks WHERE host IN (SELECT value FROM json_each(?)) AND run_id != ? ORDER BY host`);
  // A host the run already holds keeps its original `since`.
  const take = db.prepare('INSERT OR IGNORE INTO locks (host, run_id, holder, since) VALUES (?, ?, ?, ?)');
  const release = db.prepare('DELETE FROM locks WHERE run_id = ? RETURNING host');
  const all = db.prepare('SELECT * FROM locks ORDER BY host');
  const sweep = deadRunSweeper(db, alive);

  return {
    acquireLocks(hosts, runId, holder, now) {
      const wanted = [...new Set(hosts)];
      const since = ms(now);
      const who = actorJson(holder);
      return immediate(db, () => {
        const first = (heldByOthers.all(listParam(wanted), runId) as Row[]).map(lockOf);
        // A holder whose process is gone will never free its locks: its run is marked interrupted (as
        // opening the store would) and its hosts are taken over, in this same transaction.
        if (first.length > 0) sweep(now, [...new Set(first.map((h) => h.runId))]);
        const held =
          first.length > 0 ? (heldByOthers.all(listParam(wanted), runId) as Row[]).map(lockOf) : [];
        if (held.length > 0) return { ok: false, held };
        for (const host of wanted) take.run(host, runId, who, since);
        return first.length > 0 ? { ok: true, tookOver: first } : { ok: true };
      });
    },

    recoverDeadRuns(now) {
      return immediate(db, () => sweep(now));
    },

    releaseLocks(runId) {
      return (release.all(runId) as Row[]).map((r) => str(r.host)).sort();
    },

    heldLocks() {
      return (all.all() as Row[]).map(lockOf);
    },
  };
}
