import { afterAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/events.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const alice: Actor = { kind: 'slack', userId: 'U0ALICE' };
const at = (minute: number) => new Date(Date.UTC(2025, 2, 1, 9, minute));

describe('runs', () => {
  it('have short ids that sort by creation time', () => {
    const { store, close } = openOrThrow(dirs.make());
    const ids = [5, 1, 3, 3, 2].map((m) => ({
      m,
      id: store.createRun({ verb: 'status', hosts: [], actor: alice, now: at(m) }).id,
    }));
    for (const { id } of ids) expect(id).toMatch(/^[0-9a-z]{14}$/);
    const byId = [...ids].sort((x, y) => (x.id < y.id ? -1 : 1)).map((x) => x.m);
    expect(byId).toEqual([1, 2, 3, 3, 5]);
    expect(new Set(ids.map((x) => x.id)).size).toBe(ids.length);
    close();
  });

  it('a final status ends the run and frees its locks; awaiting approval keeps them', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: at(0) });
    expect(run).toMatchObject({
      status: 'running',
      finishedAt: null,
      summary: null,
      slack: null,
      hosts: ['lobby'],
    });
    store.acquireLocks(['lobby'], run.id, alice, at(0));

    const paused = store.finishRun(run.id, {
      status: 'awaiting-approval',
      now: at(1),
      summary: { failed: false },
    });
    expect(paused).toMatchObject({
      status: 'awaiting-approval',
      finishedAt: at(1),
      summary: { failed: false },
    });
    expect(store.heldLocks().map((l) => l.host)).toEqual(['lobby']);

    expect(store.resumeRun(run.id)).toMatchObject({ status: 'running', finishedAt: null });
    expect(store.resumeRun(run.id)).toBeUndefined();

    const done = store.finishRun(run.id, { status: 'ok', now: at(2) });
    // No summary given: the one kept before stays.
    expect(done).toMatchObject({ status: 'ok', finishedAt: at(2), summary: { failed: false } });
    expect(store.heldLocks()).toEqual([]);
    expect(store.finishRun(run.id, { status: 'failed', now: at(3) })).toBeUndefined();
    expect(store.resumeRun(run.id)).toBeUndefined();
    expect(store.getRun(run.id)?.status).toBe('ok');
    expect(store.finishRun('0nosuchrun0000', { status: 'ok', now: at(3) })).toBeUndefined();
    close();
  });

  it('keeps the summary as JSON and the Slack message it was posted in', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({
      verb: 'deploy',
      hosts: ['a', 'b'],
      actor: alice,
      now: at(0),
      slack: { channel: 'C1', ts: '1.2' },
    });
    store.attachRunMessage(run.id, { channel: 'C2', ts: '3.4' });
    const summary = { failed: true, lanBytes: 1234, hosts: [{ host: 'a', status: 'failed' }], note: 'ü' };
    store.finishRun(run.id, { status: 'failed', now: at(1), summary });
    expect(store.getRun(run.id)).toEqual({
      id: run.id,
      verb: 'deploy',
      hosts: ['a', 'b'],
      actor: alice,
      startedAt: at(0),
      finishedAt: at(1),
      status: 'failed',
      summary,
      slack: { channel: 'C2', ts: '3.4' },
      revision: null,
      options: null,
      cancelRequest: null,
    });
    expect(() => store.finishRun(run.id, { status: 'ok', now: at(2), summary: { n: 1n } })).toThrow(
      /not JSON-serialisable/,
    );
    close();
  });

  it('keeps what a run was asked with, and records one cancel request on a run that has not ended', () => {
    const { store, close } = openOrThrow(dirs.make());
    const bob = { kind: 'slack' as const, userId: 'U0BOB' };
    const run = store.createRun({
      verb: 'deploy',
      hosts: ['a'],
      actor: alice,
      now: at(0),
      options: { until: 'restart', restart: 'ask', ref: 'feature' },
    });
    expect(store.getRun(run.id)?.options).toEqual({ until: 'restart', restart: 'ask', ref: 'feature' });
    expect(run.cancelRequest).toBeNull();
    const first = store.requestCancel(run.id, bob, at(1));
    expect(first.kind).toBe('requested');
    expect(store.getRun(run.id)?.cancelRequest).toEqual({ by: bob, at: at(1) });
    const second = store.requestCancel(run.id, alice, at(2));
    expect(second.kind).toBe('already-requested');
    expect(second.kind === 'already-requested' && second.run.cancelRequest).toEqual({ by: bob, at: at(1) });
    store.finishRun(run.id, { status: 'cancelled', now: at(3) });
    const ended = store.createRun({ verb: 'deploy', hosts: ['b'], actor: alice, now: at(4) });
    store.finishRun(ended.id, { status: 'ok', now: at(5) });
    expect(store.requestCancel(ended.id, bob, at(6)).kind).toBe('finished');
    expect(store.getRun(ended.id)?.cancelRequest).toBeNull();
    expect(store.requestCancel('nope', bob, at(6))).toEqual({ kind: 'unknown', id: 'nope' });
    close();
  });

  it('finds the newest run for a host, and recent runs newest first', () => {
    const { store, close } = openOrThrow(dirs.make());
    const r1 = store.createRun({ verb: 'deploy', hosts: ['lobby', 'entrance'], actor: alice, now: at(1) });
    const r2 = store.createRun({ verb: 'rollback', hosts: ['entrance'], actor: alice, now: at(2) });
    const r3 = store.createRun({ verb: 'build', hosts: ['canteen'], actor: alice, now: at(3) });
    expect(store.lastRunFor('lobby')?.id).toBe(r1.id);
    expect(store.lastRunFor('entrance')?.id).toBe(r2.id);
    expect(store.lastRunFor('nowhere')).toBeUndefined();
    expect(store.recentRuns({ limit: 10 }).map((r) => r.id)).toEqual([r3.id, r2.id, r1.id]);
    expect(store.recentRuns({ limit: 2 }).map((r) => r.id)).toEqual([r3.id, r2.id]);
    expect(store.recentRuns({ host: 'entrance', limit: 10 }).map((r) => r.id)).toEqual([r2.id, r1.id]);
    close();
  });
});

