// The message updater through the real Web API client against the fake Slack: states that keep coming become
// one post and updates never more than one a second, ending on the last state; a 429 is waited out. How many
// updates a burst takes depends on timing, so only what cannot vary is checked here; the throttle's own
// arithmetic is checked on a fake clock (test/unit/slack-message-updater.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { createMessageUpdater } from '../../src/slack/message-updater.ts';
import { type Harness, startHarness } from '../support/fake-slack/index.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const state = (i: number) => ({
  text: `state ${i}`,
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*state* ${i}` } }],
});

describe('message updater against Slack', () => {
  it('turns states that keep coming into one post and updates at most one a second, ending on the last', async () => {
    harness = await startHarness({ knownIdentity: true });
    const { fake, app } = harness;
    const updater = createMessageUpdater(app.messagePort('COFFICE'), { intervalMs: 1200 });
    // Three bursts, each sent as soon as Slack has the previous one, as a copy reporting progress would.
    let i = 0;
    const burst = () => {
      for (let n = 0; n < 10; n++) updater.set(state(++i));
    };
    burst();
    await fake.until(() => fake.calls('chat.postMessage').length === 1, { what: 'the post' });
    burst();
    await fake.until(() => fake.calls('chat.update').length >= 1, { what: 'an update' });
    burst();
    const delivery = await updater.flush();
    expect(delivery.delivered).toBe(true);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
    // States set after the first update still had to go out: at least two updates, a second or more apart.
    expect(fake.calls('chat.update').length).toBeGreaterThanOrEqual(2);
    expect(fake.peakUpdatesPerSecond('COFFICE')).toBeLessThanOrEqual(1);
    const ref = delivery.ref;
    expect(ref?.channel).toBe('COFFICE');
    const shown = fake.message('COFFICE', ref?.ts ?? '');
    expect(shown?.text).toBe('state 30');
    expect(JSON.stringify(shown?.blocks)).toContain('*state* 30');
    expect(fake.violations).toEqual([]);
  });

  it('waits out a 429 for as long as Slack asks, then delivers the latest state', async () => {
    harness = await startHarness({ knownIdentity: true });
    const { fake, app } = harness;
    const errors: unknown[] = [];
    const updater = createMessageUpdater(app.messagePort('COFFICE'), {
      intervalMs: 50,
      onError: (e) => errors.push(e),
    });
    updater.set(state(1));
    await updater.flush();
    fake.rateLimitNext('chat.update', 1);
    updater.set(state(2));
    updater.set(state(3));
    const delivery = await updater.flush();
    expect(delivery.delivered).toBe(true);
    expect(errors).toEqual([]);
    const updates = fake.calls('chat.update');
    expect(updates.map((c) => c.status)).toEqual([429, 200]);
    const [limited, retried] = updates;
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(fake.message('COFFICE', delivery.ref?.ts ?? '')?.text).toBe('state 3');
  });

  it('posts in a thread when asked to', async () => {
    harness = await startHarness({ knownIdentity: true });
    const { fake, app } = harness;
    const parent = await app.client.chat.postMessage({ channel: 'COFFICE', text: 'the run' });
    const updater = createMessageUpdater(app.messagePort('COFFICE', { threadTs: parent.ts }), {
      intervalMs: 10,
    });
    updater.set(state(1));
    const delivery = await updater.flush();
    expect(fake.message('COFFICE', delivery.ref?.ts ?? '')?.threadTs).toBe(parent.ts);
  });

  it('reports a message Slack refuses, and says the last state was not delivered', async () => {
    harness = await startHarness({ knownIdentity: true });
    const { fake, app } = harness;
    const errors: unknown[] = [];
    const updater = createMessageUpdater(app.messagePort('COFFICE'), {
      intervalMs: 10,
      onError: (e) => errors.push(e),
    });
    updater.set(state(1));
    await updater.flush();
    fake.failNext('chat.update', { error: 'message_not_found' }, 2);
    updater.set(state(2));
    const delivery = await updater.flush();
    expect(delivery.delivered).toBe(false);
    expect(String(delivery.error)).toMatch(/message_not_found/);
    expect(errors.length).toBeGreaterThanOrEqual(1);
  });
});
