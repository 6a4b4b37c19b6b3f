// Stages of a run, per host. Starting one is optional: it exists so that a crash leaves the stage visibly
// `interrupted` instead of missing. A stage can appear more than once for a host (a restart skipped while
// waiting, then run after the approval), so rows are kept in the order they started.
import type { DatabaseSync } from 'node:sqlite';
import type { StageRecord, StagesPort } from '../../core/ports/state.ts';
import { detailExcerpt } from './redact.ts';
import { dateOf, immediate, ms, numOrNull, type Row, str, strOrNull } from './sql.ts';

export function stageOf(row: Row): StageRecord {
  return {
    runId: str(row.run_id),
    host: str(row.host),
    stage: str(row.stage) as StageRecord['stage'],
    status: str(row.status) as StageRecord['status'],
    startedAt: dateOf(row.started_at),
    durationMs: numOrNull(row.duration_ms),
    bytes: numOrNull(row.bytes),
    detail: strOrNull(row.detail),
  };
}

function count(value: number | undefined, what: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`state: ${what} must be a whole number ≥ 0, got ${value}`);
  return value;
}

export function stagesPort(db: DatabaseSync): StagesPort {
  const start = db.prepare(
    `INSERT INTO stages (run_id, host, stage, status, started_at) VALUES (?, ?, ?, 'running', ?)`,
  );
  const running = db.prepare(`
    SELECT id FROM stages WHERE run_id = ? AND host = ? AND stage = ? AND status = 'running'
    ORDER BY id DESC LIMIT 1`);
  const end = db.prepare(`
    UPDATE stages SET status = ?, duration_ms = ?, bytes = ?, detail = ? WHERE id = ? RETURNING *`);
  const whole = db.prepare(`
    INSERT INTO stages (run_id, host, stage, status, started_at, duration_ms, bytes, detail)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`);
  const ofRun = db.prepare('SELECT * FROM stages WHERE run_id = ? ORDER BY started_at, id');

  return {
    startStage(s) {
      start.run(s.runId, s.host, s.stage, ms(s.now));
    },

    recordStage(e) {
      const durationMs = count(e.durationMs, 'a stage duration');
      const bytes = count(e.bytes, 'a stage byte count');
      const detail = e.detail === undefined ? null : detailExcerpt(e.detail);
      const startedAt = ms(e.startedAt);
      return immediate(db, () => {
        const open = running.get(e.runId, e.host, e.stage) as Row | undefined;
        const row =
          open === undefined
            ? whole.get(e.runId, e.host, e.stage, e.outcome, startedAt, durationMs, bytes, detail)
            : end.get(e.outcome, durationMs, bytes, detail, open.id as number);
        return stageOf(row as Row);
      });
    },

    stagesOf(runId) {
      return (ofRun.all(runId) as Row[]).map(stageOf);
    },
  };
}