describe('stages', () => {
  it('a started stage is ended in place; an unstarted one is recorded whole; order is start order', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: at(0) });
    store.startStage({ runId: run.id, host: 'lobby', stage: 'build', now: at(0) });
    expect(store.stagesOf(run.id)).toEqual([
      {
        runId: run.id,
        host: 'lobby',
        stage: 'build',
        status: 'running',
        startedAt: at(0),
        durationMs: null,
        bytes: null,
        detail: null,
      },
    ]);
    const built = store.recordStage({
      runId: run.id,
      host: 'lobby',
      stage: 'build',
      outcome: 'ok',
      startedAt: at(0),
      durationMs: 60_000,
    });
    expect(built).toMatchObject({ status: 'ok', durationMs: 60_000, bytes: null });
    store.recordStage({
      runId: run.id,
      host: 'lobby',
      stage: 'restart',
      outcome: 'skipped',
      startedAt: at(2),
      durationMs: 0,
      detail: 'waiting',
    });
    store.startStage({ runId: run.id, host: 'lobby', stage: 'copy', now: at(1) });
    store.recordStage({
      runId: run.id,
      host: 'lobby',
      stage: 'copy',
      outcome: 'failed',
      startedAt: at(1),
      durationMs: 5,
      bytes: 42,
      detail: 'peer gone',
    });
    store.recordStage({
      runId: run.id,
      host: 'lobby',
      stage: 'restart',
      outcome: 'ok',
      startedAt: at(3),
      durationMs: 9,
    });
    expect(store.stagesOf(run.id).map((s) => [s.stage, s.status, s.bytes, s.detail])).toEqual([
      ['build', 'ok', null, null],
      ['copy', 'failed', 42, 'peer gone'],
      ['restart', 'skipped', null, 'waiting'],
      ['restart', 'ok', null, null],
    ]);
    close();
  });
});

describe('deployments', () => {
  it('the last switch per host counts', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby', 'canteen'], actor: alice, now: at(0) });
    const older = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-lobby';
    const newer = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-lobby';
    store.recordDeployment({ host: 'lobby', toplevel: older, runId: run.id, at: at(1) });
    store.recordDeployment({ host: 'lobby', toplevel: newer, runId: run.id, at: at(2) });
    expect(store.lastDeployment('lobby')).toEqual({
      host: 'lobby',
      toplevel: newer,
      runId: run.id,
      at: at(2),
      revision: null,
    });
    expect(store.lastDeployment('canteen')).toBeUndefined();
    close();
  });

  it("a deployment keeps its run's fleet revision, and is found by the system it put on the host", () => {
    const { store, close } = openOrThrow(dirs.make());
    const revision = {
      flake: `git+file:///srv/fleet?ref=my-branch&rev=${'c'.repeat(40)}`,
      requested: 'my-branch',
      branch: 'my-branch',
      rev: 'c'.repeat(40),
      dirty: false,
      path: '/srv/fleet',
      subject: 'Brighter lobby',
      author: 'Ada',
      onDefault: false,
      defaultBranch: 'main',
    };
    const old = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: at(0) });
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: at(1), revision });
    expect(store.getRun(run.id)?.revision).toEqual(revision);
    const system = '/nix/store/cccccccccccccccccccccccccccccccc-nixos-system-lobby';
    const other = '/nix/store/dddddddddddddddddddddddddddddddd-nixos-system-lobby';
    store.recordDeployment({ host: 'lobby', toplevel: system, runId: run.id, at: at(2) });
    // A later rollback run has no revision of its own: the system's commit is still known.
    store.recordDeployment({ host: 'lobby', toplevel: other, runId: old.id, at: at(3) });
    store.recordDeployment({ host: 'lobby', toplevel: system, runId: old.id, at: at(4) });
    expect(store.lastDeployment('lobby')?.revision).toBeNull();
    expect(store.deploymentOf('lobby', system)?.revision).toEqual(revision);
    expect(store.deploymentOf('lobby', other)).toBeUndefined();
    close();
  });
});
