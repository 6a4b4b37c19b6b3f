// One app-wide budget for the calls Slack rate-limits hardest: chat.update (Tier 3, about 50 a minute for the
// whole app) and chat.postMessage (about one a second per channel, short bursts allowed). A call waits for a
// turn; a turn is counted from when Slack answered, so a slow answer never lets two calls land in one window
// Slack counts as one. Part of each window is kept for urgent calls (a run's final state, its first message),
// so that many busy runs cannot starve the message that says a run has ended; the other calls are spread
// evenly over the window, so that a busy run cannot spend it in one burst and leave every message frozen
// until it turns. A 429 stops every call of that method (in that channel) for as long as Retry-After asks.

export interface BudgetRule {
  /** Calls in any window; a little under Slack's own limit, for the clocks' disagreement. */
  readonly limit: number;
  readonly windowMs: number;
  readonly per: 'app' | 'channel';
  /** Of `limit`, how many only urgent calls may use. */
  readonly reserve: number;
}

export type BudgetedMethod = 'chat.update' | 'chat.postMessage' | 'views.publish';

export const SLACK_BUDGET: Readonly<Record<BudgetedMethod, BudgetRule>> = {
  'chat.update': { limit: 45, windowMs: 60_000, per: 'app', reserve: 15 },
  'chat.postMessage': { limit: 4, windowMs: 5_000, per: 'channel', reserve: 1 },
  // Tier 4 (100 and more a minute); a Home tab someone just opened is urgent, refreshes after a change are not.
  'views.publish': { limit: 90, windowMs: 60_000, per: 'app', reserve: 20 },
};

const URGENCY_RECHECK_MS = 200;

/** A turn taken: give it back once Slack has answered the call (or it failed). */
export type ReleaseTurn = () => void;

export interface BudgetStats {
  readonly granted: number;
  readonly rateLimited: number;
  /** Longest a call waited for its turn, in ms. */
  readonly longestWaitMs: number;
}

export interface SlackBudget {
  /** Waits for a turn; `urgent` is asked again whenever turns are handed out (a waiting call can become urgent). */
  turn(method: BudgetedMethod, channel: string, urgent?: () => boolean): Promise<ReleaseTurn>;
  /** Slack answered 429: no call of `method` in `channel` (app-wide for app rules) before `retryAfterMs`. */
  rateLimited(method: BudgetedMethod, channel: string, retryAfterMs: number): void;
  stats(): BudgetStats;
}

interface KeyState {
  /** When each of the window's finished calls was answered. */
  ends: number[];
  inFlight: number;
  blockedUntil: number;
  /** When the last call that was not urgent got its turn. */
  lastNormal: number;
}

interface Waiter {
  readonly key: string;
  readonly rule: BudgetRule;
  readonly urgent: () => boolean;
  readonly since: number;
  readonly grant: (release: ReleaseTurn) => void;
}

export function createSlackBudget(
  given: Readonly<Partial<Record<BudgetedMethod, BudgetRule>>> = SLACK_BUDGET,
  now: () => number = () => performance.now(),
): SlackBudget {
  // Rules a caller leaves out are Slack's own.
  const rules: Readonly<Record<BudgetedMethod, BudgetRule>> = { ...SLACK_BUDGET, ...given };
  const keys = new Map<string, KeyState>();
  let waiters: Waiter[] = [];
  let timer: NodeJS.Timeout | undefined;
  let granted = 0;
  let limited = 0;
  let longestWaitMs = 0;

  const keyOf = (method: BudgetedMethod, channel: string) =>
    rules[method].per === 'app' ? method : `${method}:${channel}`;
  const stateOf = (key: string): KeyState => {
    let state = keys.get(key);
    if (state === undefined) {
      state = { ends: [], inFlight: 0, blockedUntil: 0, lastNormal: Number.NEGATIVE_INFINITY };
      keys.set(key, state);
    }
    return state;
  };

  function pump(): void {
    clearTimeout(timer);
    timer = undefined;
    const at = now();
    // Urgent calls first, each group in arrival order.
    const order = [...waiters.filter((w) => w.urgent()), ...waiters.filter((w) => !w.urgent())];
    const left = new Set(waiters);
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const waiter of order) {
      const state = stateOf(waiter.key);
      const { rule } = waiter;
      state.ends = state.ends.filter((end) => end > at - rule.windowMs);
      const urgent = waiter.urgent();
      const cap = urgent ? rule.limit : rule.limit - rule.reserve;
      // Calls that are not urgent are spread over the window rather than spent in a burst at its start, so
      // one busy run cannot leave every message frozen until the window turns.
      const spacedUntil = urgent ? 0 : state.lastNormal + rule.windowMs / (rule.limit - rule.reserve);
      if (at >= state.blockedUntil && at >= spacedUntil && state.ends.length + state.inFlight < cap) {
        state.inFlight += 1;
        if (!urgent) state.lastNormal = at;
        left.delete(waiter);
        granted += 1;
        longestWaitMs = Math.max(longestWaitMs, at - waiter.since);
        let released = false;
        waiter.grant(() => {
          if (released) return;
          released = true;
          state.inFlight -= 1;
          state.ends.push(now());
          pump();
        });
        continue;
      }
      if (at < state.blockedUntil) wakeAt = Math.min(wakeAt, state.blockedUntil);
      if (at < spacedUntil) wakeAt = Math.min(wakeAt, spacedUntil);
      const oldest = state.ends[0];
      if (oldest !== undefined) wakeAt = Math.min(wakeAt, oldest + rule.windowMs);
      // Otherwise a call in flight holds the turn, and its release pumps again.
    }
    waiters = waiters.filter((w) => left.has(w));
    // A waiting call can become urgent (its run ended): it is looked at again soon, not only when a turn frees.
    if (waiters.length > 0) wakeAt = Math.min(wakeAt, at + URGENCY_RECHECK_MS);
    if (waiters.length > 0) {
      timer = setTimeout(pump, Math.max(1, wakeAt - at + 1));
    }
  }

  return {
    turn(method, channel, urgent = () => false) {
      return new Promise<ReleaseTurn>((grant) => {
        waiters.push({ key: keyOf(method, channel), rule: rules[method], urgent, since: now(), grant });
        pump();
      });
    },
    rateLimited(method, channel, retryAfterMs) {
      limited += 1;
      const state = stateOf(keyOf(method, channel));
      state.blockedUntil = Math.max(state.blockedUntil, now() + retryAfterMs);
      pump();
    },
    stats: () => ({ granted, rateLimited: limited, longestWaitMs }),
  };
}
