import { afterAll, describe, expect, it } from 'vitest';
import { startFixture, stopChildren } from '../fixtures/state/children.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(async () => {
  await stopChildren();
  dirs.cleanup();
});

const started = '2025-03-01T09:00:00.000Z';
const reopened = new Date('2025-03-01T09:10:00Z');

describe('crash recovery', () => {
  it('a run whose process was killed becomes interrupted, with its stages, and its locks are freed', async () => {
    const dir = dirs.make();
    const child = startFixture('crash-child.ts', [dir, 'running', started, 'lobby', 'entrance']);
    const { runId } = JSON.parse(await child.nextLine()) as { runId: string };

    // While the process lives, another process opening the file leaves its run alone.
    const meanwhile = openOrThrow(dir, reopened);
    expect(meanwhile.recovered).toEqual({ interruptedRuns: [], interruptedStages: [], freedLocks: [] });
    expect(meanwhile.store.getRun(runId)?.status).toBe('running');
    expect(meanwhile.store.heldLocks().map((l) => l.host)).toEqual(['entrance', 'lobby']);
    meanwhile.close();

    process.kill(child.pid, 'SIGKILL');
    expect((await child.exited()).signal).toBe('SIGKILL');

    const after = openOrThrow(dir, reopened);
    const { interruptedRuns, interruptedStages, freedLocks } = after.recovered;
    expect(interruptedRuns.map((r) => [r.id, r.status, r.finishedAt])).toEqual([
      [runId, 'interrupted', reopened],
    ]);
    expect(interruptedStages.map((s) => [s.host, s.stage, s.status]).sort()).toEqual([
      ['entrance', 'copy', 'interrupted'],
      ['lobby', 'copy', 'interrupted'],
    ]);
    expect(freedLocks.map((l) => [l.host, l.runId])).toEqual([
      ['entrance', runId],
      ['lobby', runId],
    ]);
    expect(after.store.heldLocks()).toEqual([]);
    expect(after.store.getRun(runId)?.status).toBe('interrupted');
    expect(after.store.stagesOf(runId).map((s) => s.status)).toEqual(['interrupted', 'interrupted']);
    after.close();

    // Recovery happens once: opening again finds nothing left to clean up.
    const again = openOrThrow(dir, reopened);
    expect(again.recovered.interruptedRuns).toEqual([]);
    again.close();
  });

  it('a lock whose holder died after this store was opened is taken over, and said so; a live holder is not', async () => {
    const dir = dirs.make();
    // This process opened the store first (the bot), so opening cannot have cleaned up after the child.
    const bot = openOrThrow(dir, reopened);
    const child = startFixture('crash-child.ts', [dir, 'running', started, 'lobby']);
    const { runId } = JSON.parse(await child.nextLine()) as { runId: string };
    const actor = { kind: 'cli', user: 'tester' } as const;

    const refused = bot.store.createRun({ verb: 'deploy', hosts: ['lobby'], actor, now: reopened });
    const busy = bot.store.acquireLocks(['lobby'], refused.id, actor, reopened);
    expect(busy.ok).toBe(false);
    expect(bot.store.getRun(runId)?.status).toBe('running');

    process.kill(child.pid, 'SIGKILL');
    await child.exited();
    const mine = bot.store.createRun({ verb: 'deploy', hosts: ['lobby'], actor, now: reopened });
    const taken = bot.store.acquireLocks(['lobby'], mine.id, actor, reopened);
    expect(taken).toEqual({
      ok: true,
      tookOver: [
        { host: 'lobby', runId, holder: { kind: 'cli', user: 'crash-child' }, since: new Date(started) },
      ],
    });
    expect(bot.store.getRun(runId)?.status).toBe('interrupted');
    expect(bot.store.stagesOf(runId).map((s) => s.status)).toEqual(['interrupted']);
    expect(bot.store.heldLocks().map((l) => [l.host, l.runId])).toEqual([['lobby', mine.id]]);
    bot.close();
  });

  it("status-time recovery marks a dead process's run interrupted without taking any lock", async () => {
    const dir = dirs.make();
    const bot = openOrThrow(dir, reopened);
    const child = startFixture('crash-child.ts', [dir, 'running', started, 'lobby']);
    const { runId } = JSON.parse(await child.nextLine()) as { runId: string };
    expect(bot.store.recoverDeadRuns(reopened).interruptedRuns).toEqual([]);
    process.kill(child.pid, 'SIGKILL');
    await child.exited();
    const swept = bot.store.recoverDeadRuns(reopened);
    expect(swept.interruptedRuns.map((r) => r.id)).toEqual([runId]);
    expect(swept.freedLocks.map((l) => l.host)).toEqual(['lobby']);
    expect(bot.store.lastRunFor('lobby')?.status).toBe('interrupted');
    bot.close();
  });

  it('a run waiting for approval outlives its process, with its locks and its open question', async () => {
    const dir = dirs.make();
    const child = startFixture('crash-child.ts', [dir, 'awaiting', started, 'lobby']);
    const { runId, approvalId } = JSON.parse(await child.nextLine()) as { runId: string; approvalId: string };
    process.kill(child.pid, 'SIGKILL');
    await child.exited();

    const after = openOrThrow(dir, reopened);
    expect(after.recovered).toEqual({ interruptedRuns: [], interruptedStages: [], freedLocks: [] });
    expect(after.store.getRun(runId)?.status).toBe('awaiting-approval');
    expect(after.store.heldLocks().map((l) => [l.host, l.runId])).toEqual([['lobby', runId]]);
    expect(after.store.pendingApprovals().map((a) => a.id)).toEqual([approvalId]);
    // Answered after the restart, it still counts, once, and the run can be taken up here.
    const decided = after.store.decideApproval(
      approvalId,
      'approved',
      { kind: 'slack', userId: 'U0A' },
      reopened,
    );
    expect(decided.kind).toBe('decided');
    expect(after.store.resumeRun(runId)?.status).toBe('running');
    after.close();

    // Resumed by this (living) test process: a later open leaves it running.
    const later = openOrThrow(dir, reopened);
    expect(later.recovered.interruptedRuns).toEqual([]);
    later.close();
  });
});
