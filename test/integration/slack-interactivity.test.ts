// What no listener handles still gets an answer, through the real Bolt app and the fake Slack: a click on a
// button the bot does not know is acknowledged at once and the clicker told privately that nothing was done;
// an error that escapes the listeners reaches the requester in words.
import { afterEach, describe, expect, it } from 'vitest';
import { registerFallbacks } from '../../src/slack/interactivity.ts';
import { type Harness, startHarness } from '../support/fake-slack/index.ts';

const CHANNEL = 'C0SIGNAGE';
const ALICE = 'U0ALICE';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe('interactivity fallbacks', () => {
  it('acknowledges a click on an unknown button at once and tells the clicker nothing was done', async () => {
    harness = await startHarness({
      knownIdentity: true,
      register: (app) => {
        registerFallbacks(app, new Set(['restart_approve']));
      },
    });
    const { fake, app } = harness;
    // A message from an older version of the bot, with a button this one does not know.
    const old = await app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'old',
      blocks: [
        {
          type: 'actions',
          block_id: 'old',
          elements: [
            {
              type: 'button',
              action_id: 'cancel_run',
              text: { type: 'plain_text', text: 'Cancel' },
              value: 'r1',
            },
          ],
        },
      ],
    });
    const click = await fake.clickButton({
      user: ALICE,
      channel: CHANNEL,
      ts: old.ts!,
      actionId: 'cancel_run',
    });
    expect(click.latencyMs).toBeLessThan(3000);
    await fake.until(() => fake.ephemerals({ user: ALICE }).length === 1, { what: 'the explanation' });
    const said = fake.ephemerals({ user: ALICE })[0]!;
    expect(said.via).toBe('response_url');
    expect(said.text).toMatch(/^This button is not one the bot knows .*nothing was done\./);
    expect(fake.violations).toEqual([]);
  });

  it('tells the requester when a request fails outside every listener', async () => {
    harness = await startHarness({
      knownIdentity: true,
      register: (app) => {
        registerFallbacks(app, new Set());
        // A middleware that breaks, as a bug in one would: after acknowledging, as every listener does.
        app.bolt.command('/signage', async ({ ack }) => {
          await ack();
          throw new Error('the state database is locked (token xoxb-1111-2222-secretpart)');
        });
      },
    });
    const { fake } = harness;
    const sent = await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: 'status' });
    expect(sent.latencyMs).toBeLessThan(3000);
    await fake.until(() => fake.ephemerals({ user: ALICE }).length === 1, { what: 'the error reply' });
    const said = fake.ephemerals({ user: ALICE })[0]!;
    expect(said.text).toBe('The bot could not handle your request.');
    const shown = JSON.stringify(said.blocks);
    expect(shown).toContain('the state database is locked');
    expect(shown).not.toContain('secretpart');
  });
});
