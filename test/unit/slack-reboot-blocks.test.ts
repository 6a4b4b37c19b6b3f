import { describe, expect, it } from 'vitest';
import {
  approvalDecidedMessage,
  approvalDeferredMessage,
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

  it('offers "At the next window" for a host with a window, in a reboot\'s words, and says what was deferred', () => {
    const q = {
      approvalId: 'a1',
      host: 'cafe-wall',
      question: 'Reboot cafe-wall?',
      expiresAt: at,
      action: 'reboot' as const,
      nextWindow: 'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo',
    };
    const blocks = approvalQuestionMessage(q).blocks as {
      type: string;
      elements?: Record<string, unknown>[];
    }[];
    const buttons = blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
    expect(buttons.map((b) => b.action_id)).toEqual([
      'restart_approve',
      'restart_next_window',
      'restart_deny',
    ]);
    const later = JSON.stringify(buttons[1]);
    expect(later).toContain('Reboot cafe-wall later?');
    expect(later).toContain('cafe-wall reboots at its next maintenance window: Mon-Fri 22:00-06:00');
    expect(later).not.toContain('display manager');
    const deferred = approvalDeferredMessage({
      host: 'cafe-wall',
      action: 'reboot',
      question: q.question,
      nextWindow: q.nextWindow,
      userId: 'U1',
      at,
    });
    expect(deferred.text).toBe(`Reboot of cafe-wall at the next window, ${q.nextWindow} — approved by <@U1>`);
    const { nextWindow: _, ...without } = q;
    const none = JSON.stringify(approvalQuestionMessage(without).blocks);
    expect(none).not.toContain('restart_next_window');
  });
});
