// Writes every value of the state's union types. The records below must name every member of each type
// (the type checker insists), and the database's CHECK constraints must accept each one: a value added to
// a type fails here until a migration teaches the schema about it.
import { afterAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/events.ts';
import { HEALTH_STATES } from '../../src/core/health.ts';
import type { HealthWatch } from '../../src/core/health-watch.ts';
import type {
  ActivationKind,
  ActivationOutcome,
  ApprovalAction,
  ApprovalStatus,
  Decision,
  PendingReason,
  PendingRestart,
  PendingVerb,
  PendingWork,
  RunStatus,
  StageStatus,
} from '../../src/core/ports/state.ts';
import type { StageName, StageOutcome } from '../../src/core/types.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const STAGE_NAMES = {
  build: true,
  plan: true,
  copy: true,
  switch: true,
  approve: true,
  restart: true,
  rollback: true,
  reboot: true,
} as const satisfies Record<StageName, true>;
const APPROVAL_ACTIONS = { restart: true, reboot: true } as const satisfies Record<ApprovalAction, true>;
const STAGE_OUTCOMES = { ok: true, noop: true, failed: true, skipped: true } as const satisfies Record<
  StageOutcome,
  true
>;
const RUN_ENDS = {
  ok: true,
  failed: true,
  'awaiting-approval': true,
  interrupted: true,
  cancelled: true,
} as const satisfies Record<Exclude<RunStatus, 'running'>, true>;
const ACTIVATION_OUTCOMES = {
  confirmed: true,
  reverted: true,
  'reverted-by-host': true,
  unchanged: true,
  unknown: true,
} as const satisfies Record<ActivationOutcome, true>;
const PENDING_REASONS = { unreachable: true, window: true } as const satisfies Record<PendingReason, true>;
const PENDING_VERBS = { deploy: true, switch: true, restart: true, reboot: true } as const satisfies Record<
  PendingVerb,
  true
>;
const ACTIVATION_KINDS = { switch: true, boot: true } as const satisfies Record<ActivationKind, true>;
const PENDING_RESTARTS = { ask: true, yes: true, no: true } as const satisfies Record<PendingRestart, true>;
const DECISIONS = { approved: true, denied: true } as const satisfies Record<Decision, true>;
const ACTORS: Record<Actor['kind'], Actor> = {
  slack: { kind: 'slack', userId: 'U0A', channelId: 'C0B' },
  cli: { kind: 'cli', user: 'root' },
  schedule: { kind: 'schedule', job: 'status' },
};

const keys = <T extends string>(record: Record<T, true>) => Object.keys(record) as T[];
const now = new Date('2025-03-01T09:00:00Z');

