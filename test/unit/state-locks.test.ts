import { afterAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/events.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const alice: Actor = { kind: 'slack', userId: 'U0ALICE', channelId: 'C0OPS' };
const bob: Actor = { kind: 'cli', user: 'bob' };
const t0 = new Date('2025-03-01T09:00:00Z');
const t1 = new Date('2025-03-01T09:05:00Z');

describe('host locks', () => {
  it('locks every host or none, and names who holds a busy one', () => {
    const state = openOrThrow(dirs.make());
    const { store } = state;
    const a = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: t0 });
    expect(store.acquireLocks(['lobby'], a.id, alice, t0)).toEqual({ ok: true });

    const b = store.createRun({
      verb: 'deploy',
      hosts: ['entrance', 'lobby', 'canteen'],
      actor: bob,
      now: t1,
    });
    const refused = store.acquireLocks(['entrance', 'lobby', 'canteen'], b.id, bob, t1);
    expect(refused).toEqual({ ok: false, held: [{ host: 'lobby', runId: a.id, holder: alice, since: t0 }] });
    // Nothing of the refused request was kept.
    expect(store.heldLocks().map((l) => l.host)).toEqual(['lobby']);
    state.close();
  });

  it("re-acquiring the run's own locks is fine and keeps when they were taken", () => {
    const { store, close } = openOrThrow(dirs.make());
    const a = store.createRun({ verb: 'deploy', hosts: ['lobby', 'entrance'], actor: alice, now: t0 });
    expect(store.acquireLocks(['lobby'], a.id, alice, t0).ok).toBe(true);
    expect(store.acquireLocks(['lobby', 'entrance', 'lobby'], a.id, alice, t1).ok).toBe(true);
    expect(store.heldLocks()).toEqual([
      { host: 'entrance', runId: a.id, holder: alice, since: t1 },
      { host: 'lobby', runId: a.id, holder: alice, since: t0 },
    ]);
    close();
  });

  it('frees only the given run, returning its hosts', () => {
    const { store, close } = openOrThrow(dirs.make());
    const a = store.createRun({ verb: 'deploy', hosts: ['lobby', 'entrance'], actor: alice, now: t0 });
    const b = store.createRun({ verb: 'deploy', hosts: ['canteen'], actor: bob, now: t0 });
    store.acquireLocks(['lobby', 'entrance'], a.id, alice, t0);
    store.acquireLocks(['canteen'], b.id, bob, t0);
    expect(store.releaseLocks(a.id)).toEqual(['entrance', 'lobby']);
    expect(store.releaseLocks(a.id)).toEqual([]);
    expect(store.heldLocks().map((l) => `${l.host}:${l.runId}`)).toEqual([`canteen:${b.id}`]);
    const c = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: bob, now: t1 });
    expect(store.acquireLocks(['lobby'], c.id, bob, t1).ok).toBe(true);
    close();
  });

  it('a lock taken through one connection refuses another connection to the same file', () => {
    const dir = dirs.make();
    const one = openOrThrow(dir);
    const two = openOrThrow(dir);
    const a = one.store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: t0 });
    expect(one.store.acquireLocks(['lobby'], a.id, alice, t0).ok).toBe(true);
    const b = two.store.createRun({ verb: 'rollback', hosts: ['lobby', 'canteen'], actor: bob, now: t1 });
    const refused = two.store.acquireLocks(['lobby', 'canteen'], b.id, bob, t1);
    expect(refused.ok).toBe(false);
    expect(refused.ok ? [] : refused.held.map((h) => [h.host, h.runId, h.holder])).toEqual([
      ['lobby', a.id, alice],
    ]);
    expect(one.store.heldLocks().map((l) => l.host)).toEqual(['lobby']);
    one.close();
    two.close();
  });
});
