// One Slack message kept up to date with a changing state: the first state is posted, later ones replace it
// with chat.update, no more often than once per interval, and each send waits for its turn in the app-wide
// budget (budget.ts) when the port has one, coalescing whatever arrived in between so the message always ends
// on the latest state. A 429 is waited out for as long as Slack asks. Pure: the port and the clock are given.
import type { SlackMessageRef } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';

/** Where the updater's message lives: posting it once, then replacing it. */
export interface MessagePort {
  post(message: SlackMessage): Promise<SlackMessageRef>;
  update(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
  /**
   * Waits for the app-wide budget to allow the next send (`urgent` is asked while waiting); resolves with a
   * function to call once Slack has answered. The state to send is read only after the turn comes, so
   * whatever arrived while waiting goes out in one call.
   */
  turn?(kind: 'post' | 'update', urgent: () => boolean): Promise<() => void>;
}

/** Slack answered 429: try again no sooner than `retryAfterMs`. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, method = 'a Slack call') {
    super(`${method} was rate limited; Slack asked to wait ${Math.ceil(retryAfterMs / 1000)} s`);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export interface MessageUpdaterOptions {
  /** Least time between two sends of the message (default 1200 ms). */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** How many 429s in a row one send waits out before it gives up (default 5). */
  readonly maxRateLimitRetries?: number;
  /** A send that failed; the next `set` or `flush` tries again with the latest state. */
  readonly onError?: (error: unknown) => void;
}

/** What `flush` found: the message (once posted), and whether its latest state is what Slack shows. */
export interface Delivery {
  readonly ref: SlackMessageRef | undefined;
  readonly delivered: boolean;
  /** The last failure, when the latest state could not be sent. */
  readonly error?: unknown;
}

export interface MessageUpdater {
  /**
   * The state to show; sent now, or with the next update. An urgent state (a run's last) goes ahead of other
   * messages' updates in the app-wide budget.
   */
  set(message: SlackMessage, options?: { readonly urgent?: boolean }): void;
  /** Resolves once the latest state has been sent (or sending it failed). */
  flush(): Promise<Delivery>;
  /** The message, once posted. */
  readonly ref: SlackMessageRef | undefined;
}

export const DEFAULT_UPDATE_INTERVAL_MS = 1200;

export function createMessageUpdater(port: MessagePort, options: MessageUpdaterOptions = {}): MessageUpdater {
  const intervalMs = options.intervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
  const clock = options.clock ?? realClock;
  const maxRetries = options.maxRateLimitRetries ?? 5;

  let ref: SlackMessageRef | undefined;
  let latest: SlackMessage | undefined;
  let version = 0;
  let sentVersion = 0;
  let urgentVersion = 0;
  let lastSendAt: number | undefined;
  let lastError: unknown;
  let running: Promise<void> | undefined;

  /** Sends the newest state; a 429 is waited out and the newest state (by then) sent instead. */
  async function send(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // Without a budget the first state goes out at once, as it was set.
      const release =
        port.turn === undefined
          ? undefined
          : await port.turn(ref === undefined ? 'post' : 'update', () => urgentVersion > sentVersion);
      // Whatever arrived while waiting is included: only the newest state is ever sent.
      const sending = version;
      const message = latest as SlackMessage;
      try {
        if (ref === undefined) ref = await port.post(message);
        else await port.update(ref, message);
        sentVersion = Math.max(sentVersion, sending);
        return;
      } catch (error) {
        if (!(error instanceof RateLimitedError) || attempt >= maxRetries) throw error;
        // With a budget the 429 holds every caller back (the port told it); without one, this one waits.
        if (release === undefined) await clock.sleep(error.retryAfterMs);
      } finally {
        release?.();
        lastSendAt = clock.now();
      }
    }
  }

  async function drain(): Promise<void> {
    while (sentVersion < version && latest !== undefined) {
      if (ref !== undefined && lastSendAt !== undefined) {
        const wait = lastSendAt + intervalMs - clock.now();
        if (wait > 0) await clock.sleep(wait);
      }
      try {
        await send();
        lastError = undefined;
      } catch (error) {
        lastError = error;
        options.onError?.(error);
        return;
      }
    }
  }

  function kick(): Promise<void> {
    running ??= drain().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    set(message, setOptions) {
      latest = message;
      version += 1;
      if (setOptions?.urgent === true) urgentVersion = version;
      void kick();
    },
    async flush() {
      // A send in progress may have started before the newest state: keep going until it is out or fails.
      while (running !== undefined) await running;
      if (sentVersion < version) await kick();
      return {
        ref,
        delivered: sentVersion === version,
        ...(sentVersion === version || lastError === undefined ? {} : { error: lastError }),
      };
    },
    get ref() {
      return ref;
    },
  };
}
