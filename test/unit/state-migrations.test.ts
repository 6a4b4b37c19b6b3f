import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore, STATE_FILE } from '../../src/adapters/state/open.ts';
import {
  CURRENT_SCHEMA_VERSION,
  MIGRATIONS,
  type Migration,
  migrate,
  schemaVersion,
} from '../../src/adapters/state/schema.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const now = new Date('2025-03-01T09:00:00Z');

function tables(db: DatabaseSync): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
}

describe('opening the state file', () => {
  it('creates the schema in a new directory, in WAL mode, readable only by its owner', () => {
    const dir = join(dirs.make(), 'nested', 'state');
    const state = openOrThrow(dir, now);
    expect(state.file).toBe(join(dir, STATE_FILE));
    expect(statSync(state.file).mode & 0o777).toBe(0o600);
    state.close();
    state.close();

    const db = new DatabaseSync(join(dir, STATE_FILE));
    expect(schemaVersion(db)).toBe(CURRENT_SCHEMA_VERSION);
    expect(CURRENT_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect(tables(db)).toEqual([
      'activations',
      'approval_rules',
      'approval_votes',
      'approvals',
      'audit',
      'deployments',
      'health_watch',
      'locks',
      'pending',
      'run_hosts',
      'runs',
      'stages',
    ]);
    db.close();
  });

  it('keeps what was written across opens', () => {
    const dir = dirs.make();
    const first = openOrThrow(dir, now);
    const run = first.store.createRun({
      verb: 'build',
      hosts: ['lobby'],
      actor: { kind: 'cli', user: 'me' },
      now,
    });
    first.store.finishRun(run.id, { status: 'ok', now });
    first.close();
    const second = openOrThrow(dir, now);
    expect(second.store.getRun(run.id)?.status).toBe('ok');
    second.close();
  });

  it('refuses a file written by a newer version, and leaves it as it was', () => {
    const dir = dirs.make();
    openOrThrow(dir, now).close();
    const file = join(dir, STATE_FILE);
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA user_version = ${CURRENT_SCHEMA_VERSION + 1}`);
    db.close();

    const opened = openStateStore({ stateDir: dir, now });
    expect(opened).toEqual({
      ok: false,
      file,
      message: `written by a newer signage-bot (schema version ${CURRENT_SCHEMA_VERSION + 1}; this one knows up to ${CURRENT_SCHEMA_VERSION}); upgrade signage-bot, or point stateDir elsewhere`,
    });
    const after = new DatabaseSync(file);
    expect(schemaVersion(after)).toBe(CURRENT_SCHEMA_VERSION + 1);
    after.close();
  });

  it('refuses a file that is not a database, without touching it', () => {
    const dir = dirs.make();
    const file = join(dir, STATE_FILE);
    const text = 'these are notes, not a database\n'.repeat(200);
    writeFileSync(file, text);
    const opened = openStateStore({ stateDir: dir, now });
    expect(opened.ok).toBe(false);
    expect(opened.ok ? '' : opened.message).toMatch(
      /^not a signage-bot state database \(SQLite: .*not a database.*\)/,
    );
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it("refuses another program's SQLite database rather than adding tables to it", () => {
    const dir = dirs.make();
    const file = join(dir, STATE_FILE);
    const other = new DatabaseSync(file);
    other.exec('CREATE TABLE recipes (name TEXT)');
    other.close();
    const opened = openStateStore({ stateDir: dir, now });
    expect(opened.ok ? '' : opened.message).toBe(
      "an SQLite database that is not signage-bot's state (it already has tables)",
    );
    const after = new DatabaseSync(file);
    expect(tables(after)).toEqual(['recipes']);
    after.close();
  });
});

describe('migrations', () => {
  const v1: Migration = { version: 1, description: 'one', sql: 'CREATE TABLE one (x INTEGER) STRICT;' };
  const v2: Migration = { version: 2, description: 'two', sql: 'CREATE TABLE two (y TEXT) STRICT;' };
  const broken: Migration = {
    version: 2,
    description: 'breaks half-way',
    sql: 'CREATE TABLE half (z TEXT); CREATE TABLE one (x INTEGER);',
  };

  it('apply forward from an empty file, each once', () => {
    const db = new DatabaseSync(join(dirs.make(), 'm.db'));
    expect(migrate(db, [v1])).toEqual({ ok: true, from: 0, to: 1 });
    expect(migrate(db, [v1, v2])).toEqual({ ok: true, from: 1, to: 2 });
    expect(migrate(db, [v1, v2])).toEqual({ ok: true, from: 2, to: 2 });
    expect(tables(db)).toEqual(['one', 'two']);
    db.close();
  });

  it('version 7 makes the runs table anew: runs, their stages, locks and questions are kept, foreign keys on', () => {
    const db = new DatabaseSync(join(dirs.make(), 'v3.db'), { enableForeignKeyConstraints: true });
    expect(migrate(db, MIGRATIONS.slice(0, 3))).toMatchObject({ ok: true, to: 3 });
    const actor = JSON.stringify({ kind: 'cli', user: 'me' });
    db.exec(`
      INSERT INTO runs (id, verb, hosts, actor, started_at, status, revision)
        VALUES ('r1', 'deploy', '["a"]', '${actor}', 1, 'awaiting-approval', NULL);
      INSERT INTO run_hosts (run_id, host) VALUES ('r1', 'a');
      INSERT INTO stages (run_id, host, stage, status, started_at) VALUES ('r1', 'a', 'switch', 'ok', 2);
      INSERT INTO locks (host, run_id, holder, since) VALUES ('a', 'r1', '${actor}', 1);
      INSERT INTO approvals (id, run_id, host, action, question, requested_by, created_at, expires_at, status)
        VALUES ('q1', 'r1', 'a', 'restart', 'Restart?', '${actor}', 3, 4, 'pending');`);
    expect(migrate(db, MIGRATIONS.slice(0, 7))).toEqual({ ok: true, from: 3, to: 7 });
    expect(db.prepare('SELECT id, status, options, cancel_requested_at FROM runs').all()).toEqual([
      { id: 'r1', status: 'awaiting-approval', options: null, cancel_requested_at: null },
    ]);
    expect((db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys).toBe(1);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
    // The children still point at runs: a stage of a run that does not exist is refused.
    expect(() =>
      db.exec(
        "INSERT INTO stages (run_id, host, stage, status, started_at) VALUES ('nope', 'a', 'copy', 'ok', 5)",
      ),
    ).toThrow(/FOREIGN KEY/);
    db.exec("UPDATE runs SET status = 'cancelled' WHERE id = 'r1'");
    db.close();
  });

  it('version 8 keeps pending work and activations, accepts pending reboots, and calls old activations switches', () => {
    const db = new DatabaseSync(join(dirs.make(), 'v7.db'), { enableForeignKeyConstraints: true });
    expect(migrate(db, MIGRATIONS.slice(0, 7))).toMatchObject({ ok: true, to: 7 });
    const actor = JSON.stringify({ kind: 'cli', user: 'me' });
    db.exec(`
      INSERT INTO runs (id, verb, hosts, actor, started_at, status) VALUES ('r1', 'deploy', '["a"]', '${actor}', 1, 'ok');
      INSERT INTO pending (host, toplevel, reason, since, requested_by, run_id, verb, restart)
        VALUES ('a', NULL, 'window', 2, '${actor}', 'r1', 'restart', 'yes');
      INSERT INTO activations (host, run_id, previous, next, started_at, deadline)
        VALUES ('a', 'r1', '/nix/store/p', '/nix/store/n', 3, 4);`);
    expect(() =>
      db.exec(`INSERT INTO pending (host, toplevel, reason, since, requested_by, run_id, verb, restart)
        VALUES ('b', NULL, 'window', 2, '${actor}', 'r1', 'reboot', 'yes')`),
    ).toThrow(/CHECK/);
    expect(migrate(db, MIGRATIONS.slice(0, 8))).toEqual({ ok: true, from: 7, to: 8 });
    expect(db.prepare('SELECT host, verb FROM pending').all()).toEqual([{ host: 'a', verb: 'restart' }]);
    db.exec(`INSERT INTO pending (host, toplevel, reason, since, requested_by, run_id, verb, restart)
      VALUES ('b', NULL, 'window', 2, '${actor}', 'r1', 'reboot', 'ask')`);
    // A pending reboot brings no system, as a restart does not.
    expect(() =>
      db.exec(`INSERT INTO pending (host, toplevel, reason, since, requested_by, run_id, verb, restart)
        VALUES ('c', '/nix/store/x', 'window', 2, '${actor}', 'r1', 'reboot', 'ask')`),
    ).toThrow(/CHECK/);
    expect(db.prepare('SELECT host, kind FROM activations').all()).toEqual([{ host: 'a', kind: 'switch' }]);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
    db.close();
  });

  it('all or nothing: a migration that fails leaves the file at its old version', () => {
    const db = new DatabaseSync(join(dirs.make(), 'm.db'));
    migrate(db, [v1]);
    expect(() => migrate(db, [v1, broken])).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['one']);
    db.close();
  });
});
