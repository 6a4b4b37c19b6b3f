// Runs: one request carried out. A run that ends frees its host locks in the same transaction, so no lock
// outlives its run; a run that pauses for an approval keeps them. A running run records its process (see
// owner.ts); a paused one belongs to no process, and whichever takes it up again (resumeRun) becomes its owner.
import type { DatabaseSync } from 'node:sqlite';
import type { CancelResult, RunOptions, RunRecord, RunsPort } from '../../core/ports/state.ts';
import { newId, RUN_ID_RANDOM } from './ids.ts';
import type { ProcessOwner } from './owner.ts';
import { revisionJson, revisionOf } from './revision-json.ts';
import {
  actorJson,
  actorOf,
  dateOf,
  dateOrNull,
  immediate,
  isUniqueViolation,
  jsonText,
  ms,
  type Row,
  slackOf,
  str,
  stringList,
} from './sql.ts';

export function runOf(row: Row): RunRecord {
  const summary = row.summary;
  return {
    id: str(row.id),
    verb: str(row.verb),
    hosts: stringList(row.hosts),
    actor: actorOf(row.actor),
    startedAt: dateOf(row.started_at),
    finishedAt: dateOrNull(row.finished_at),
    status: str(row.status) as RunRecord['status'],
    summary: summary === null || summary === undefined ? null : (JSON.parse(str(summary)) as unknown),
    slack: slackOf(row),
    revision: revisionOf(row.revision),
    options: optionsOf(row.options),
    cancelRequest:
      row.cancel_requested_at === null || row.cancel_requested_at === undefined
        ? null
        : { by: actorOf(row.cancel_requested_by), at: dateOf(row.cancel_requested_at) },
  };
}

/** Read back defensively: options this version cannot read are treated as unknown. */
function optionsOf(value: unknown): RunOptions | null {
  if (typeof value !== 'string') return null;
  try {
    const o = JSON.parse(value) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) return null;
    return {
      ...(typeof o.until === 'string' && ['plan', 'copy', 'switch', 'restart'].includes(o.until)
        ? { until: o.until as NonNullable<RunOptions['until']> }
        : {}),
      ...(typeof o.restart === 'string' && ['ask', 'yes', 'no'].includes(o.restart)
        ? { restart: o.restart as NonNullable<RunOptions['restart']> }
        : {}),
      ...(typeof o.ref === 'string' || o.ref === null ? { ref: o.ref } : {}),
    };
  } catch {
    return null;
  }
}

export function runsPort(db: DatabaseSync, owner: ProcessOwner): RunsPort {
  const insert = db.prepare(`
    INSERT INTO runs (id, verb, hosts, actor, started_at, status, slack_channel, slack_ts,
                      owner_boot_id, owner_pid, owner_start_time, revision, options)
    VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`);
  const insertHost = db.prepare('INSERT OR IGNORE INTO run_hosts (run_id, host) VALUES (?, ?)');
  const get = db.prepare('SELECT * FROM runs WHERE id = ?');
  const finish = db.prepare(`
    UPDATE runs SET status = ?, finished_at = ?, summary = coalesce(?, summary)
    WHERE id = ? AND status IN ('running', 'awaiting-approval') RETURNING *`);
  const freeLocks = db.prepare('DELETE FROM locks WHERE run_id = ?');
  const resume = db.prepare(`
    UPDATE runs SET status = 'running', finished_at = NULL,
                    owner_boot_id = ?, owner_pid = ?, owner_start_time = ?
    WHERE id = ? AND status = 'awaiting-approval' RETURNING *`);
  const attach = db.prepare('UPDATE runs SET slack_channel = ?, slack_ts = ? WHERE id = ?');
  const recent = db.prepare('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?');
  const cancel = db.prepare(`
    UPDATE runs SET cancel_requested_by = ?, cancel_requested_at = ?
    WHERE id = ? AND status IN ('running', 'awaiting-approval') AND cancel_requested_at IS NULL RETURNING *`);
  const recentFor = db.prepare(`
    SELECT runs.* FROM runs JOIN run_hosts ON run_hosts.run_id = runs.id
    WHERE run_hosts.host = ? ORDER BY runs.started_at DESC, runs.rowid DESC LIMIT ?`);

  return {
    createRun(run) {
      const hosts = [...run.hosts];
      const startedAt = ms(run.now);
      const actor = actorJson(run.actor);
      return immediate(db, () => {
        // Two runs in one millisecond share the time part; a clash of the random part is simply retried.
        for (;;) {
          const id = newId(run.now, RUN_ID_RANDOM);
          try {
            insert.run(
              id,
              run.verb,
              JSON.stringify(hosts),
              actor,
              startedAt,
              run.slack?.channel ?? null,
              run.slack?.ts ?? null,
              owner.bootId,
              owner.pid,
              owner.startTime,
              revisionJson(run.revision),
              run.options === undefined ? null : jsonText(run.options, 'the options of a run'),
            );
          } catch (e) {
            if (isUniqueViolation(e)) continue;
            throw e;
          }
          for (const host of hosts) insertHost.run(id, host);
          return runOf(get.get(id) as Row);
        }
      });
    },

    finishRun(id, end) {
      const summary = end.summary === undefined ? null : jsonText(end.summary, `the summary of run ${id}`);
      const at = ms(end.now);
      return immediate(db, () => {
        const row = finish.get(end.status, at, summary, id) as Row | undefined;
        if (row === undefined) return undefined;
        if (end.status !== 'awaiting-approval') freeLocks.run(id);
        return runOf(row);
      });
    },

    resumeRun(id) {
      const row = resume.get(owner.bootId, owner.pid, owner.startTime, id) as Row | undefined;
      return row === undefined ? undefined : runOf(row);
    },

    attachRunMessage(id, slack) {
      attach.run(slack.channel, slack.ts, id);
    },

    getRun(id) {
      const row = get.get(id) as Row | undefined;
      return row === undefined ? undefined : runOf(row);
    },

    recentRuns({ host, limit }) {
      const rows = (host === undefined ? recent.all(limit) : recentFor.all(host, limit)) as Row[];
      return rows.map(runOf);
    },

    requestCancel(id, by, now): CancelResult {
      const won = cancel.get(actorJson(by), ms(now), id) as Row | undefined;
      if (won !== undefined) return { kind: 'requested', run: runOf(won) };
      const row = get.get(id) as Row | undefined;
      if (row === undefined) return { kind: 'unknown', id };
      const run = runOf(row);
      if (run.status === 'running' || run.status === 'awaiting-approval')
        return { kind: 'already-requested', run };
      return { kind: 'finished', run };
    },

    lastRunFor(host) {
      const row = recentFor.get(host, 1) as Row | undefined;
      return row === undefined ? undefined : runOf(row);
    },
  };
}
