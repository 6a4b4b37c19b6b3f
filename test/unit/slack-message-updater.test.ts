// The message updater's pacing and coalescing on a virtual clock: what it sends, when, and in which order.
import { describe, expect, it } from 'vitest';
import type { SlackMessageRef } from '../../src/core/ports/state.ts';
import {
  type Clock,
  createMessageUpdater,
  type MessagePort,
  RateLimitedError,
} from '../../src/slack/message-updater.ts';
import type { SlackMessage } from '../../src/verbs/verb.ts';

/** Time passes only when the updater sleeps; sends take `sendMs`. */
function virtualClock() {
  let t = 0;
  const clock: Clock & { advance(ms: number): void } = {
    now: () => t,
    sleep: async (ms) => {
      t += Math.max(0, ms);
    },
    advance: (ms) => {
      t += ms;
    },
  };
  return clock;
}

type Sent = { kind: 'post' | 'update'; text: string; at: number };

function recordingPort(
  clock: Clock,
  script: (kind: 'post' | 'update', n: number) => Error | undefined = () => undefined,
) {
  const sent: Sent[] = [];
  let n = 0;
  const ref: SlackMessageRef = { channel: 'C1', ts: '1.000001' };
  const port: MessagePort = {
    async post(msg: SlackMessage) {
      const failure = script('post', n++);
      if (failure) throw failure;
      sent.push({ kind: 'post', text: msg.text, at: clock.now() });
      return ref;
    },
    async update(at, msg) {
      expect(at).toEqual(ref);
      const failure = script('update', n++);
      if (failure) throw failure;
      sent.push({ kind: 'update', text: msg.text, at: clock.now() });
    },
  };
  return { port, sent, ref };
}

const m = (i: number): SlackMessage => ({ text: `state ${i}` });

describe('createMessageUpdater', () => {
  it('posts the first state at once and sends only the latest of a burst after the interval', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock);
    const updater = createMessageUpdater(port, { intervalMs: 1200, clock });
    for (let i = 1; i <= 30; i++) updater.set(m(i));
    const delivery = await updater.flush();
    expect(sent).toEqual([
      { kind: 'post', text: 'state 1', at: 0 },
      { kind: 'update', text: 'state 30', at: 1200 },
    ]);
    expect(delivery).toEqual({ ref: { channel: 'C1', ts: '1.000001' }, delivered: true });
  });

  it('never sends two updates closer than the interval', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock);
    const updater = createMessageUpdater(port, { intervalMs: 1000, clock });
    for (let i = 1; i <= 10; i++) {
      updater.set(m(i));
      clock.advance(250);
      await Promise.resolve();
      await Promise.resolve();
    }
    await updater.flush();
    const gaps = sent.slice(1).map((s, i) => s.at - (sent[i]?.at ?? 0));
    expect(gaps.every((g) => g >= 1000)).toBe(true);
    expect(sent.at(-1)?.text).toBe('state 10');
    expect(sent.filter((s) => s.kind === 'post')).toHaveLength(1);
  });

  it('sends nothing more when nothing changed', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock);
    const updater = createMessageUpdater(port, { clock });
    updater.set(m(1));
    await updater.flush();
    await updater.flush();
    expect(sent).toHaveLength(1);
    expect(updater.ref).toEqual({ channel: 'C1', ts: '1.000001' });
  });

  it('waits as long as a 429 asks, then sends the newest state', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock, (kind, n) =>
      kind === 'update' && n === 1 ? new RateLimitedError(7000, 'chat.update') : undefined,
    );
    const errors: unknown[] = [];
    const updater = createMessageUpdater(port, { intervalMs: 1000, clock, onError: (e) => errors.push(e) });
    updater.set(m(1));
    await updater.flush();
    updater.set(m(2));
    const delivery = await updater.flush();
    expect(sent.map((s) => [s.text, s.at])).toEqual([
      ['state 1', 0],
      ['state 2', 8000],
    ]);
    expect(delivery.delivered).toBe(true);
    expect(errors).toEqual([]);
  });

  it('gives up after maxRateLimitRetries 429s in a row, reporting it', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock, (kind) =>
      kind === 'update' ? new RateLimitedError(1000, 'chat.update') : undefined,
    );
    const errors: unknown[] = [];
    const updater = createMessageUpdater(port, {
      clock,
      maxRateLimitRetries: 2,
      onError: (e) => errors.push(e),
    });
    updater.set(m(1));
    await updater.flush();
    updater.set(m(2));
    const delivery = await updater.flush();
    expect(sent).toHaveLength(1);
    expect(delivery.delivered).toBe(false);
    expect(delivery.error).toBeInstanceOf(RateLimitedError);
    // One give-up from the first attempt, one from the flush's own retry.
    expect(errors).toHaveLength(2);
  });

  it('tries the post again with the latest state after it failed', async () => {
    const clock = virtualClock();
    const { port, sent } = recordingPort(clock, (kind, n) =>
      kind === 'post' && n === 0 ? new Error('channel_not_found') : undefined,
    );
    const errors: unknown[] = [];
    const updater = createMessageUpdater(port, { clock, onError: (e) => errors.push(e) });
    updater.set(m(1));
    await Promise.resolve();
    await Promise.resolve();
    updater.set(m(2));
    const delivery = await updater.flush();
    expect(errors.map(String)).toEqual(['Error: channel_not_found']);
    expect(sent.map((s) => [s.kind, s.text])).toEqual([['post', 'state 2']]);
    expect(delivery.delivered).toBe(true);
  });
});
