// What every table module shares: write transactions, and the conversions between rows and records.
// Times are stored as integer milliseconds since the epoch; structured values (actors, host lists, argv,
// summaries) as JSON text.
import type { DatabaseSync } from 'node:sqlite';
import type { Actor } from '../../core/events.ts';
import type { SlackMessageRef } from '../../core/ports/state.ts';

export type Row = Record<string, unknown>;

/**
 * Runs `work` in a write transaction taken up front (BEGIN IMMEDIATE), so a concurrent writer makes it
 * wait (busy_timeout) instead of failing half-way; commits what it returns, rolls back what it throws.
 * Nested calls join the transaction already open.
 */
export function immediate<T>(db: DatabaseSync, work: () => T): T {
  if (db.isTransaction) return work();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/** A Date as stored; an invalid one is refused rather than stored as NULL. */
export function ms(date: Date): number {
  const t = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new TypeError(`expected a valid Date, got ${String(date)}`);
  return t;
}

export function dateOf(value: unknown): Date {
  return new Date(num(value));
}

export function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : dateOf(value);
}

export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`state: expected a number in the database, found ${typeof value}`);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

export function str(value: unknown): string {
  if (typeof value === 'string') return value;
  throw new TypeError(`state: expected text in the database, found ${typeof value}`);
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}

/** Only the fields an Actor has, in a fixed order: what is stored is what the type says. */
export function actorJson(actor: Actor): string {
  switch (actor.kind) {
    case 'slack':
      return JSON.stringify({
        kind: 'slack',
        userId: actor.userId,
        ...(actor.channelId === undefined ? {} : { channelId: actor.channelId }),
      });
    case 'cli':
      return JSON.stringify({ kind: 'cli', user: actor.user });
    case 'schedule':
      return JSON.stringify({ kind: 'schedule', job: actor.job });
    default:
      throw new TypeError(`state: not an actor: ${JSON.stringify(actor)}`);
  }
}

export function actorOf(value: unknown): Actor {
  const a = JSON.parse(str(value)) as Record<string, unknown>;
  if (a.kind === 'slack' && typeof a.userId === 'string') {
    return typeof a.channelId === 'string'
      ? { kind: 'slack', userId: a.userId, channelId: a.channelId }
      : { kind: 'slack', userId: a.userId };
  }
  if (a.kind === 'cli' && typeof a.user === 'string') return { kind: 'cli', user: a.user };
  if (a.kind === 'schedule' && typeof a.job === 'string') return { kind: 'schedule', job: a.job };
  throw new TypeError(`state: not an actor in the database: ${str(value)}`);
}

export function actorOrNull(value: unknown): Actor | null {
  return value === null || value === undefined ? null : actorOf(value);
}

export function slackOf(row: Row): SlackMessageRef | null {
  const channel = strOrNull(row.slack_channel);
  const ts = strOrNull(row.slack_ts);
  return channel !== null && ts !== null ? { channel, ts } : null;
}

export function stringList(value: unknown): string[] {
  const list = JSON.parse(str(value)) as unknown;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new TypeError(`state: expected a list of strings in the database: ${str(value)}`);
  }
  return list;
}

/** JSON text for a value the caller wants kept; refuses what JSON cannot hold rather than keep it half. */
export function jsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`state: ${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`state: ${what} is not JSON-serialisable`);
  return text;
}

/** Binds a list as one parameter: `WHERE x IN (SELECT value FROM json_each(?))`. */
export function listParam(values: readonly string[]): string {
  return JSON.stringify(values);
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; errcode?: unknown; message?: unknown };
  // SQLITE_CONSTRAINT_PRIMARYKEY (1555) and SQLITE_CONSTRAINT_UNIQUE (2067).
  return err.errcode === 1555 || err.errcode === 2067;
}
