// The state file's schema, versioned with `PRAGMA user_version` and changed only by appending a migration:
// a released migration is never edited, because files out there already ran it. The CHECK lists mirror the
// value types in src/core; test/unit/state-values.test.ts writes every value, so a value added to a type
// fails there until a migration lets the schema accept it.
import type { DatabaseSync } from 'node:sqlite';
import { immediate } from './sql.ts';

/** Marks the file as this project's, so another program's SQLite file is refused rather than altered. */
export const APPLICATION_ID = 0x53474e42; // 'SGNB'

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/**
 * The statements that make `table` anew, SQLite's only way to change a column's constraint: create the new
 * table under another name, copy the rows of the columns both have, drop the old one, rename the new one
 * and make its indexes again (dropping a table drops them). A released migration's text never changes, so
 * the layout of the copied column lists is the caller's: one line each, continued `indented` by four
 * spaces or `aligned` under the first column.
 */
function remakeTable(t: {
  readonly table: string;
  readonly as: string;
  readonly columns: string;
  readonly copied: readonly string[];
  readonly continuation: 'indented' | 'aligned';
  /** Absent for a table without indexes. */
  readonly indexes?: string;
}): string {
  const insert = `INSERT INTO ${t.as} (`;
  const select = '  SELECT ';
  const indent = (head: string) => (t.continuation === 'aligned' ? ' '.repeat(head.length) : '    ');
  return [
    `CREATE TABLE ${t.as} (${t.columns}) STRICT;`,
    `${insert}${t.copied.join(`,\n${indent(insert)}`)})`,
    `${select}${t.copied.join(`,\n${indent(select)}`)} FROM ${t.table};`,
    `DROP TABLE ${t.table};`,
    `ALTER TABLE ${t.as} RENAME TO ${t.table};`,
    ...(t.indexes === undefined ? [] : [t.indexes]),
  ].join('\n');
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, stages, deployments, locks, approvals, audit',
    sql: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  hosts TEXT NOT NULL,
  actor TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'awaiting-approval', 'interrupted')),
  summary TEXT,
  slack_channel TEXT,
  slack_ts TEXT,
  owner_boot_id TEXT,
  owner_pid INTEGER,
  owner_start_time TEXT
) STRICT;
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE run_hosts (
  run_id TEXT NOT NULL REFERENCES runs (id),
  host TEXT NOT NULL,
  PRIMARY KEY (run_id, host)
) STRICT, WITHOUT ROWID;
CREATE INDEX run_hosts_by_host ON run_hosts (host);

CREATE TABLE stages (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id),
  host TEXT NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('build', 'plan', 'copy', 'switch', 'approve', 'restart', 'rollback')),
  status TEXT NOT NULL CHECK (status IN ('ok', 'noop', 'failed', 'skipped', 'running', 'interrupted')),
  started_at INTEGER NOT NULL,
  duration_ms INTEGER,
  bytes INTEGER,
  detail TEXT
) STRICT;
CREATE INDEX stages_by_run ON stages (run_id, started_at);

CREATE TABLE deployments (
  id INTEGER PRIMARY KEY,
  host TEXT NOT NULL,
  toplevel TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES runs (id),
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX deployments_by_host ON deployments (host, at);

CREATE TABLE locks (
  host TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id),
  holder TEXT NOT NULL,
  since INTEGER NOT NULL
) STRICT;
CREATE INDEX locks_by_run ON locks (run_id);

CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id),
  host TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('restart')),
  question TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  decided_by TEXT,
  decided_at INTEGER,
  slack_channel TEXT,
  slack_ts TEXT
) STRICT;
CREATE INDEX approvals_by_status ON approvals (status, created_at);

-- No reference to runs: the audit log keeps whatever was run, even by something that is not a run.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  run_id TEXT,
  host TEXT NOT NULL,
  actor TEXT NOT NULL,
  argv TEXT NOT NULL,
  exit_code INTEGER,
  duration_ms INTEGER NOT NULL,
  error TEXT
) STRICT;
CREATE INDEX audit_by_host ON audit (host, at);
CREATE INDEX audit_by_run ON audit (run_id, at);
`,
  },
  {
    version: 2,
    description: 'the fleet revision each run built and each deployment switched to',
    sql: `
ALTER TABLE runs ADD COLUMN revision TEXT;
ALTER TABLE deployments ADD COLUMN revision TEXT;
CREATE INDEX deployments_by_toplevel ON deployments (host, toplevel, at);
`,
  },
  {
    version: 3,
    description: 'activations: what is being activated where, recorded before the revert is armed',
    sql: `
