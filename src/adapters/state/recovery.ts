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
  const at = ms(now);
  const running = db.prepare(`SELECT * FROM runs WHERE status = 'running' ORDER BY started_at, rowid`);
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

  return immediate(db, () => {
    const interruptedRuns: RunRecord[] = [];
    const interruptedStages: StageRecord[] = [];
    for (const row of running.all() as Row[]) {
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
  });
}
