// The Block Kit builders, checked against Slack's limits by the fake Slack's own checker (written from
// Slack's documentation, not from the builders' constants) and read the way a person reads them.
import { describe, expect, it } from 'vitest';
import type { EngineEvent, PlanSummary } from '../../src/core/events.ts';
import { EngineError, HostBusy } from '../../src/engine/errors.ts';
import {
  APPROVE_ACTION_ID,
  approvalDecidedMessage,
  approvalExpiredMessage,
  approvalQuestionMessage,
  DENY_ACTION_ID,
} from '../../src/slack/blocks/approval.ts';
import { deployProgressMessage } from '../../src/slack/blocks/deploy-progress.ts';
import { errorMessage } from '../../src/slack/blocks/error.ts';
import { progressBar } from '../../src/slack/blocks/format.ts';
import { foldProgress } from '../../src/slack/blocks/progress-state.ts';
import { failureMessage } from '../../src/slack/failure.ts';
import type { SlackMessage } from '../../src/verbs/verb.ts';
import { messageProblems } from '../support/fake-slack/block-limits.ts';

const runId = 'run-1';
const MiB = 1024 * 1024;

function plan(lanBytes: number, uplinkBytes: number): PlanSummary {
  return {
    totalPaths: 812,
    totalBytes: 2048 * MiB,
    presentPaths: 700,
    presentBytes: 2048 * MiB - lanBytes - uplinkBytes,
    sources: [
      { source: 'peer:lobby-1', paths: 100, bytes: lanBytes },
      { source: 'builder', paths: 12, bytes: uplinkBytes },
    ],
    lanBytes,
    uplinkBytes,
  };
}

/** The text a person sees: every text field of every block, in order. */
function visible(msg: SlackMessage): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') out.push(o.text);
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x);
    }
  };
  walk(msg.blocks);
  return out.join('\n');
}

function ok(msg: SlackMessage): void {
  expect(messageProblems({ text: msg.text, blocks: msg.blocks })).toEqual([]);
}

