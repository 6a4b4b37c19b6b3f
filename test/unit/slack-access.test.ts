// Who may run what, and where: the configuration's deployers, viewers and channels.
import { describe, expect, it } from 'vitest';
import { type AccessPolicy, checkAccess } from '../../src/slack/access.ts';

const policy: AccessPolicy = { deployers: ['U0ALICE'], viewers: ['U0VIEW'], channels: [] };
const alice = { userId: 'U0ALICE', channelId: 'C0ANY' };
const viewer = { userId: 'U0VIEW', channelId: 'C0ANY' };
const stranger = { userId: 'U0STRANGER', channelId: 'C0ANY' };
const DEPLOY = { access: 'deploy' } as const;
const VIEW = { access: 'view' } as const;
const HELP = { access: 'view', offline: true } as const;

describe('checkAccess', () => {
  it('lets deployers run every verb, and viewers only the read-only ones', () => {
    expect(checkAccess(policy, alice, DEPLOY)).toEqual({ allowed: true });
    expect(checkAccess(policy, alice, VIEW)).toEqual({ allowed: true });
    expect(checkAccess(policy, viewer, VIEW)).toEqual({ allowed: true });
    const refused = checkAccess(policy, viewer, DEPLOY);
    expect(refused).toMatchObject({
      allowed: false,
      reason: 'Only deployers can run commands that change the screens.',
    });
  });

  it('refuses someone who is neither, unless viewers is everyone', () => {
    expect(checkAccess(policy, stranger, VIEW)).toMatchObject({
      allowed: false,
      next: expect.stringContaining('slack.viewers'),
    });
    expect(checkAccess({ ...policy, viewers: 'everyone' }, stranger, VIEW)).toEqual({ allowed: true });
    expect(checkAccess({ ...policy, viewers: 'everyone' }, stranger, DEPLOY)).toMatchObject({
      allowed: false,
    });
  });

  it('takes requests only in the configured channels, from deployers too, and links them', () => {
    const onlyThere = { ...policy, channels: ['C0SIGNAGE', 'C0OPS'] };
    const refused = checkAccess(onlyThere, alice, DEPLOY);
    expect(refused).toEqual({
      allowed: false,
      reason: 'The bot takes requests only in <#C0SIGNAGE>, <#C0OPS>.',
      next: 'Ask again in <#C0SIGNAGE>, <#C0OPS>.',
    });
    expect(checkAccess(onlyThere, { ...alice, channelId: 'C0OPS' }, DEPLOY)).toEqual({ allowed: true });
  });

  it('lets everyone ask for help, even with viewers listed, but only in the configured channels', () => {
    expect(checkAccess(policy, stranger, HELP)).toEqual({ allowed: true });
    expect(checkAccess(policy, stranger, VIEW)).toMatchObject({ allowed: false });
    const onlyThere = { ...policy, channels: ['C0SIGNAGE'] };
    expect(checkAccess(onlyThere, { ...stranger, channelId: 'C0SIGNAGE' }, HELP)).toEqual({ allowed: true });
    expect(checkAccess(onlyThere, stranger, HELP)).toEqual({
      allowed: false,
      reason: 'The bot takes requests only in <#C0SIGNAGE>.',
      next: 'Ask again in <#C0SIGNAGE>.',
    });
  });
});
