// The audit log: every command run on a host, by whom, for which run, how it ended and how long it took.
// argv is kept as JSON (exactly the words run); an error keeps only its last 2,000 characters, masked.
import type { DatabaseSync } from 'node:sqlite';
import type { AuditPort, AuditRecord } from '../../core/ports/state.ts';
import { errorExcerpt, maskSecrets } from './redact.ts';
import {
  actorJson,
  actorOf,
  dateOf,
  ms,
  num,
  numOrNull,
  type Row,
  str,
  stringList,
  strOrNull,
} from './sql.ts';

export function auditOf(row: Row): AuditRecord {
  return {
    id: num(row.id),
    at: dateOf(row.at),
    runId: strOrNull(row.run_id),
    host: str(row.host),
    actor: actorOf(row.actor),
    argv: stringList(row.argv),
    exitCode: numOrNull(row.exit_code),
    durationMs: num(row.duration_ms),
    error: strOrNull(row.error),
  };
}

/** What an entry says until its command reports how it ended (a process killed meanwhile leaves it so). */
export const UNFINISHED = 'no end was recorded: the bot stopped, or lost its state database, while this ran';

export function auditPort(db: DatabaseSync): AuditPort {
  const insert = db.prepare(`
    INSERT INTO audit (at, run_id, host, actor, argv, exit_code, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  // Filters bound as NULL match everything, so one statement serves every query shape.
  const query = db.prepare(`
    SELECT * FROM audit WHERE (?1 IS NULL OR host = ?1) AND (?2 IS NULL OR run_id = ?2)
    ORDER BY at DESC, id DESC LIMIT ?3`);
  const update = db.prepare('UPDATE audit SET exit_code = ?, duration_ms = ?, error = ? WHERE id = ?');
  const checkExit = (exitCode: number | null) => {
    if (exitCode !== null && !Number.isInteger(exitCode)) {
      throw new TypeError(`state: an exit code must be a whole number or null, got ${exitCode}`);
    }
  };
  return {
    auditStart(entry) {
      const done = insert.run(
        ms(entry.at),
        entry.runId,
        entry.host,
        actorJson(entry.actor),
        JSON.stringify(entry.argv.map(maskSecrets)),
        null,
        0,
        UNFINISHED,
      );
      return Number(done.lastInsertRowid);
    },
    auditEnd(id, end) {
      checkExit(end.exitCode);
      update.run(
        end.exitCode,
        Math.max(0, Math.round(end.durationMs)),
        end.error === undefined || end.error === null ? null : errorExcerpt(end.error),
        id,
      );
    },
    audit(entry) {
      const exitCode = entry.exitCode;
      if (exitCode !== null && !Number.isInteger(exitCode)) {
        throw new TypeError(`state: an exit code must be a whole number or null, got ${exitCode}`);
      }
      insert.run(
        ms(entry.at),
        entry.runId,
        entry.host,
        actorJson(entry.actor),
        // A secret passed on a command line is as much a leak as one in stderr.
        JSON.stringify(entry.argv.map(maskSecrets)),
        exitCode,
        Math.max(0, Math.round(entry.durationMs)),
        entry.error === undefined || entry.error === null ? null : errorExcerpt(entry.error),
      );
    },
    auditLog({ host, runId, limit }) {
      return (query.all(host ?? null, runId ?? null, limit) as Row[]).map(auditOf);
    },
  };
}
