import { describe, expect, it } from 'vitest';
import {
  approverPolicySchema,
  createApproverCheck,
  decideApprover,
  refusalMessage,
} from '../../src/slack/approvers.ts';

const policy = { users: ['UALICE'], usergroup: 'S0OPS' };

describe('decideApprover', () => {
  it('lets named users and group members answer, and nobody else', () => {
    expect(decideApprover('UALICE', policy, undefined)).toEqual({ allowed: true, via: 'user' });
    expect(decideApprover('UBOB', policy, ['UBOB'])).toEqual({ allowed: true, via: 'usergroup' });
    expect(decideApprover('UEVE', policy, ['UBOB'])).toEqual({ allowed: false, reason: 'not-approver' });
    expect(decideApprover('UBOB', { users: [] }, ['UBOB'])).toEqual({
      allowed: false,
      reason: 'not-approver',
    });
  });

  it('refuses group members while the group cannot be read, but not named users', () => {
    expect(decideApprover('UBOB', policy, { unavailable: 'ratelimited' })).toEqual({
      allowed: false,
      reason: 'group-unavailable',
      detail: 'ratelimited',
    });
    expect(decideApprover('UALICE', policy, { unavailable: 'ratelimited' }).allowed).toBe(true);
  });
});

describe('createApproverCheck', () => {
  it('reads the group once per minute, and once for clicks that arrive together', async () => {
    let t = 0;
    let lookups = 0;
    let members = ['UBOB'];
    const check = createApproverCheck(
      policy,
      async () => {
        lookups += 1;
        await new Promise((r) => setTimeout(r, 5));
        return members;
      },
      { now: () => t },
    );
    const together = await Promise.all([check('UBOB'), check('UEVE'), check('UBOB')]);
    expect(together.map((d) => d.allowed)).toEqual([true, false, true]);
    expect(lookups).toBe(1);
    members = ['UEVE'];
    t = 59_999;
    expect((await check('UEVE')).allowed).toBe(false);
    expect(lookups).toBe(1);
    t = 60_000;
    expect((await check('UEVE')).allowed).toBe(true);
    expect((await check('UBOB')).allowed).toBe(false);
    expect(lookups).toBe(2);
  });

  it('does not look the group up for named users, and does not cache a failure', async () => {
    let lookups = 0;
    let fail = true;
    const check = createApproverCheck(policy, async () => {
      lookups += 1;
      if (fail) throw new Error('usergroups.users.list: ratelimited');
      return ['UBOB'];
    });
    expect(await check('UALICE')).toEqual({ allowed: true, via: 'user' });
    expect(lookups).toBe(0);
    expect(await check('UBOB')).toMatchObject({ allowed: false, reason: 'group-unavailable' });
    fail = false;
    expect(await check('UBOB')).toEqual({ allowed: true, via: 'usergroup' });
    expect(lookups).toBe(2);
  });
});

describe('approverPolicySchema', () => {
  it('takes user IDs and a user group ID, and explains what an ID looks like', () => {
    expect(approverPolicySchema.parse({ users: ['U012ABCDEF'], usergroup: 'S012ABCDEF' })).toEqual({
      users: ['U012ABCDEF'],
      usergroup: 'S012ABCDEF',
    });
    expect(approverPolicySchema.parse({})).toEqual({ users: [] });
    const byName = approverPolicySchema.safeParse({ users: ['@alice'] });
    expect(byName.success).toBe(false);
    expect(byName.error?.issues[0]?.message).toMatch(/looks like U012ABCDEF/);
    const handle = approverPolicySchema.safeParse({ usergroup: '@ops' });
    expect(handle.error?.issues[0]?.message).toMatch(/not its @handle/);
    expect(approverPolicySchema.safeParse({ users: [], admins: [] }).success).toBe(false);
  });
});

describe('refusalMessage', () => {
  it('says who can answer, and why a group member was refused during an outage', () => {
    const refused = refusalMessage({ allowed: false, reason: 'not-approver' }, policy);
    expect(refused.text).toBe(
      'Only approvers can answer restart questions; your click changed nothing. Ask <@UALICE> or a member of <!subteam^S0OPS>.',
    );
    const outage = refusalMessage({ allowed: false, reason: 'group-unavailable' });
    expect(outage.text).toMatch(/could not tell the bot who is in the approvers' group/);
    expect(() => refusalMessage({ allowed: true, via: 'user' })).toThrow();
  });
});
