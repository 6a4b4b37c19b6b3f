import { describe, expect, it } from 'vitest';
import { diffClosures } from '../../src/core/closure-diff.ts';
import type { EngineEvent, PlanSummary } from '../../src/core/events.ts';
import { approvalQuestionMessage } from '../../src/slack/blocks/approval.ts';
import { diffProgressLine, diffThreadMessage } from '../../src/slack/blocks/closure-diff.ts';
import { deployProgressMessage } from '../../src/slack/blocks/deploy-progress.ts';
import type { SlackMessage } from '../../src/verbs/verb.ts';
import { messageProblems } from '../support/fake-slack/block-limits.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const MiB = 1024 * 1024;
const to = storePathFor('new', 'nixos-system-baard-entrance-26.05.2.signage');
const from = storePathFor('old', 'nixos-system-baard-entrance-26.05.1.signage');
const plan: PlanSummary = {
  totalPaths: 40,
  totalBytes: 80 * MiB,
  presentPaths: 30,
  presentBytes: 50 * MiB,
  sources: [],
  lanBytes: 21 * MiB,
  uplinkBytes: 9 * MiB,
};

function diffOf(n: number, nameLength = 12) {
  const before = [];
  const after = [];
  for (let i = 0; i < n; i++) {
    const name = `p${String(i).padStart(nameLength, 'x')}_lib`;
    before.push({ path: storePathFor(`a${i}`, `${name}-1.${i}`), narSize: i * 1000 });
    after.push({ path: storePathFor(`b${i}`, `${name}-2.${i}`), narSize: i * 1000 + 50_000 });
  }
  return { known: true as const, diff: diffClosures(before, after, { from, to }) };
}

function text(m: SlackMessage): string {
  return JSON.stringify(m.blocks);
}

describe('closure diff in Slack', () => {
  it('lists every change in the thread when they fit, in code so names keep their underscores', () => {
    const msg = diffThreadMessage('baard-entrance', diffOf(30), plan);
    expect(messageProblems(msg)).toEqual([]);
    expect(text(msg)).toContain('30 upgraded');
    expect(text(msg)).toContain('21 MiB from peers over the LAN, 9 MiB over the uplink');
    for (let i = 0; i < 30; i++) expect(text(msg)).toContain(`_lib: 1.${i} → 2.${i}`);
    expect(text(msg)).not.toContain('more:');
  });

  it('stays within Block Kit limits for thousands of long names, saying how many it left out', () => {
    const msg = diffThreadMessage('baard-entrance', diffOf(6000, 180), plan);
    expect(messageProblems(msg)).toEqual([]);
    expect(msg.blocks!.length).toBeLessThanOrEqual(50);
    expect(text(msg)).toMatch(/…and \d+ more: `signage plan baard-entrance --json` lists every change/);
  });

  it('collapses the run message to the biggest changes', () => {
    const d = diffOf(10);
    expect(diffProgressLine(d)).toMatch(/^changes: 10 upgraded .* — `p.*`, `p.*`, `p.*`, \+7 more$/);
    const events: EngineEvent[] = [
      { type: 'run.started', runId: 'r1', verb: 'deploy', hosts: ['baard-entrance'] },
      { type: 'plan.ready', runId: 'r1', host: 'baard-entrance', summary: plan },
      { type: 'diff.ready', runId: 'r1', host: 'baard-entrance', diff: diffOf(6000, 180) },
    ];
    const msg = deployProgressMessage(events);
    expect(messageProblems(msg)).toEqual([]);
    expect(text(msg)).toContain('changes: 6000 upgraded');
  });

  it('says why when the changes are unknown', () => {
    const d = { known: false as const, from, to, reason: 'baard-entrance could not describe it' };
    expect(diffProgressLine(d)).toBe('changes: changes unknown: baard-entrance could not describe it');
    expect(messageProblems(diffThreadMessage('baard-entrance', d, undefined))).toEqual([]);
  });

  it('puts the changes and the planner totals in the restart question, within limits', () => {
    const q = {
      approvalId: 'a1',
      host: 'baard-entrance',
      question: 'Restart the display manager on baard-entrance?',
      expiresAt: new Date('2026-01-01T10:00:00Z'),
    };
    const plain = approvalQuestionMessage(q);
    const withChanges = approvalQuestionMessage({ ...q, changes: { diff: diffOf(6000, 180), plan } });
    expect(messageProblems(withChanges)).toEqual([]);
    expect(text(withChanges)).toContain('What changes:');
    expect(text(withChanges)).toContain('…and 5992 more changes in the run');
    expect(text(withChanges)).toContain('Copied: 21 MiB from peers over the LAN');
    expect(text(plain)).not.toContain('What changes');
    // The buttons stay last.
    expect(withChanges.blocks!.at(-1)!.type).toBe('actions');
  });
});
