// What the fault scenarios share: the terminal command as a child process (as an operator runs it), waiting
// for a line it prints, and the facts of a host read by entering its namespaces (never through the bot).
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { execa, type ResultPromise } from 'execa';
import { STATE_FILE } from '../../src/adapters/state/open.ts';
import type { Office } from '../office/index.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SIGNAGE = join(ROOT, 'bin', 'signage.ts');

/** `signage ARGS...` as a child process; stdout and stderr are collected, stdin is closed. */
export function signage(
  args: readonly string[],
): ResultPromise<{ reject: false; stdin: 'ignore'; all: true }> {
  return execa(process.execPath, [SIGNAGE, ...args], { reject: false, stdin: 'ignore', all: true });
}

/** Resolves once the child printed a line (stdout or stderr) matching `pattern`; rejects after `timeoutMs`. */
export function lineFrom(
  child: { all?: NodeJS.ReadableStream | null | undefined },
  pattern: RegExp,
  timeoutMs = 240_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.all?.removeListener('data', onData);
        resolve(line);
      }
    };
    const timer = setTimeout(() => {
      child.all?.removeListener('data', onData);
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; printed:\n${seen}`));
    }, timeoutMs);
    child.all?.on('data', onData);
  });
}

/** What a host runs and what its profile points at, read on the host itself ('' for none yet). */
export async function systemOf(office: Office, host: string): Promise<{ current: string; profile: string }> {
  const current = (await office.onHost(host, ['readlink', '-e', '/run/current-system'])).stdout.trim();
  const profile = (
    await office.onHost(host, ['readlink', '-e', '/nix/var/nix/profiles/system'])
  ).stdout.trim();
  return { current, profile };
}

/**
 * The runs and locks as the file holds them, read without opening the store (which would clean up after a
 * dead process and hide what the process itself left).
 */
export function rawState(stateDir: string): {
  runs: { id: string; verb: string; status: string }[];
  locks: { host: string; run_id: string }[];
} {
  const db = new DatabaseSync(join(stateDir, STATE_FILE), { readOnly: true });
  try {
    return {
      runs: db.prepare('SELECT id, verb, status FROM runs ORDER BY started_at, rowid').all() as {
        id: string;
        verb: string;
        status: string;
      }[],
      locks: db.prepare('SELECT host, run_id FROM locks ORDER BY host').all() as {
        host: string;
        run_id: string;
      }[],
    };
  } finally {
    db.close();
  }
}
