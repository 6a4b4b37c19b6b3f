// The app-wide budget on a clock the test moves: how many calls a window lets through, the share kept for
// urgent calls, and a 429's Retry-After holding every caller back.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BudgetRule, createSlackBudget } from '../../src/slack/budget.ts';

const RULES: Record<'chat.update' | 'chat.postMessage', BudgetRule> = {
  'chat.update': { limit: 4, windowMs: 10_000, per: 'app', reserve: 2 },
  'chat.postMessage': { limit: 2, windowMs: 1_000, per: 'channel', reserve: 0 },
};

let now = 0;
beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

async function advance(ms: number) {
  now += ms;
  await vi.advanceTimersByTimeAsync(ms);
}

describe('createSlackBudget', () => {
  it('lets normal calls use the window less its reserve, and urgent calls the rest', async () => {
    const budget = createSlackBudget(RULES, () => now);
    const granted: string[] = [];
    const take = (name: string, urgent = false) =>
      budget
        .turn('chat.update', 'C1', () => urgent)
        .then((release) => {
          granted.push(name);
          release();
        });
    void take('a');
    void take('b');
    void take('c');
    await advance(0);
    // Calls that are not urgent are spread over the window: one per windowMs / (limit - reserve).
    expect(granted).toEqual(['a']);
    await advance(5_000);
    expect(granted).toEqual(['a', 'b']);
    void take('final', true);
    void take('final2', true);
    await advance(0);
    expect(granted).toEqual(['a', 'b', 'final', 'final2']);
    // c waits until the window holds fewer than limit - reserve calls, urgent ones included.
    await advance(5_500);
    expect(granted).toHaveLength(4);
    await advance(5_000);
    expect(granted).toEqual(['a', 'b', 'final', 'final2', 'c']);
  });

  it('lets a waiting call that becomes urgent go first', async () => {
    const budget = createSlackBudget(RULES, () => now);
    for (let i = 0; i < 2; i++) {
      const turn = budget.turn('chat.update', 'C1');
      await advance(5_000);
      (await turn)();
    }
    let urgent = false;
    let done = false;
    void budget
      .turn('chat.update', 'C1', () => urgent)
      .then(() => {
        done = true;
      });
    await advance(300);
    expect(done).toBe(false);
    urgent = true;
    await advance(300);
    expect(done).toBe(true);
  });

  it('counts chat.postMessage per channel', async () => {
    const budget = createSlackBudget(RULES, () => now);
    const order: string[] = [];
    for (const channel of ['C1', 'C1', 'C1', 'C2']) {
      void budget.turn('chat.postMessage', channel).then((release) => {
        order.push(channel);
        release();
      });
    }
    await advance(0);
    expect(order).toEqual(['C1', 'C2']);
    await advance(500);
    expect(order).toEqual(['C1', 'C2', 'C1']);
    await advance(600);
    expect(order).toEqual(['C1', 'C2', 'C1', 'C1']);
  });

  it('holds every caller back for as long as a 429 asks', async () => {
    const budget = createSlackBudget(RULES, () => now);
    budget.rateLimited('chat.update', 'C1', 3_000);
    let done = false;
    void budget
      .turn('chat.update', 'C9', () => true)
      .then(() => {
        done = true;
      });
    await advance(2_900);
    expect(done).toBe(false);
    await advance(300);
    expect(done).toBe(true);
    expect(budget.stats().rateLimited).toBe(1);
  });

  it('counts a call in flight until it is answered, and its window from the answer', async () => {
    const budget = createSlackBudget(
      { ...RULES, 'chat.postMessage': { limit: 1, windowMs: 1_000, per: 'channel', reserve: 0 } },
      () => now,
    );
    const first = await budget.turn('chat.postMessage', 'C1');
    let second = false;
    void budget.turn('chat.postMessage', 'C1').then(() => {
      second = true;
    });
    await advance(5_000);
    expect(second).toBe(false);
    first();
    await advance(900);
    expect(second).toBe(false);
    await advance(200);
    expect(second).toBe(true);
  });
});

describe('views.publish in the budget', () => {
  it("is Slack's rule unless a caller sets one, app-wide whatever the channel", async () => {
    const budget = createSlackBudget(
      { 'views.publish': { limit: 2, windowMs: 10_000, per: 'app', reserve: 0 } },
      () => now,
    );
    const granted: string[] = [];
    for (const user of ['U1', 'U2', 'U3']) {
      void budget
        .turn('views.publish', user, () => true)
        .then((release) => {
          granted.push(user);
          release();
        });
    }
    await advance(0);
    // Two a window for the whole app, however many users' tabs are published.
    expect(granted).toEqual(['U1', 'U2']);
    await advance(10_001);
    expect(granted).toEqual(['U1', 'U2', 'U3']);
    // The rules not given are Slack's own: chat.update still takes calls.
    const release = await budget.turn('chat.update', 'C1', () => true);
    release();
  });
});
