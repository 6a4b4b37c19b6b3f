// Opening the state: one SQLite file in the state directory, in WAL mode (readers never wait for the
// writer; the bot and a terminal command share it), with a busy timeout so concurrent writers queue rather
// than fail. Opening brings the schema up to date and cleans up after a process that died mid-run.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Recovery, StateStore } from '../../core/ports/state.ts';
import { activationsPort } from './activations.ts';
import { approvalsPort } from './approvals.ts';
import { auditPort } from './audit.ts';
import { deploymentsPort } from './deployments.ts';
import { healthWatchPort } from './health-watch.ts';
import { locksPort } from './locks.ts';
import { stateFileProblem } from './open-problem.ts';
import { currentOwner, ownerAlive } from './owner.ts';
import { pendingPort } from './pending.ts';
import { recover } from './recovery.ts';
import { runsPort } from './runs.ts';
import { migrate } from './schema.ts';
import { stagesPort } from './stages.ts';

export const STATE_FILE = 'signage.db';
/**
 * Written beside the database when it is made: a database missing while its marker is there was deleted (or
 * lost), and a new one is made with a warning that history and open questions went with it.
 */
export const STATE_MARKER = 'signage.db.created';
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
  /** Things a person should know about the state itself (a database that had to be made anew). */
  readonly warnings: readonly string[];
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

export type OpenStateResult =
  | { readonly ok: true; readonly state: OpenState }
  | { readonly ok: false; readonly file: string; readonly message: string };

/** A database file that exists and holds something (SQLite makes an empty file into a new database). */
function hasDatabase(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

export function openStateStore(options: OpenStateOptions): OpenStateResult {
  const file = join(options.stateDir, STATE_FILE);
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const marker = join(options.stateDir, STATE_MARKER);
  const existed = hasDatabase(file);
  const warnings: string[] = [];
  if (!existed && existsSync(marker)) {
    const made = readOrEmpty(marker).trim();
    warnings.push(
      `the state database ${file} was missing${made ? ` (the one made ${made})` : ''}, so a new, empty one was made: ` +
        'the run history, the record of what was deployed, host locks and open restart questions were lost ' +
        '(the screens themselves are unchanged; `status` shows what they run)',
    );
  }
  try {
    // The file holds the audit log: only the bot's user reads it. SQLite gives its -wal and -shm files the
    // database file's permissions, so creating it 0600 up front covers them too.
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
  } catch (e) {
    // Every command on a host is recorded there first, so without it nothing runs.
    return { ok: false, file, message: `${stateFileProblem(e, options.stateDir, file)}; nothing was run` };
  }

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout, enableForeignKeyConstraints: true });
  } catch (e) {
    return { ok: false, file, message: describe(e).replace('FILE', file) };
  }
  try {
    setWal(db, timeout);
    // One damaged page is found here, at open, rather than as a failure in the middle of a deploy. quick_check
    // reads every page once (milliseconds for a state file) without the costlier index cross-checks.
    const damage = quickCheck(db);
    if (damage !== null) {
      db.close();
      return { ok: false, file, message: damaged(file, damage) };
    }
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
      ...activationsPort(db),
      ...locksPort(db, ownerAlive),
      ...approvalsPort(db),
      ...auditPort(db),
      ...pendingPort(db),
      ...healthWatchPort(db),
    };
    if (!existed || !existsSync(marker)) writeMarker(marker, options.now);
    let closed = false;
    return {
      ok: true,
      state: {
        store,
        recovered,
        file,
        warnings,
        close() {
          if (closed) return;
          closed = true;
          db.close();
        },
      },
    };
  } catch (e) {
    db.close();
    const message = describe(e);
    return { ok: false, file, message: message.replace('FILE', file) };
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
  const code = ((e as { errcode?: unknown }).errcode as number | undefined) ?? 0;
  if ((code & 0xff) === 11 || /malformed|corrupt/i.test(message)) return damagedText(message);
  if (/not a database|file is encrypted/i.test(message)) {
    return `not a signage-bot state database (SQLite: ${message}); move the file aside or point stateDir elsewhere`;
  }
  if (isBusy(e)) {
    return (
      `the state database stayed locked by another process for ${DEFAULT_BUSY_TIMEOUT_MS / 1000} s (SQLite: ${message}); ` +
      'nothing was run. Another signage command or the bot holds it: let it finish, or find it with `fuser` on the file'
    );
  }
  if ((code & 0xff) === 8 || /readonly|read-only/i.test(message)) {
    return (
      `the state database cannot be written (SQLite: ${message}); nothing was run, since every command on a host ` +
      "is recorded there first: make it and its directory writable by the bot's user, or point stateDir elsewhere"
    );
  }
  return `cannot open the state database: ${message}`;
}

/** null when the file is sound, else SQLite's first complaint. */
function quickCheck(db: DatabaseSync): string | null {
  const rows = db.prepare('PRAGMA quick_check(3)').all() as { quick_check?: unknown }[];
  const said = rows.map((r) => String(r.quick_check ?? Object.values(r)[0]));
  return said.length === 1 && said[0] === 'ok' ? null : said.join('; ');
}

function damagedText(why: string): string {
  return (
    `the state database is damaged (SQLite: ${why}); nothing was run. This is not a host problem. ` +
    'Stop the bot and every signage command, move the file aside (keep it: `sqlite3 FILE .recover` may save its ' +
    'audit log), then run again: a new database is made, without the history or open restart questions'
  );
}

function damaged(file: string, why: string): string {
  return damagedText(why).replace('FILE', file);
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function writeMarker(marker: string, now: Date): void {
  try {
    writeFileSync(marker, `${now.toISOString()}\n`, { mode: 0o600 });
  } catch {
    // Only a warning depends on it.
  }
}