describe('deployProgressMessage', () => {
  const events: EngineEvent[] = [
    { type: 'run.started', runId, verb: 'deploy', hosts: ['lobby-1', 'baard-entrance', 'kantine'] },
    { type: 'stage.started', runId, host: 'lobby-1', stage: 'build' },
    { type: 'stage.finished', runId, host: 'lobby-1', stage: 'build', outcome: 'ok', durationMs: 42_000 },
    { type: 'stage.started', runId, host: 'baard-entrance', stage: 'build' },
    {
      type: 'stage.finished',
      runId,
      host: 'baard-entrance',
      stage: 'build',
      outcome: 'noop',
      durationMs: 300,
    },
    { type: 'plan.ready', runId, host: 'baard-entrance', summary: plan(300 * MiB, 20 * MiB) },
    { type: 'stage.started', runId, host: 'baard-entrance', stage: 'copy' },
    {
      type: 'stage.progress',
      runId,
      host: 'baard-entrance',
      stage: 'copy',
      source: 'peer:lobby-1',
      doneBytes: 150 * MiB,
      totalBytes: 300 * MiB,
    },
    {
      type: 'stage.progress',
      runId,
      host: 'baard-entrance',
      stage: 'copy',
      source: 'builder',
      doneBytes: 2 * MiB,
      totalBytes: 20 * MiB,
    },
    { type: 'stage.started', runId, host: 'kantine', stage: 'build' },
    {
      type: 'stage.finished',
      runId,
      host: 'kantine',
      stage: 'build',
      outcome: 'failed',
      durationMs: 5_000,
      detail: 'error: attribute "kantine" missing\n  at flake.nix:12',
    },
    { type: 'stage.finished', runId, host: 'kantine', stage: 'switch', outcome: 'skipped', durationMs: 0 },
  ];

  it('shows each host with its stages, the failed host first, then the one still copying', () => {
    const msg = deployProgressMessage(events);
    ok(msg);
    const text = visible(msg);
    expect(text).toContain('Deploy · 3 hosts');
    const lines = text.split('\n');
    const at = (host: string) => lines.findIndex((l) => l.startsWith(`*${host}*`));
    expect(at('kantine')).toBeLessThan(at('baard-entrance'));
    expect(at('baard-entrance')).toBeLessThan(at('lobby-1'));
    expect(lines[at('kantine')]).toBe('*kantine*  ✗ build 5 s · – switch 0 ms');
    expect(text).toContain('    ✗ build: error: attribute "kantine" missing ⏎ at flake.nix:12');
    expect(lines[at('baard-entrance')]).toBe('*baard-entrance*  ✓ build (nothing to do) 300 ms · … copy');
    expect(lines[at('lobby-1')]).toBe('*lobby-1*  ✓ build 42 s — 42 s');
  });

  it('says what the plan moves from peers and over the uplink, with a bar per copy source', () => {
    const text = visible(deployProgressMessage(events));
    expect(text).toContain('plan: 300 MiB from peers, 20 MiB over the uplink');
    expect(text).toContain(
      '    plan: 2 GiB in 812 paths, 1.7 GiB present · 300 MiB from peers · 20 MiB over the uplink',
    );
    expect(text).toContain(`\`${progressBar(1, 2)}\` 150 MiB / 300 MiB (50%) from lobby-1 (LAN)`);
    expect(text).toContain(`\`${progressBar(1, 10)}\` 2 MiB / 20 MiB (10%) from builder (uplink)`);
    expect(text).toContain('1 failed, 1 running, 1 done');
  });

  it('drops the bars once the copy is done, and says when the run is finished', () => {
    const more: EngineEvent[] = [
      ...events,
      {
        type: 'stage.finished',
        runId,
        host: 'baard-entrance',
        stage: 'copy',
        outcome: 'ok',
        durationMs: 61_000,
        bytes: 320 * MiB,
      },
      { type: 'run.finished', runId, outcome: 'failed' },
    ];
    const msg = deployProgressMessage(more);
    const text = visible(msg);
    expect(text).not.toContain('█');
    expect(text).toContain('✓ copy 320 MiB, 1 min 1 s');
    expect(msg.text).toBe('Deploy · 3 hosts: 1 failed, 2 done — finished with failures');
  });

  function fleet(count: number): { hosts: string[]; events: EngineEvent[] } {
    const hosts = Array.from(
      { length: count },
      (_, i) => `signage-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`,
    );
    const many: EngineEvent[] = [{ type: 'run.started', runId, verb: 'deploy', hosts }];
    hosts.forEach((host, i) => {
      many.push({ type: 'stage.started', runId, host, stage: 'build' });
      many.push({ type: 'plan.ready', runId, host, summary: plan(i * MiB, MiB) });
      if (i % 7 === 0) {
        many.push({
          type: 'stage.finished',
          runId,
          host,
          stage: 'build',
          outcome: 'failed',
          durationMs: 1000,
          detail: `boom ${'e'.repeat(2000)}`,
        });
      } else if (i % 3 === 0) {
        many.push({
          type: 'stage.progress',
          runId,
          host,
          stage: 'copy',
          source: 'peer:lobby-1',
          doneBytes: i,
          totalBytes: 400,
        });
        many.push({
          type: 'stage.progress',
          runId,
          host,
          stage: 'copy',
          source: 'builder',
          doneBytes: i,
          totalBytes: 400,
        });
      } else {
        many.push({ type: 'stage.finished', runId, host, stage: 'build', outcome: 'ok', durationMs: 1000 });
      }
    });
    return { hosts, events: many };
  }

  it('fits 200 hosts in one message, failures first', () => {
    const { hosts, events: many } = fleet(200);
    const msg = deployProgressMessage(many);
    ok(msg);
    // Room is left for one note more (run-messages adds one when a question waits).
    expect((msg.blocks ?? []).length).toBeLessThanOrEqual(49);
    const text = visible(msg);
    const lines = text.split('\n').filter((l) => l.startsWith('*signage-'));
    expect(lines).toHaveLength(200);
    const failed = hosts.filter((_, i) => i % 7 === 0);
    expect(lines.slice(0, failed.length).map((l) => l.split('*')[1])).toEqual(failed);
    expect(text).toContain('29 failed, 57 running, 114 done');
  });

  it('says how many hosts it left out when even packed lines do not fit', () => {
    const { hosts, events: many } = fleet(1000);
    const msg = deployProgressMessage(many);
    ok(msg);
    expect((msg.blocks ?? []).length).toBeLessThanOrEqual(49);
    const text = visible(msg);
    const shown = hosts.filter((h) => text.includes(`*${h}*`));
    const left = /…and (\d+) more hosts: (.*)\./.exec(text);
    expect(left).not.toBeNull();
    expect(shown.length).toBeGreaterThan(100);
    expect(shown.length + Number(left?.[1])).toBe(1000);
    // Every failure is among those shown, ahead of the rest.
    expect(hosts.filter((_, i) => i % 7 === 0).every((h) => shown.includes(h))).toBe(true);
  });

  it('counts hosts left out after a failed canary as skipped, not done', () => {
    const skip = (host: string, stage: 'plan' | 'copy' | 'switch'): EngineEvent => ({
      type: 'stage.finished',
      runId,
      host,
      stage,
      outcome: 'skipped',
      durationMs: 0,
      detail: 'canary lobby-1 failed',
    });
    const msg = deployProgressMessage([
      { type: 'run.started', runId, verb: 'deploy', hosts: ['lobby-1', 'lobby-2'] },
      { type: 'stage.started', runId, host: 'lobby-1', stage: 'copy' },
      { type: 'stage.finished', runId, host: 'lobby-1', stage: 'copy', outcome: 'failed', durationMs: 5 },
      skip('lobby-2', 'plan'),
      skip('lobby-2', 'copy'),
      skip('lobby-2', 'switch'),
      { type: 'run.finished', runId, outcome: 'failed' },
    ]);
    expect(msg.text).toContain('1 failed, 1 skipped');
    expect(msg.text).not.toContain('done');
  });

  it('renders a run with no events yet', () => {
    const msg = deployProgressMessage([]);
    ok(msg);
    expect(msg.text).toBe('Run · 0 hosts: nothing yet');
  });

  it('escapes host names and details so they cannot mention or link', () => {
    const msg = deployProgressMessage([
      { type: 'run.started', runId, verb: 'switch', hosts: ['<!channel>'] },
      {
        type: 'stage.finished',
        runId,
        host: '<!channel>',
        stage: 'switch',
        outcome: 'failed',
        durationMs: 1,
        detail: '<@U123> & <http://x>',
      },
    ]);
    const text = visible(msg);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;@U123&gt; &amp; &lt;http://x&gt;');
  });
});

