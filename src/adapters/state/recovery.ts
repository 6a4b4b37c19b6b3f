// What a process that died mid-run left behind, cleaned up when the store is opened. A run still `running`
// whose process is gone becomes `interrupted`, with its running stages, and its locks are freed so the hosts
// can be deployed again. A run awaiting approval belongs to no process and stays, with its locks and its
// question, until someone answers or the question expires. Runs of live processes (the bot, while a
// terminal command opens the same file) are left alone.
import type { DatabaseSync } from 'node:sqlite';
import type { LockHold, Recovery, RunRecord, StageRecord } from '../../core/ports/state.ts';
import { lockOf } from './locks.ts';
import type { ProcessOwner } from './owner.ts';
import { runOf } from './runs.ts';
import { immediate, ms, numOrNull, type Row, strOrNull } from './sql.ts';
import { stageOf } from './stages.ts';

function ownerOf(row: Row): ProcessOwner | null {
  const pid = numOrNull(row.owner_pid);
  if (pid === null) return null;
  return { bootId: strOrNull(row.owner_boot_id), pid, startTime: strOrNull(row.owner_start_time) };
}

export function recover(db: DatabaseSync, now: Date, alive: (owner: ProcessOwner) => boolean): Recovery {
  const sweep = deadRunSweeper(db, alive);
  return immediate(db, () => sweep(now));
}

/**
 * The same clean-up, to run inside a transaction the caller holds: opening the store, taking locks (a lock
 * whose run's process died is taken over, not refused), and reading status (a dead run is not "running").
 * With `runIds`, only those runs are looked at.
 */
export function deadRunSweeper(
  db: DatabaseSync,
  alive: (owner: ProcessOwner) => boolean,
): (now: Date, runIds?: readonly string[]) => Recovery {
  const running = db.prepare(`SELECT * FROM runs WHERE status = 'running' ORDER BY started_at, rowid`);
  const runningOf = db.prepare(`
    SELECT * FROM runs WHERE status = 'running' AND id IN (SELECT value FROM json_each(?))
    ORDER BY started_at, rowid`);
  const interruptRun = db.prepare(
    `UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running' RETURNING *`,
  );
  const interruptStages = db.prepare(
    `UPDATE stages SET status = 'interrupted' WHERE run_id = ? AND status = 'running' RETURNING *`,
  );
  // Locks of the interrupted runs, and any whose run has already ended (none should exist; this is cheap).
  const orphanLocks = db.prepare(`
    DELETE FROM locks WHERE run_id NOT IN (SELECT id FROM runs WHERE status IN ('running', 'awaiting-approval'))
    RETURNING *`);

  return (now, runIds) => {
    const at = ms(now);
    const interruptedRuns: RunRecord[] = [];
    const interruptedStages: StageRecord[] = [];
    const rows = (runIds ? runningOf.all(JSON.stringify(runIds)) : running.all()) as Row[];
    for (const row of rows) {
      const owner = ownerOf(row);
      if (owner !== null && alive(owner)) continue;
      const run = interruptRun.get(at, row.id as string) as Row | undefined;
      if (run === undefined) continue;
      interruptedRuns.push(runOf(run));
      const stages = (interruptStages.all(row.id as string) as Row[]).map(stageOf);
      interruptedStages.push(...stages.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime()));
    }
    const freedLocks: LockHold[] = (orphanLocks.all() as Row[])
      .map(lockOf)
      .sort((a, b) => (a.host < b.host ? -1 : 1));
    return { interruptedRuns, interruptedStages, freedLocks };
  };
}
