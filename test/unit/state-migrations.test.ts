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

  it('all or nothing: a migration that fails leaves the file at its old version', () => {
    const db = new DatabaseSync(join(dirs.make(), 'm.db'));
    migrate(db, [v1]);
    expect(() => migrate(db, [v1, broken])).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['one']);
    db.close();
  });
});
