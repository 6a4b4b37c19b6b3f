// "At the next window": the text a restart question gives of a host's window, and the Block Kit of the question
// with its third button and of the answer, checked against Slack's limits by the fake Slack's checker.
import { describe, expect, it } from 'vitest';
import { type HostPolicy, openPolicy } from '../../src/core/policy.ts';
import { nextWindowText } from '../../src/core/restart-window.ts';
import { parseWindows } from '../../src/core/windows.ts';
import {
  APPROVE_ACTION_ID,
  approvalDeferredMessage,
  approvalQuestionMessage,
  DENY_ACTION_ID,
  NEXT_WINDOW_ACTION_ID,
} from '../../src/slack/blocks/approval.ts';
import { messageProblems } from '../support/fake-slack/block-limits.ts';

function policy(windows: string[], timezone = 'Europe/Oslo'): HostPolicy {
  const parsed = parseWindows(windows);
  if (!parsed.ok) throw new Error(parsed.error);
  return { ...openPolicy(timezone), windows: parsed.value };
}

// Monday 7 December 2026, 12:00 in Oslo (UTC+1).
const MONDAY_NOON = new Date('2026-12-07T11:00:00Z');

describe('the next window of a restart question', () => {
  it('names the windows and the next opening on the zone wall clock', () => {
    expect(nextWindowText(policy(['Mon-Fri 22:00-06:00']), MONDAY_NOON)).toBe(
      'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo',
    );
    // Friday night's window, seen on Saturday noon: next opening Monday.
    expect(nextWindowText(policy(['Mon-Fri 22:00-06:00']), new Date('2026-12-12T11:00:00Z'))).toBe(
      'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo',
    );
  });

  it('says the window is open now inside it', () => {
    expect(nextWindowText(policy(['10:00-14:00']), MONDAY_NOON)).toBe('10:00-14:00 (Europe/Oslo), open now');
  });

  it('offers nothing for a host without windows', () => {
    expect(nextWindowText(undefined, MONDAY_NOON)).toBeUndefined();
    expect(nextWindowText(openPolicy('UTC'), MONDAY_NOON)).toBeUndefined();
  });
});

describe('the restart question with "At the next window"', () => {
  const base = {
    approvalId: 'apr-1',
    host: 'cafe-wall',
    question: 'Restart the display manager on cafe-wall?',
    expiresAt: new Date('2026-12-07T12:00:00Z'),
  };
  const buttonsOf = (msg: ReturnType<typeof approvalQuestionMessage>) =>
    (msg.blocks ?? []).flatMap((b) =>
      b.type === 'actions' ? (b as { elements: { action_id: string; confirm?: unknown }[] }).elements : [],
    );

  it('has three buttons for a host with a window, the new one confirmed and carrying only the approval id', () => {
    const msg = approvalQuestionMessage({
      ...base,
      nextWindow: 'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo',
    });
    expect(messageProblems(msg)).toEqual([]);
    const buttons = buttonsOf(msg);
    expect(buttons.map((b) => b.action_id)).toEqual([
      APPROVE_ACTION_ID,
      NEXT_WINDOW_ACTION_ID,
      DENY_ACTION_ID,
    ]);
    const next = buttons[1] as unknown as {
      value: string;
      text: { text: string };
      confirm: { text: { text: string } };
    };
    expect(next.value).toBe('apr-1');
    expect(next.text.text).toBe('At the next window');
    expect(next.confirm.text.text).toContain('next opening Mon 22:00 Europe/Oslo');
  });

  it('has only now / not now for a host without a window', () => {
    expect(buttonsOf(approvalQuestionMessage(base)).map((b) => b.action_id)).toEqual([
      APPROVE_ACTION_ID,
      DENY_ACTION_ID,
    ]);
  });

  it('once answered says when the restart happens and who approved it, without buttons', () => {
    const msg = approvalDeferredMessage({
      host: 'cafe-wall',
      question: base.question,
      nextWindow: 'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo',
      userId: 'U123',
      at: MONDAY_NOON,
    });
    expect(messageProblems(msg)).toEqual([]);
    expect(msg.text).toBe(
      'Restart of cafe-wall at the next window, Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo — approved by <@U123>',
    );
    expect(buttonsOf(msg)).toEqual([]);
    expect(JSON.stringify(msg.blocks)).toContain('approved by <@U123>');
  });
});
