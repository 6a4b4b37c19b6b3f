// Opening the state: one SQLite file in the state directory, in WAL mode (readers never wait for the
// writer; the bot and a terminal command share it), with a busy timeout so concurrent writers queue rather
// than fail. Opening brings the schema up to date and cleans up after a process that died mid-run.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Recovery, StateStore } from '../../core/ports/state.ts';
import { approvalsPort } from './approvals.ts';
import { auditPort } from './audit.ts';
import { deploymentsPort } from './deployments.ts';
import { locksPort } from './locks.ts';
import { stateFileProblem } from './open-problem.ts';
import { currentOwner, ownerAlive } from './owner.ts';
import { recover } from './recovery.ts';
import { runsPort } from './runs.ts';
import { migrate } from './schema.ts';
import { stagesPort } from './stages.ts';

export const STATE_FILE = 'signage.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface OpenStateOptions {
  readonly stateDir: string;
  /** The time recovery records as the end of interrupted runs. */
  readonly now: Date;
  /** How long a write waits for another connection's transaction before failing. */
  readonly busyTimeoutMs?: number;
}

export interface OpenState {
  readonly store: StateStore;
  readonly recovered: Recovery;
  readonly file: string;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

export type OpenStateResult =
  | { readonly ok: true; readonly state: OpenState }
  | { readonly ok: false; readonly file: string; readonly message: string };

export function openStateStore(options: OpenStateOptions): OpenStateResult {
  const file = join(options.stateDir, STATE_FILE);
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  try {
    // The file holds the audit log: only the bot's user reads it. SQLite gives its -wal and -shm files the
    // database file's permissions, so creating it 0600 up front covers them too.
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
  } catch (e) {
    return { ok: false, file, message: stateFileProblem(e, options.stateDir, file) };
  }

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout, enableForeignKeyConstraints: true });
  } catch (e) {
    return { ok: false, file, message: describe(e) };
  }
  try {
    setWal(db, timeout);
    const migrated = migrate(db);
    if (!migrated.ok) {
      db.close();
      return { ok: false, file, message: migrated.message };
    }
    const owner = currentOwner();
    const recovered = recover(db, options.now, ownerAlive);
    const store: StateStore = {
      ...runsPort(db, owner),
      ...stagesPort(db),
      ...deploymentsPort(db),
      ...locksPort(db),
      ...approvalsPort(db),
      ...auditPort(db),
    };
    let closed = false;
    return {
      ok: true,
      state: {
        store,
        recovered,
        file,
        close() {
          if (closed) return;
          closed = true;
          db.close();
        },
      },
    };
  } catch (e) {
    db.close();
    return { ok: false, file, message: describe(e) };
  }
}

/**
 * Switching to WAL needs a moment alone with the file; SQLite does not wait for that through busy_timeout,
 * so a few processes opening the file at once retry here for up to the same time.
 */
function setWal(db: DatabaseSync, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

function isBusy(e: unknown): boolean {
  const code = (e as { errcode?: unknown }).errcode;
  // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
  return typeof code === 'number' && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

function describe(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/not a database|file is encrypted/i.test(message)) {
    return `not a signage-bot state database (SQLite: ${message}); move the file aside or point stateDir elsewhere`;
  }
  if (isBusy(e)) return `the state file stayed locked by another process (SQLite: ${message})`;
  return `cannot open the state database: ${message}`;
}