describe('foldProgress', () => {
  it('marks a host waiting for an approver until the restart starts', () => {
    const asked: EngineEvent[] = [
      { type: 'run.started', runId, verb: 'deploy', hosts: ['a'] },
      { type: 'stage.finished', runId, host: 'a', stage: 'switch', outcome: 'ok', durationMs: 10 },
      {
        type: 'approval.requested',
        runId,
        approvalId: 'ap1',
        host: 'a',
        question: 'Restart?',
        expiresAt: '2025-01-01T00:00:00Z',
      },
    ];
    expect(foldProgress(asked).hosts[0]?.status).toBe('waiting-approval');
    const restarting = foldProgress([
      ...asked,
      { type: 'stage.started', runId, host: 'a', stage: 'restart' },
    ]);
    expect(restarting.hosts[0]?.status).toBe('running');
  });
});

describe('approval messages', () => {
  const question = approvalQuestionMessage({
    approvalId: '01JAPPROVAL0001',
    host: 'baard-entrance',
    question: 'Restart the display manager on baard-entrance?',
    expiresAt: new Date('2025-11-25T11:00:00Z'),
    requestedBy: 'UALICE',
  });

  it('asks with "Restart now" (primary) and "Not now", both carrying the approval id', () => {
    ok(question);
    const actions = (question.blocks ?? []).find((b) => b.type === 'actions') as {
      elements: Record<string, unknown>[];
    };
    expect(actions.elements).toEqual([
      expect.objectContaining({
        action_id: APPROVE_ACTION_ID,
        value: '01JAPPROVAL0001',
        style: 'primary',
        text: expect.objectContaining({ text: 'Restart now' }),
      }),
      expect.objectContaining({
        action_id: DENY_ACTION_ID,
        value: '01JAPPROVAL0001',
        text: expect.objectContaining({ text: 'Not now' }),
      }),
    ]);
    expect(actions.elements[1]).not.toHaveProperty('style');
    expect(APPROVE_ACTION_ID).toBe('restart_approve');
    expect(DENY_ACTION_ID).toBe('restart_deny');
    const text = visible(question);
    expect(text).toContain('*Restart the display manager on baard-entrance?*');
    expect(text.match(/Restart the display/g)).toHaveLength(1);
    expect(text).toContain("<@UALICE>'s run");
    expect(text).toContain('<!date^1764068400^');
  });

  it('says who answered and when once decided, without buttons', () => {
    const decided = approvalDecidedMessage({
      host: 'baard-entrance',
      question: 'Restart it now?',
      decision: 'denied',
      userId: 'UBOB',
      at: new Date('2025-11-25T10:30:00Z'),
    });
    ok(decided);
    expect((decided.blocks ?? []).some((b) => b.type === 'actions')).toBe(false);
    expect(visible(decided)).toContain('declined* (not now) by <@UBOB> at <!date^1764066600^');
    const fromTerminal = approvalDecidedMessage({
      host: 'h',
      question: 'q',
      decision: 'approved',
      userId: '',
      by: 'ops@builder',
      at: new Date(0),
    });
    expect(fromTerminal.text).toBe('Restart of h approved by ops@builder');
  });

  it('says when it expired, without buttons', () => {
    const expired = approvalExpiredMessage({
      host: 'baard-entrance',
      question: 'Restart?',
      expiredAt: new Date('2025-11-25T11:00:00Z'),
    });
    ok(expired);
    expect((expired.blocks ?? []).some((b) => b.type === 'actions')).toBe(false);
    expect(visible(expired)).toMatch(/question expired <!date\^1764068400\^.*nothing was restarted/);
  });

  it('keeps a very long question within the limits', () => {
    ok(
      approvalQuestionMessage({
        approvalId: 'a'.repeat(128),
        host: 'h'.repeat(300),
        question: 'q'.repeat(10_000),
        expiresAt: new Date(),
      }),
    );
  });
});

