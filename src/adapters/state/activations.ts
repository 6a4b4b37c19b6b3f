// Activations in flight: written before a host's revert is armed and ended when the bot knows how it ended,
// so that after a crash the next process to start finds what was left open and asks the host.
import type { DatabaseSync } from 'node:sqlite';
import type {
  ActivationKind,
  ActivationOutcome,
  ActivationRecord,
  ActivationsPort,
} from '../../core/ports/state.ts';
import { dateOf, dateOrNull, ms, num, type Row, str, strOrNull } from './sql.ts';

function activationOf(row: Row): ActivationRecord {
  return {
    id: num(row.id),
    kind: str(row.kind) as ActivationKind,
    host: str(row.host),
    runId: str(row.run_id),
    previous: strOrNull(row.previous),
    next: str(row.next),
    startedAt: dateOf(row.started_at),
    deadline: dateOf(row.deadline),
    outcome: strOrNull(row.outcome) as ActivationOutcome | null,
    settledAt: dateOrNull(row.settled_at),
    detail: strOrNull(row.detail),
  };
}

export function activationsPort(db: DatabaseSync): ActivationsPort {
  const insert = db.prepare(
    'INSERT INTO activations (kind, host, run_id, previous, next, started_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const end = db.prepare(
    'UPDATE activations SET outcome = ?, detail = ?, settled_at = ? WHERE id = ? AND outcome IS NULL',
  );
  const open = db.prepare('SELECT * FROM activations WHERE outcome IS NULL ORDER BY started_at, id');
  const ofRun = db.prepare('SELECT * FROM activations WHERE run_id = ? ORDER BY started_at, id');
  return {
    beginActivation(a) {
      const row = insert.get(
        a.kind ?? 'switch',
        a.host,
        a.runId,
        a.previous,
        a.next,
        ms(a.startedAt),
        ms(a.deadline),
      ) as Row;
      return activationOf(row);
    },
    endActivation(id, outcome, detail, now) {
      end.run(outcome, detail, ms(now), id);
    },
    openActivations: () => (open.all() as Row[]).map(activationOf),
    activationsOf: (runId) => (ofRun.all(runId) as Row[]).map(activationOf),
  };
}
