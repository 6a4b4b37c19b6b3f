// Ids that sort by creation time as plain strings (so `ORDER BY id` and a glance at two ids agree) and
// carry enough randomness that two made in the same millisecond, or a guessed button value, do not collide.
import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Base-36 milliseconds fit in 9 characters until the year 5188. */
const TIME_WIDTH = 9;

/** `0mc1x2k9q` + `randomChars` random base-36 characters. */
export function newId(now: Date, randomChars: number): string {
  const ms = now.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new TypeError(`cannot make an id for the time ${String(now)}`);
  let random = '';
  for (let i = 0; i < randomChars; i++) random += ALPHABET[randomInt(ALPHABET.length)];
  return ms.toString(36).padStart(TIME_WIDTH, '0') + random;
}

/** Runs: short enough to type at a terminal; a clash is retried by the caller. */
export const RUN_ID_RANDOM = 5;
/** Approvals travel in a button's value: ~52 random bits make them impractical to guess. */
export const APPROVAL_ID_RANDOM = 10;
