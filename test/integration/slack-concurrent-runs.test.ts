// Ten runs at once in one channel against the fake Slack enforcing Slack's rate limits (chat.update about 50
// a minute for the whole app, chat.postMessage about one a second per channel): Slack never has to refuse a
// call, and every run's message shows its end within five seconds of it.
import { describe, expect, it } from 'vitest';
import { concurrentRuns } from '../support/concurrent-runs.ts';

describe('ten concurrent runs', () => {
  it('never hit a 429, and each message shows its run ended within 5 s of the end', async () => {
    const result = await concurrentRuns({ runs: 10, durationMs: 20_000 });
    process.stderr.write(
      `10 concurrent runs: ${result.events} events, ${result.updatesDelivered} updates and ${result.postsDelivered} posts delivered, ${result.rateLimited} 429s, final state shown after ${result.finalShownAfterMs.map((ms) => Math.round(ms)).join(', ')} ms\n`,
    );
    expect(result.rateLimited).toBe(0);
    expect(result.finalShownAfterMs).toHaveLength(10);
    for (const ms of result.finalShownAfterMs) expect(ms).toBeLessThan(5_000);
    // The messages moved while the runs went: more than their first and last state each.
    expect(result.updatesDelivered).toBeGreaterThan(20);
  }, 120_000);
});
