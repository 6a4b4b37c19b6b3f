// Restart questions and runs that overlap in time: answers given while the run still works on other hosts,
// two answers of one run at once, a question expiring mid-run. Each answer must take effect once, and the run
// must end with its locks freed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectRun, expectStoredRun } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const [A, B] = ['baard-entrance', 'baard-kitchen'];
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

describe.skipIf(unavailable !== null)('restart questions while runs work', () => {
  let office: Office;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.1 });
    bot = await officeEngine(office, { now });
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('restarts both hosts when two questions of one run are answered at once', async () => {
    const asked = await bot.engine.restart([A, B], { restart: 'ask' }, quiet);
    expectRun(asked, 'awaiting-approval', bot.store);
    const ids = asked.hosts.map((h) => h.approvalId!);
    const answers = await Promise.all(ids.map((id) => bot.engine.decide(id, 'approved', quiet)));
    expect(answers.map((a) => [a.kind, a.restarted])).toEqual([
      ['decided', true],
      ['decided', true],
    ]);
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    expect(await office.systemctlLog(B)).toEqual(['restart display-manager.service']);
    expectStoredRun(bot.store, asked.runId, 'ok');
    expect(bot.store.heldLocks()).toEqual([]);
  });

  it('carries out an answer given while the run still works on another host', async () => {
    await office.fleet.setRevision(2);
    // The second host's LAN port is slowed so the first host's question is answered while the run still works.
    await office.setHostRate(B, 8_000);
    let answered: Promise<unknown> | undefined;
    let runningWhenAnswered: string | undefined;
    const asker: Asker = {
      actor: { kind: 'cli', user: 'tester' },
      onEvent: (e) => {
        if (e.type === 'approval.requested' && !answered) {
          runningWhenAnswered = bot.store.getRun(e.runId)?.status;
          answered = bot.engine.decide(e.approvalId, 'approved', quiet);
        }
      },
    };
    let result: Awaited<ReturnType<typeof bot.engine.deploy>>;
    try {
      result = await bot.engine.deploy([A, B], { until: 'restart', restart: 'ask' }, asker);
    } finally {
      await office.setHostRate(B, null);
    }
    expect(await answered).toMatchObject({ kind: 'decided', restarted: true });
    expect(runningWhenAnswered).toBe('running');
    const first = result.hosts.find((h) => h.status === 'ok')!;
    const second = result.hosts.find((h) => h.status === 'awaiting-approval')!;
    expect(first.restarted).toBe(true);
    expect(await office.systemctlLog(first.host)).toHaveLength(2);
    // The run waits for the other answer only, and ends once it comes.
    expectRun(result, 'awaiting-approval', bot.store);
    await bot.engine.decide(second.approvalId!, 'denied', quiet);
    expectStoredRun(bot.store, result.runId, 'ok');
    expect(await office.systemctlLog(second.host)).toHaveLength(1);
    expect(bot.store.heldLocks()).toEqual([]);
  });

  it('ends a run whose question expired while it worked, and frees its hosts', async () => {
    await office.fleet.setRevision(3);
    // Deploy both; when the first host's question is asked, time moves past its expiry.
    const asker: Asker = {
      actor: { kind: 'cli', user: 'tester' },
      onEvent: (e) => {
        if (e.type === 'approval.requested') offsetMs += 31 * 60_000;
      },
    };
    const result = await bot.engine.deploy([A, B], { until: 'restart', restart: 'ask' }, asker);
    expect(result.hosts.every((h) => h.error === undefined)).toBe(true);
    // Every question has expired: nothing waits, the run is over and holds no host.
    expectRun(result, 'ok', bot.store);
    expectStoredRun(bot.store, result.runId, 'ok');
    expect(bot.store.heldLocks()).toEqual([]);
    const again = await bot.engine.deploy([A], { until: 'switch', restart: 'no' }, quiet);
    expectRun(again, 'ok', bot.store);
  });
});
