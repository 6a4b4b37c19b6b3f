import { afterAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/events.ts';
import type { ApprovalRecord, DecideResult, StateStore } from '../../src/core/ports/state.ts';
import { startFixture, stopChildren } from '../fixtures/state/children.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(async () => {
  await stopChildren();
  dirs.cleanup();
});

const asker: Actor = { kind: 'cli', user: 'ops' };
const t0 = new Date('2025-03-01T09:00:00Z');
const expiry = new Date('2025-03-01T09:30:00Z');
const justBefore = new Date(expiry.getTime() - 1);

function ask(store: StateStore, host = 'lobby', now = t0, expiresAt = expiry): ApprovalRecord {
  const run = store.createRun({ verb: 'deploy', hosts: [host], actor: asker, now });
  store.finishRun(run.id, { status: 'awaiting-approval', now });
  return store.createApproval({
    runId: run.id,
    host,
    action: 'restart',
    question: `Restart the display manager on ${host}?`,
    requestedBy: asker,
    now,
    expiresAt,
  });
}

describe('deciding a restart question', () => {
  it('counts the first answer only, on two connections to the same file', () => {
    const dir = dirs.make();
    const one = openOrThrow(dir);
    const two = openOrThrow(dir);
    const approval = ask(one.store);
    expect(approval.id).toMatch(/^[0-9a-z]{19}$/);
    const alice: Actor = { kind: 'slack', userId: 'U0ALICE' };
    const bob: Actor = { kind: 'slack', userId: 'U0BOB' };

    const first = two.store.decideApproval(approval.id, 'approved', alice, justBefore);
    expect(first.kind).toBe('decided');
    const second = one.store.decideApproval(approval.id, 'denied', bob, justBefore);
    expect(second).toEqual({
      kind: 'already-decided',
      approval: { ...approval, status: 'approved', decidedBy: alice, decidedAt: justBefore },
    });
    expect(one.store.getApproval(approval.id)?.status).toBe('approved');
    expect(one.store.pendingApprovals()).toEqual([]);
    expect(one.store.decideApproval('0nosuchapproval0000', 'approved', alice, t0)).toEqual({
      kind: 'unknown',
      id: '0nosuchapproval0000',
    });
    one.close();
    two.close();
  });

  it('exactly one of several processes deciding at once wins; the others are told who did', async () => {
    const dir = dirs.make();
    const state = openOrThrow(dir);
    const approval = ask(state.store);
    const users = ['U0A', 'U0B', 'U0C', 'U0D', 'U0E', 'U0F'];
    const children = users.map((user, i) =>
      startFixture('decide-child.ts', [
        dir,
        approval.id,
        i % 2 ? 'denied' : 'approved',
        user,
        justBefore.toISOString(),
      ]),
    );
    for (const child of children) expect(await child.nextLine()).toBe('ready');
    for (const child of children) child.process.stdin.write('go\n');
    const results = (await Promise.all(children.map((c) => c.nextLine()))).map(
      (l) => JSON.parse(l) as DecideResult,
    );
    await Promise.all(children.map((c) => c.exited()));

    const winners = results.filter((r) => r.kind === 'decided');
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.approval;
    expect(results.filter((r) => r.kind === 'already-decided')).toHaveLength(users.length - 1);
    for (const r of results) {
      expect(r.kind === 'unknown' ? null : [r.approval.status, r.approval.decidedBy]).toEqual([
        winner.status,
        winner.decidedBy,
      ]);
    }
    const stored = state.store.getApproval(approval.id);
    expect(stored?.decidedBy).toEqual(winner.decidedBy);
    expect(stored?.status).toBe(winner.status);
    expect(stored?.decidedAt).toEqual(justBefore);
    state.close();
  });
});

