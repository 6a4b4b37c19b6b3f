import { describe, expect, it } from 'vitest';
import {
  approvalDecidedMessage,
  approvalExpiredMessage,
  approvalQuestionMessage,
} from '../../src/slack/blocks/approval.ts';

const at = new Date('2026-12-07T17:00:00Z');

describe('the reboot question in Slack', () => {
  it('warns of a reboot and names its button so, where a restart question speaks of a restart', () => {
    const q = { approvalId: 'a1', host: 'cafe-wall', question: 'Reboot cafe-wall?', expiresAt: at };
    const reboot = JSON.stringify(approvalQuestionMessage({ ...q, action: 'reboot' }).blocks);
    expect(reboot).toContain('goes dark while the host reboots');
    expect(reboot).toContain('"text":"Reboot now"');
    expect(reboot).toContain('"text":"Reboot cafe-wall?"');
    expect(reboot).not.toContain('display manager');
    const restart = JSON.stringify(approvalQuestionMessage(q).blocks);
    expect(restart).toContain('"text":"Restart now"');
    expect(restart).not.toContain('Reboot now');
  });

  it('says what was decided, or that nothing was rebooted when it expired', () => {
    const decided = approvalDecidedMessage({
      host: 'cafe-wall',
      question: 'Reboot cafe-wall?',
      decision: 'approved',
      action: 'reboot',
      userId: 'U1',
      at,
    });
    expect(decided.text).toBe('Reboot of cafe-wall approved by <@U1>');
    const expired = approvalExpiredMessage({
      host: 'cafe-wall',
      question: 'Reboot cafe-wall?',
      expiredAt: at,
      action: 'reboot',
    });
    expect(expired.text).toBe('The reboot question for cafe-wall expired; nothing was rebooted');
    expect(JSON.stringify(expired.blocks)).toContain('/signage reboot cafe-wall');
  });
});
