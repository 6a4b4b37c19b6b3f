// An open question drawn again from its record (the two-person rule's tally, also after the bot restarted)
// keeps the buttons it was first posted with: its action's words, and "At the next window" for a host with one.
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../src/core/ports/state.ts';
import { redrawnQuestion } from '../../src/slack/decisions.ts';

const at = new Date('2026-12-07T17:00:00Z');
const record = (action: 'restart' | 'reboot'): ApprovalRecord => ({
  id: 'q1',
  runId: 'r1',
  host: 'cafe-wall',
  action,
  question: action === 'reboot' ? 'Reboot cafe-wall?' : 'Restart the display manager on cafe-wall?',
  requestedBy: { kind: 'slack', userId: 'U0BOB' },
  createdAt: at,
  expiresAt: new Date(at.getTime() + 1_800_000),
  status: 'pending',
  decidedBy: null,
  decidedAt: null,
  slack: { channel: 'C1', ts: '1.1' },
});
const buttonsOf = (blocks: unknown) =>
  (blocks as { type: string; elements?: { action_id: string; text: { text: string } }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);
const WINDOW = 'Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo';
const RULE = { rule: { required: 2, requesterMayApprove: false }, approvedBy: ['U0ALICE'] };

describe('a question redrawn from its record', () => {
  it('a reboot question keeps "Reboot now" and "At the next window", with the tally', () => {
    const msg = redrawnQuestion(record('reboot'), { nextWindow: WINDOW, ...RULE });
    expect(buttonsOf(msg.blocks).map((b) => [b.action_id, b.text.text])).toEqual([
      ['restart_approve', 'Reboot now'],
      ['restart_next_window', 'At the next window'],
      ['restart_deny', 'Not now'],
    ]);
    expect(JSON.stringify(msg.blocks)).toContain('1 of 2 approvals');
    expect(JSON.stringify(msg.blocks)).toContain('Reboot cafe-wall later?');
  });

  it('a restart question keeps its window button; a host without a window gets none', () => {
    const withWindow = redrawnQuestion(record('restart'), { nextWindow: WINDOW, ...RULE });
    expect(buttonsOf(withWindow.blocks).map((b) => b.text.text)).toEqual([
      'Restart now',
      'At the next window',
      'Not now',
    ]);
    const without = redrawnQuestion(record('restart'), { nextWindow: undefined, ...RULE });
    expect(buttonsOf(without.blocks).map((b) => b.action_id)).toEqual(['restart_approve', 'restart_deny']);
  });
});