describe('expiry', () => {
  it('an answer at the moment of expiry is refused even before expireDue marks it', () => {
    const { store, close } = openOrThrow(dirs.make());
    const approval = ask(store);
    const late = store.decideApproval(approval.id, 'approved', { kind: 'slack', userId: 'U0LATE' }, expiry);
    expect(late).toEqual({ kind: 'expired', approval });
    expect(store.getApproval(approval.id)?.status).toBe('pending');
    // Still listed as pending (its run is settled by whoever expires it), though its time has come.
    expect(store.pendingApprovals().map((a) => a.id)).toEqual([approval.id]);
    close();
  });

  it('an answer one millisecond before expiry counts', () => {
    const { store, close } = openOrThrow(dirs.make());
    const approval = ask(store);
    expect(store.decideApproval(approval.id, 'denied', asker, justBefore).kind).toBe('decided');
    expect(store.expireDue(expiry)).toEqual([]);
    // A decided question stays decided after its time.
    expect(store.decideApproval(approval.id, 'approved', asker, expiry).kind).toBe('already-decided');
    close();
  });

  it('expireDue marks a question at its expiry, once, and later answers are told it expired', () => {
    const dir = dirs.make();
    const one = openOrThrow(dir);
    const two = openOrThrow(dir);
    const approval = ask(one.store);
    expect(one.store.expireDue(justBefore)).toEqual([]);
    const expired = one.store.expireDue(expiry);
    expect(expired).toEqual([{ ...approval, status: 'expired', decidedAt: expiry }]);
    expect(two.store.expireDue(expiry)).toEqual([]);
    expect(one.store.expireDue(new Date(expiry.getTime() + 3_600_000))).toEqual([]);
    expect(two.store.pendingApprovals()).toEqual([]);
    const late = two.store.decideApproval(approval.id, 'approved', asker, expiry);
    expect(late).toEqual({ kind: 'expired', approval: expired[0] });
    one.close();
    two.close();
  });

  it('lists pending questions oldest first and expires only those due', () => {
    const { store, close } = openOrThrow(dirs.make());
    const minute = (m: number) => new Date(t0.getTime() + m * 60_000);
    const b = ask(store, 'entrance', minute(2), minute(12));
    const a = ask(store, 'lobby', minute(0), minute(30));
    const c = ask(store, 'canteen', minute(1), minute(11));
    expect(store.pendingApprovals().map((x) => x.host)).toEqual(['lobby', 'canteen', 'entrance']);
    expect(store.expireDue(minute(12)).map((x) => x.id)).toEqual([c.id, b.id]);
    expect(store.pendingApprovals().map((x) => x.id)).toEqual([a.id]);
    expect(() => ask(store, 'lobby', minute(5), minute(5))).toThrow(/must expire after/);
    close();
  });

  it('keeps the Slack message a question was posted in', () => {
    const { store, close } = openOrThrow(dirs.make());
    const approval = ask(store);
    store.attachApprovalMessage(approval.id, { channel: 'C0OPS', ts: '1700000000.000100' });
    expect(store.getApproval(approval.id)?.slack).toEqual({ channel: 'C0OPS', ts: '1700000000.000100' });
    close();
  });
});

describe('a question that needs several approvers (the two-person rule)', () => {
  const alice: Actor = { kind: 'slack', userId: 'U0ALICE', channelId: 'C1' };
  const bob: Actor = { kind: 'slack', userId: 'U0BOB' };
  const carol: Actor = { kind: 'slack', userId: 'U0CAROL' };

  it('is decided by the Nth distinct approver, across connections; a second answer by one person does not count', () => {
    const dir = dirs.make();
    const one = openOrThrow(dir);
    const two = openOrThrow(dir);
    const q = ask(one.store);
    one.store.setApprovalRule(q.id, { required: 2, requesterMayApprove: true });
    expect(two.store.approvalRule(q.id)).toEqual({ required: 2, requesterMayApprove: true });

    const first = one.store.voteApproval(q.id, 'approved', alice, t0);
    expect(first).toMatchObject({
      kind: 'counted',
      required: 2,
      votes: [{ voter: alice, decision: 'approved' }],
    });
    // The same person from another channel and another process: still one person.
    const again = two.store.voteApproval(q.id, 'approved', { ...alice, channelId: 'C2' }, t0);
    expect(again.kind).toBe('already-voted');
    expect(two.store.getApproval(q.id)?.status).toBe('pending');
    const second = two.store.voteApproval(q.id, 'approved', bob, justBefore);
    expect(second.kind).toBe('decided');
    expect(one.store.getApproval(q.id)).toMatchObject({ status: 'approved', decidedBy: bob });
    expect(one.store.votesOf(q.id).map((v) => v.voter)).toEqual([alice, bob]);
    expect(one.store.voteApproval(q.id, 'approved', carol, justBefore).kind).toBe('already-decided');
    one.close();
    two.close();
  });

  it("refuses the requester's own approval where the rule says so, lets them decline, and any decline declines", () => {
    const { store, close } = openOrThrow(dirs.make());
    const q = ask(store);
    store.setApprovalRule(q.id, { required: 2, requesterMayApprove: false });
    expect(store.voteApproval(q.id, 'approved', asker, t0)).toMatchObject({
      kind: 'requester-may-not-approve',
      required: 2,
    });
    expect(store.votesOf(q.id)).toEqual([]);
    expect(store.voteApproval(q.id, 'approved', bob, t0).kind).toBe('counted');
    expect(store.voteApproval(q.id, 'denied', carol, t0).kind).toBe('decided');
    expect(store.getApproval(q.id)).toMatchObject({ status: 'denied', decidedBy: carol });

    // Past its time nothing counts; without a rule, the first approver decides as before.
    const late = ask(store);
    store.setApprovalRule(late.id, { required: 2, requesterMayApprove: true });
    expect(store.voteApproval(late.id, 'approved', bob, expiry).kind).toBe('expired');
    const plain = ask(store);
    expect(store.voteApproval(plain.id, 'approved', asker, t0).kind).toBe('decided');
    expect(store.voteApproval('nope', 'approved', bob, t0)).toEqual({ kind: 'unknown', id: 'nope' });
    expect(() => store.setApprovalRule(plain.id, { required: 0, requesterMayApprove: true })).toThrow(
      /at least one approver/,
    );
    close();
  });
});