CREATE TABLE activations (
  id INTEGER PRIMARY KEY,
  host TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES runs (id),
  previous TEXT,
  next TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  outcome TEXT CHECK (outcome IN ('confirmed', 'reverted', 'reverted-by-host', 'unchanged', 'unknown')),
  settled_at INTEGER,
  detail TEXT
) STRICT;
CREATE INDEX activations_open ON activations (outcome, host);
`,
  },
  {
    version: 4,
    description: 'pending work: a system a host is still to be brought to (or a restart), and why it waits',
    sql: `
CREATE TABLE pending (
  host TEXT PRIMARY KEY,
  toplevel TEXT,
  revision TEXT,
  reason TEXT NOT NULL CHECK (reason IN ('unreachable', 'window')),
  since INTEGER NOT NULL,
  opens_at INTEGER,
  requested_by TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES runs (id),
  verb TEXT NOT NULL CHECK (verb IN ('deploy', 'switch', 'restart')),
  restart TEXT NOT NULL CHECK (restart IN ('ask', 'yes', 'no')),
  CHECK ((verb = 'restart') = (toplevel IS NULL))
) STRICT;
`,
  },
  {
    version: 5,
    description:
      "health watch: each host's last reported health and its recent checks, for flapping suppression",
    sql: `
CREATE TABLE health_watch (
  host TEXT PRIMARY KEY,
  settled_kind TEXT NOT NULL CHECK (settled_kind IN ('states', 'flapping')),
  settled_key TEXT,
  recent TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`,
  },
  {
    version: 6,
    description: 'reboots: a reboot stage and a reboot question beside the restart ones',
    // SQLite cannot change a CHECK constraint in place: each table is made anew with the wider one.
    sql: `
${remakeTable({
  table: 'stages',
  as: 'stages_new',
  columns: `
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id),
  host TEXT NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('build', 'plan', 'copy', 'switch', 'approve', 'restart', 'rollback', 'reboot')),
  status TEXT NOT NULL CHECK (status IN ('ok', 'noop', 'failed', 'skipped', 'running', 'interrupted')),
  started_at INTEGER NOT NULL,
  duration_ms INTEGER,
  bytes INTEGER,
  detail TEXT
`,
  copied: ['id, run_id, host, stage, status, started_at, duration_ms, bytes, detail'],
  continuation: 'indented',
  indexes: 'CREATE INDEX stages_by_run ON stages (run_id, started_at);',
})}

${remakeTable({
  table: 'approvals',
  as: 'approvals_new',
  columns: `
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id),
  host TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('restart', 'reboot')),
  question TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  decided_by TEXT,
  decided_at INTEGER,
  slack_channel TEXT,
  slack_ts TEXT
`,
  copied: [
    'id, run_id, host, action, question, requested_by, created_at, expires_at, status',
    'decided_by, decided_at, slack_channel, slack_ts',
  ],
  continuation: 'indented',
  indexes: 'CREATE INDEX approvals_by_status ON approvals (status, created_at);',
})}
`,
  },
  {
    version: 7,
    description:
      'cancelled runs, cancel requests and what each run was asked with; approvals from several approvers',
    // SQLite cannot change a CHECK list in place: the runs table is made anew (see `migrate`, which turns
    // foreign keys off around it and checks them before committing).
    sql: `
${remakeTable({
  table: 'runs',
  as: 'runs_v4',
  columns: `
  id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  hosts TEXT NOT NULL,
  actor TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  status TEXT NOT NULL
    CHECK (status IN ('running', 'ok', 'failed', 'awaiting-approval', 'interrupted', 'cancelled')),
  summary TEXT,
  slack_channel TEXT,
  slack_ts TEXT,
  owner_boot_id TEXT,
  owner_pid INTEGER,
  owner_start_time TEXT,
  revision TEXT,
  options TEXT,
  cancel_requested_by TEXT,
  cancel_requested_at INTEGER
`,
  copied: [
    'id, verb, hosts, actor, started_at, finished_at, status, summary, slack_channel, slack_ts',
    'owner_boot_id, owner_pid, owner_start_time, revision',
  ],
  continuation: 'aligned',
  indexes: 'CREATE INDEX runs_by_status ON runs (status);',
})}

-- A question that needs more than one approver, or not its requester's: absent, one approver decides.
CREATE TABLE approval_rules (
  approval_id TEXT PRIMARY KEY REFERENCES approvals (id),
  required INTEGER NOT NULL CHECK (required >= 1),
  requester_may_approve INTEGER NOT NULL CHECK (requester_may_approve IN (0, 1))
) STRICT, WITHOUT ROWID;

-- Each approver's answer, once: the primary key refuses a second one by the same person.
CREATE TABLE approval_votes (
  approval_id TEXT NOT NULL REFERENCES approvals (id),
  voter TEXT NOT NULL,
  actor TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approved', 'denied')),
  at INTEGER NOT NULL,
  PRIMARY KEY (approval_id, voter)
) STRICT, WITHOUT ROWID;
`,
  },
  {
    version: 8,
    description:
      'reboots at the next window (pending verb reboot); reboots recorded beside activations (kind boot)',
    // SQLite cannot change a CHECK list in place: the pending table is made anew with the wider one. A
    // pending reboot, like a pending restart, brings no system of its own.
    sql: `
${remakeTable({
  table: 'pending',
  as: 'pending_v8',
  columns: `
  host TEXT PRIMARY KEY,
  toplevel TEXT,
  revision TEXT,
  reason TEXT NOT NULL CHECK (reason IN ('unreachable', 'window')),
  since INTEGER NOT NULL,
  opens_at INTEGER,
  requested_by TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES runs (id),
  verb TEXT NOT NULL CHECK (verb IN ('deploy', 'switch', 'restart', 'reboot')),
  restart TEXT NOT NULL CHECK (restart IN ('ask', 'yes', 'no')),
  CHECK ((verb IN ('restart', 'reboot')) = (toplevel IS NULL))
`,
  copied: ['host, toplevel, revision, reason, since, opens_at, requested_by, run_id, verb, restart'],
  continuation: 'indented',
})}

ALTER TABLE activations ADD COLUMN kind TEXT NOT NULL DEFAULT 'switch' CHECK (kind IN ('switch', 'boot'));
`,
  },
];

/** The version this code writes and understands. */
export const CURRENT_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

export function schemaVersion(db: DatabaseSync): number {
  return pragmaNumber(db, 'user_version');
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  const value = row?.[name];
  return typeof value === 'number' ? value : 0;
}

export type MigrateResult =
  | { readonly ok: true; readonly from: number; readonly to: number }
  | { readonly ok: false; readonly message: string };

/**
 * Brings the file up to the current version in one transaction: all the missing migrations, or none.
 * Refuses a file written by a newer version, and an SQLite file that belongs to another program.
 */
export function migrate(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): MigrateResult {
  const target = migrations.at(-1)?.version ?? 0;
  // A migration may make a table anew (SQLite's way to change a constraint); with foreign keys on, dropping
  // the old one would fail. They are off for the transaction and checked before it commits. The pragma is a
  // no-op inside a transaction, so it is set around it.
  const keys = pragmaNumber(db, 'foreign_keys');
  if (keys !== 0) db.exec('PRAGMA foreign_keys = OFF');
  try {
    return migrateInTransaction(db, migrations, target);
  } finally {
    if (keys !== 0) db.exec('PRAGMA foreign_keys = ON');
  }
}

function migrateInTransaction(
  db: DatabaseSync,
  migrations: readonly Migration[],
  target: number,
): MigrateResult {
  return immediate(db, (): MigrateResult => {
    const from = schemaVersion(db);
    const appId = pragmaNumber(db, 'application_id');
    if (appId !== 0 && appId !== APPLICATION_ID) {
      return {
        ok: false,
        message: `an SQLite database of another program (application_id ${appId}), not signage-bot's state`,
      };
    }
    if (from === 0 && appId === 0) {
      const tables = db
        .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
        .get() as {
        n: number;
      };
      if (tables.n > 0) {
        return {
          ok: false,
          message: "an SQLite database that is not signage-bot's state (it already has tables)",
        };
      }
    }
    if (from > target) {
      return {
        ok: false,
        message: `written by a newer signage-bot (schema version ${from}; this one knows up to ${target}); upgrade signage-bot, or point stateDir elsewhere`,
      };
    }
    for (const m of migrations) {
      if (m.version <= from) continue;
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
    }
    const broken = db.prepare('PRAGMA foreign_key_check').all();
    if (broken.length > 0) {
      throw new Error(
        `state: migrating left ${broken.length} row(s) pointing at nothing; nothing was changed`,
      );
    }
    if (appId === 0) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    return { ok: true, from, to: Math.max(from, target) };
  });
}
