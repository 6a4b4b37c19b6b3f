// A running run's ear for cancel requests: another process (the bot, a terminal) records the request in the
// state database, and this looks there every CANCEL_POLL_MS and at every safe point. The run's own abort
// signal carries the request on, so a copy under way is cut short as a Ctrl-C would cut it.
import type { Actor } from '../core/events.ts';
import type { CancelRequest, RunRecord } from '../core/ports/state.ts';
import type { EngineDeps } from './deps.ts';

/** How often a running run looks in the state database for a cancel request made by another process. */
export const CANCEL_POLL_MS = 500;

/** What a running run keeps of its cancellation: an abort signal and the request that set it off. */
export interface CancelWatch {
  /** Aborted by the outer signal (the terminal's Ctrl-C, the bot stopping) or by a cancel request. */
  readonly signal: AbortSignal;
  /** Looks in the database now; a safe point calls it before deciding whether to go on. */
  check(): void;
  /** The request, once one was recorded. */
  request(): CancelRequest | null;
  stop(): void;
}

export function watchCancel(
  deps: Pick<EngineDeps, 'store'>,
  runId: string,
  outer: AbortSignal | undefined,
  describe: (actor: Actor) => string,
): CancelWatch {
  const own = new AbortController();
  const signal = outer ? AbortSignal.any([outer, own.signal]) : own.signal;
  let found: CancelRequest | null = null;
  const check = () => {
    if (found !== null) return;
    let run: RunRecord | undefined;
    try {
      run = deps.store.getRun(runId);
    } catch {
      // A database that cannot be read fails the run's own next write, which says so.
      return;
    }
    if (run?.cancelRequest) {
      found = run.cancelRequest;
      own.abort(`cancelled by ${describe(found.by)}`);
    }
  };
  const timer = setInterval(check, CANCEL_POLL_MS);
  timer.unref();
  return {
    signal,
    check,
    request: () => {
      check();
      return found;
    },
    stop: () => clearInterval(timer),
  };
}
