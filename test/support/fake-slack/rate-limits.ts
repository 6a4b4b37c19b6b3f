// Slack's rate limits as the fake enforces them: a sliding window per method, app-wide (chat.update is Tier 3,
// about 50 a minute) or per channel (chat.postMessage, about one a second with short bursts). A call over the
// limit is answered HTTP 429 with Retry-After in whole seconds, as Slack does.

export interface RateRule {
  readonly limit: number;
  readonly windowMs: number;
  /** One window for the whole app, or one per channel. */
  readonly per: 'app' | 'channel';
}

/** What the fake enforces unless a test says otherwise. */
export const SLACK_RATE_RULES: Readonly<Record<string, RateRule>> = {
  'chat.update': { limit: 50, windowMs: 60_000, per: 'app' },
  'chat.postMessage': { limit: 5, windowMs: 5_000, per: 'channel' },
  // Tier 4: 100 and more a minute.
  'views.publish': { limit: 100, windowMs: 60_000, per: 'app' },
};

export class RateLimiter {
  readonly #rules: Readonly<Record<string, RateRule>>;
  readonly #seen = new Map<string, number[]>();

  constructor(rules: Readonly<Record<string, RateRule>>) {
    this.#rules = rules;
  }

  /** Counts the call; answers the seconds to wait when it is over the limit (and then it is not counted). */
  check(method: string, channel: unknown, now: number): number | undefined {
    const rule = this.#rules[method];
    if (rule === undefined) return undefined;
    const key = rule.per === 'app' ? method : `${method}:${String(channel)}`;
    const times = (this.#seen.get(key) ?? []).filter((t) => t > now - rule.windowMs);
    this.#seen.set(key, times);
    if (times.length >= rule.limit) {
      const oldest = times[0] ?? now;
      return Math.max(1, Math.ceil((oldest + rule.windowMs - now) / 1000));
    }
    times.push(now);
    return undefined;
  }
}
