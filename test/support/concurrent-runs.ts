// Many runs at once in one channel, as a busy afternoon would have them: each run's message posted, updated
// with copy progress ten times a second, and finished, through the bot's run messages, the real Bolt client
// and its app-wide budget, against the fake Slack enforcing Slack's rate limits. What comes back is what
// people would notice: whether Slack refused anything (429), and how long after each run ended its message
// showed the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../../src/adapters/state/open.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import { startingMessage } from '../../src/slack/blocks/channel-access.ts';
import { createRunMessages } from '../../src/slack/run-messages.ts';
import { startHarness } from './fake-slack/index.ts';

export interface ConcurrentRunsResult {
  readonly runs: number;
  /** chat.update calls Slack accepted, and chat.postMessage calls. */
  readonly updatesDelivered: number;
  readonly postsDelivered: number;
  /** Calls the fake refused for going over Slack's rate limits. */
  readonly rateLimited: number;
  /** Per run: from its end to its message showing the end, in ms. */
  readonly finalShownAfterMs: readonly number[];
  /** Events the runs produced (each a state the message could have shown). */
  readonly events: number;
}

const CHANNEL = 'C0BUSY';
const USER = 'U0ALICE';

export async function concurrentRuns(
  options: {
    readonly runs?: number;
    /** How long each run goes, the first; later ones end a second apart. */
    readonly durationMs?: number;
  } = {},
): Promise<ConcurrentRunsResult> {
  const count = options.runs ?? 10;
  const durationMs = options.durationMs ?? 20_000;
  const harness = await startHarness({ knownIdentity: true, logLevel: 'info' });
  const dir = mkdtempSync(join(tmpdir(), 'signage-concurrent-'));
  const opened = openStateStore({ stateDir: dir, now: new Date() });
  if (!opened.ok) throw new Error(opened.message);
  const { store } = opened.state;
  try {
    const runMessages = createRunMessages({ slack: harness.app, store, log: harness.log });
    let events = 0;
    const ends: number[] = [];
    const refs: string[] = [];
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const host = `screen-${i + 1}`;
        const run = store.createRun({
          verb: 'deploy',
          hosts: [host],
          actor: { kind: 'slack', userId: USER },
          now: new Date(),
        });
        const tracker = runMessages.track(CHANNEL, USER);
        const refused = await tracker.open(startingMessage(`/signage deploy ${host}`, USER));
        if (refused !== undefined) throw refused;
        const emit = (event: EngineEvent) => {
          events += 1;
          tracker.onEvent(event);
        };
        emit({ type: 'run.started', runId: run.id, verb: 'deploy', hosts: [host] });
        emit({ type: 'stage.started', runId: run.id, host, stage: 'copy' });
        const until = performance.now() + durationMs + i * 1000;
        const total = 1_000_000_000;
        let done = 0;
        while (performance.now() < until) {
          done = Math.min(total, done + 5_000_000);
          emit({
            type: 'stage.progress',
            runId: run.id,
            host,
            stage: 'copy',
            source: 'builder',
            doneBytes: done,
            totalBytes: total,
          });
          await new Promise((r) => setTimeout(r, 100));
        }
        emit({
          type: 'stage.finished',
          runId: run.id,
          host,
          stage: 'copy',
          outcome: 'ok',
          durationMs,
        });
        store.finishRun(run.id, { status: 'ok', now: new Date() });
        ends[i] = performance.now();
        emit({ type: 'run.finished', runId: run.id, outcome: 'ok' });
        await tracker.finish({ text: `deploy ${host}: ok` });
        const ref = store.getRun(run.id)?.slack;
        if (ref === null || ref === undefined) throw new Error(`run ${run.id} has no message`);
        refs[i] = ref.ts;
      }),
    );
    await runMessages.settled();
    const { fake } = harness;
    const finalShownAfterMs = refs.map((ts, i) => {
      const message = fake.message(CHANNEL, ts);
      if (message === undefined || !/finished/.test(message.text)) {
        throw new Error(`run ${i + 1}'s message does not show its end: ${message?.text}`);
      }
      const shownAt = message.updateTimes.at(-1) ?? Number.POSITIVE_INFINITY;
      return shownAt - (ends[i] ?? 0);
    });
    const ok = (method: string) =>
      fake.calls(method).filter((c) => c.status === 200 && c.response.ok === true);
    return {
      runs: count,
      updatesDelivered: ok('chat.update').length,
      postsDelivered: ok('chat.postMessage').length,
      rateLimited: fake.rateLimited().length,
      finalShownAfterMs,
      events,
    };
  } finally {
    await harness.stop();
    opened.state.close();
    if (dir.startsWith(join(tmpdir(), 'signage-concurrent-'))) rmSync(dir, { recursive: true, force: true });
  }
}
