// A run's Slack messages through the real Bolt client, the fake Slack and a real state store: replies to a run
// started by an earlier process go in that run's thread, the message of a run a stopped bot left unfinished
// says so and what to do, and what the thread shows of a failure carries no token.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type OpenState, openStateStore } from '../../src/adapters/state/open.ts';
import type { SlackMessageRef } from '../../src/core/ports/state.ts';
import { createRunMessages } from '../../src/slack/run-messages.ts';
import { type Harness, startHarness } from '../support/fake-slack/index.ts';

const CHANNEL = 'COFFICE';
const ALICE = 'U0ALICE';
const HOST = 'baard-entrance';
const TOKEN = 'xoxb-1111-2222-aVeryRealLookingSecret';

let harness: Harness | undefined;
let state: OpenState | undefined;
let dir: string | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  state?.close();
  state = undefined;
  if (dir?.startsWith(join(tmpdir(), 'signage-run-messages-'))) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function setUp() {
  harness = await startHarness({ knownIdentity: true });
  dir = mkdtempSync(join(tmpdir(), 'signage-run-messages-'));
  const opened = openStateStore({ stateDir: dir, now: new Date() });
  if (!opened.ok) throw new Error(opened.message);
  state = opened.state;
  const runMessages = createRunMessages({
    slack: harness.app,
    store: state.store,
    log: harness.log,
    updateIntervalMs: 10,
  });
  return { fake: harness.fake, app: harness.app, store: state.store, runMessages };
}

describe('run messages', () => {
  it('replies in the thread of a run an earlier process started, before anything else happened to it', async () => {
    const { fake, app, store, runMessages } = await setUp();
    // What the earlier process left: the run's channel message, kept with the run, waiting for an answer.
    const posted = await app.client.chat.postMessage({ channel: CHANNEL, text: 'Deploy · 1 host' });
    const ref: SlackMessageRef = { channel: CHANNEL, ts: posted.ts! };
    const run = store.createRun({
      verb: 'deploy',
      hosts: [HOST],
      actor: { kind: 'slack', userId: ALICE },
      now: new Date(),
      slack: ref,
    });
    store.finishRun(run.id, { status: 'awaiting-approval', now: new Date() });

    expect(await runMessages.reply(run.id, { text: `The restart of ${HOST} failed.` })).toBe(true);
    await runMessages.settled();
    const reply = fake.messages(CHANNEL).find((m) => m.text === `The restart of ${HOST} failed.`);
    expect(reply?.threadTs).toBe(ref.ts);
    expect(fake.messages(CHANNEL).filter((m) => m.threadTs === undefined)).toHaveLength(1);
  });

  it('rewrites the message of an interrupted run: its stages, why it stopped, and what to do', async () => {
    const { fake, app, store, runMessages } = await setUp();
    const posted = await app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'Deploy · 1 host: 1 running',
    });
    const ref: SlackMessageRef = { channel: CHANNEL, ts: posted.ts! };
    const run = store.createRun({
      verb: 'deploy',
      hosts: [HOST],
      actor: { kind: 'slack', userId: ALICE },
      now: new Date(),
      slack: ref,
    });
    store.recordStage({
      runId: run.id,
      host: HOST,
      stage: 'build',
      outcome: 'ok',
      startedAt: new Date(),
      durationMs: 1200,
    });
    // Only interrupted runs are rewritten: this one is still going.
    expect(await runMessages.markInterrupted([run.id])).toBe(0);
    store.finishRun(run.id, { status: 'interrupted', now: new Date() });

    expect(await runMessages.markInterrupted([run.id])).toBe(1);
    const shown = fake.message(CHANNEL, ref.ts)!;
    expect(shown.text).toMatch(/^Deploy · 1 host: .*— interrupted$/);
    const blocks = JSON.stringify(shown.blocks);
    expect(blocks).toContain('✓ build');
    expect(blocks).toContain('Interrupted: the bot stopped while this run was going, so it did not finish.');
    expect(blocks).toContain(`\`/signage status ${HOST}\``);
    expect(blocks).toContain(`\`/signage deploy ${HOST}\` again`);
    expect(fake.violations).toEqual([]);
  });

  it('keeps tokens out of the thread: the log lines and the failure', async () => {
    const { fake, runMessages } = await setUp();
    const tracker = runMessages.track(CHANNEL, ALICE);
    const runId = 'run-with-a-token-in-its-log';
    tracker.onEvent({ type: 'run.started', runId, verb: 'deploy', hosts: [HOST] });
    tracker.onEvent({
      type: 'log',
      runId,
      host: HOST,
      message: `curl: (22) 403 for https://hooks.example/x?token=${TOKEN}`,
    });
    tracker.onEvent({
      type: 'stage.finished',
      runId,
      host: HOST,
      stage: 'switch',
      outcome: 'failed',
      durationMs: 10,
      detail: `activation failed: Authorization: Bearer ${TOKEN}`,
    });
    tracker.onEvent({ type: 'run.finished', runId, outcome: 'failed' });
    expect(await tracker.finish({ text: 'deploy: failed' })).toBe(true);
    await runMessages.settled();

    const everything = JSON.stringify(fake.messages(CHANNEL));
    expect(everything).toContain('Log, last 1 line');
    expect(everything).toContain('activation failed');
    expect(everything).not.toContain('aVeryRealLookingSecret');
    expect(everything).toContain('[redacted]');
  });
});