describe('errorMessage', () => {
  it('keeps a huge error detail within the limits, escaped, with what to do next', () => {
    const detail = `${'<stderr> & ``` '.repeat(10_000)}\nlast line`;
    const msg = errorMessage({
      summary: 'The copy to baard-entrance failed.',
      detail,
      next: 'Run `/signage plan baard-entrance`.',
    });
    ok(msg);
    const text = visible(msg);
    expect(text).toContain('⚠️ *The copy to baard-entrance failed.*');
    expect(text).toContain('&lt;stderr&gt; &amp;');
    expect(text).toContain('Run `/signage plan baard-entrance`.');
    expect(msg.text).toBe('The copy to baard-entrance failed.');
  });

  it('leaves out empty parts', () => {
    const msg = errorMessage({ summary: 'Nope.', detail: '  ', next: '' });
    ok(msg);
    expect(msg.blocks).toHaveLength(1);
  });

  it('never shows a token, whichever part carries it', () => {
    const token = 'xoxb-1111-2222-aVeryRealLookingSecret';
    const msg = errorMessage({
      summary: `An API call with ${token} failed.`,
      detail: `POST https://slack.example/api failed: authorization: Bearer ${token}`,
      next: `Check ${token}.`,
    });
    ok(msg);
    expect(JSON.stringify(msg)).not.toContain('aVeryRealLookingSecret');
    expect(visible(msg)).toContain('authorization: Bearer [redacted]');
    expect(msg.text).toBe('An API call with [redacted] failed.');
  });
});

describe('failureMessage', () => {
  const token = 'xapp-1-A0FAKE-3333-anotherSecretValue';
  const at = { typed: '/signage deploy baard-entrance', prefix: '/signage' };

  it('shows no token from an error, expected or not', () => {
    for (const error of [
      new Error(`socket closed: ${token}`),
      new EngineError(`ssh said ${token}`, `rerun with ${token}`),
      new HostBusy(`baard-entrance is being deployed by <@U0ALICE> (${token})`),
    ]) {
      const msg = failureMessage(error, at);
      ok(msg);
      expect(JSON.stringify(msg)).not.toContain('anotherSecretValue');
      expect(JSON.stringify(msg)).toContain('[redacted]');
    }
    // A busy host still names who holds it, as a mention.
    expect(visible(failureMessage(new HostBusy('being deployed by <@U0ALICE>'), at))).toContain('<@U0ALICE>');
  });
});