describe('every value of the state types is stored and read back', () => {
  it('activation outcomes, and open activations', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: ACTORS.cli, now });
    const begin = (next: string) =>
      store.beginActivation({
        host: 'lobby',
        runId: run.id,
        previous: null,
        next,
        startedAt: now,
        deadline: new Date(now.getTime() + 300_000),
      });
    for (const outcome of keys(ACTIVATION_OUTCOMES))
      store.endActivation(begin(outcome).id, outcome, null, now);
    const open = begin('open');
    expect(store.activationsOf(run.id).map((a) => a.outcome)).toEqual([...keys(ACTIVATION_OUTCOMES), null]);
    expect(store.openActivations().map((a) => a.id)).toEqual([open.id]);
    expect(open.kind).toBe('switch');
    for (const kind of keys(ACTIVATION_KINDS)) {
      const a = store.beginActivation({
        kind,
        host: 'lobby',
        runId: run.id,
        previous: null,
        next: `/nix/store/${'c'.repeat(32)}-${kind}`,
        startedAt: now,
        deadline: now,
      });
      expect(store.openActivations().find((x) => x.id === a.id)?.kind).toBe(kind);
    }
    close();
  });

  it('stage names with every outcome, and running stages', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: ACTORS.cli, now });
    const want: [StageName, StageStatus][] = [];
    for (const stage of keys(STAGE_NAMES)) {
      for (const outcome of keys(STAGE_OUTCOMES)) {
        store.recordStage({ runId: run.id, host: 'lobby', stage, outcome, startedAt: now, durationMs: 1 });
        want.push([stage, outcome]);
      }
      store.startStage({ runId: run.id, host: 'lobby', stage, now });
      want.push([stage, 'running']);
    }
    expect(store.stagesOf(run.id).map((s) => [s.stage, s.status])).toEqual(want);
    close();
  });

  it('run statuses, and every kind of actor', () => {
    const { store, close } = openOrThrow(dirs.make());
    const statuses: RunStatus[] = [];
    for (const status of keys(RUN_ENDS)) {
      for (const actor of Object.values(ACTORS)) {
        const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor, now });
        expect(store.getRun(run.id)?.status).toBe('running');
        expect(store.finishRun(run.id, { status, now })?.status).toBe(status);
        expect(store.getRun(run.id)?.actor).toEqual(actor);
        statuses.push(status);
      }
    }
    expect(
      store
        .recentRuns({ limit: 100 })
        .map((r) => r.status)
        .sort(),
    ).toEqual(statuses.sort());
    close();
  });

  it('approval statuses and decisions', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: ACTORS.cli, now });
    const seen = new Set<ApprovalStatus>();
    const ask = (action: ApprovalAction = 'restart') =>
      store.createApproval({
        runId: run.id,
        host: 'lobby',
        action,
        question: 'Restart?',
        requestedBy: ACTORS.cli,
        now,
        expiresAt: new Date(now.getTime() + 1000),
      });
    seen.add(ask().status);
    for (const action of keys(APPROVAL_ACTIONS)) expect(ask(action).action).toBe(action);
    for (const decision of keys(DECISIONS)) {
      const result = store.decideApproval(ask().id, decision, ACTORS.slack, now);
      if (result.kind === 'decided') seen.add(result.approval.status);
    }
    for (const expired of store.expireDue(new Date(now.getTime() + 1000))) seen.add(expired.status);
    expect([...seen].sort()).toEqual(['approved', 'denied', 'expired', 'pending'] satisfies ApprovalStatus[]);
    close();
  });

  it('pending work of every reason, verb and restart, one entry per host, replaced and dropped', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: ACTORS.cli, now });
    const written: PendingWork[] = [];
    let i = 0;
    for (const reason of keys(PENDING_REASONS))
      for (const verb of keys(PENDING_VERBS))
        for (const restart of keys(PENDING_RESTARTS)) {
          const work: PendingWork = {
            host: `host-${i}`,
            // A pending restart or reboot brings no system.
            toplevel:
              verb === 'restart' || verb === 'reboot'
                ? null
                : `/nix/store/${'a'.repeat(32)}-nixos-system-${i}`,
            revision: null,
            reason,
            since: new Date(now.getTime() + i * 1000),
            opensAt: reason === 'window' ? new Date(now.getTime() + 3_600_000) : null,
            requestedBy: ACTORS[(['slack', 'cli', 'schedule'] as const)[i % 3]!],
            runId: run.id,
            verb,
            restart,
          };
          i += 1;
          store.setPending(work);
          written.push(work);
        }
    expect(store.pendingWork()).toEqual(written);
    const newer = { ...written[0]!, reason: 'window' as const, toplevel: `/nix/store/${'b'.repeat(32)}-x` };
    store.setPending(newer);
    expect(store.pendingWork().filter((w) => w.host === 'host-0')).toEqual([newer]);
    expect(store.dropPending('host-0')).toEqual(newer);
    expect(store.dropPending('host-0')).toBeUndefined();
    expect(store.pendingWork()).toHaveLength(written.length - 1);
    close();
  });

  it('health watches: every health state and flapping, kept per host and read back after a reopen', () => {
    const dir = dirs.make();
    const first = openOrThrow(dir);
    const watches = new Map<string, HealthWatch>([
      ...HEALTH_STATES.map((s): [string, HealthWatch] => [
        `pi-${s}`,
        { settled: { kind: 'states', key: s }, recent: [s, ''] },
      ]),
      ['pi-ok', { settled: { kind: 'states', key: '' }, recent: [''] }],
      ['pi-flapping', { settled: { kind: 'flapping' }, recent: ['', 'hot', '', 'hot'] }],
    ]);
    first.store.saveHealthWatches(watches, now);
    first.store.saveHealthWatches(
      new Map([['pi-ok', { settled: { kind: 'states', key: 'hot' }, recent: ['', 'hot', 'hot'] }]]),
      now,
    );
    first.close();
    const { store, close } = openOrThrow(dir);
    const read = store.healthWatches();
    expect(read.size).toBe(watches.size);
    for (const [host, w] of watches) if (host !== 'pi-ok') expect(read.get(host), host).toEqual(w);
    expect(read.get('pi-ok')).toEqual({
      settled: { kind: 'states', key: 'hot' },
      recent: ['', 'hot', 'hot'],
    });
    close();
  });
});
