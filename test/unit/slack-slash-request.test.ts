// What is decided about a /signage request before it is acknowledged: the parse, the permission and the hosts.
// Each refusal says what was wrong and what to do; an accepted request carries the verb and its arguments.
import { describe, expect, it } from 'vitest';
import { resolveTargets } from '../../src/core/targets.ts';
import type { HostSpec } from '../../src/core/types.ts';
import { prepareRequest } from '../../src/slack/slash-request.ts';
import { verbs } from '../../src/verbs/registry.ts';
import type { SlackMessage } from '../../src/verbs/verb.ts';
import { messageProblems } from '../support/fake-slack/index.ts';

const host = (name: string, tags: string[] = []): HostSpec => ({
  name,
  address: name,
  lanAddress: name,
  port: 22,
  user: 'root',
  site: 'baard',
  tags,
  restartCommand: ['systemctl', 'restart', 'display-manager.service'],
});
const hosts = [host('baard-entrance', ['lobby']), host('baard-kitchen')];
const options = {
  verbs,
  policy: { deployers: ['U0ALICE'], viewers: 'everyone' as const, channels: [] },
  resolve: (selectors: readonly string[]) => resolveTargets(selectors, hosts),
};
const alice = { userId: 'U0ALICE', channelId: 'C0SIGNAGE' };
const victor = { userId: 'U0VICTOR', channelId: 'C0SIGNAGE' };

function refusal(text: string, who = alice): SlackMessage {
  const prepared = prepareRequest(text, who, options);
  if (prepared.ok) throw new Error(`${text} was accepted`);
  expect(messageProblems(prepared.refusal)).toEqual([]);
  return prepared.refusal;
}
const shown = (m: SlackMessage) => JSON.stringify(m.blocks);

describe('prepareRequest', () => {
  it('accepts a valid request with its verb and typed arguments', () => {
    const prepared = prepareRequest('deploy @lobby --dry-run', alice, options);
    expect(prepared).toMatchObject({
      ok: true,
      typed: '/signage deploy @lobby --dry-run',
      args: { targets: ['@lobby'], dryRun: true },
    });
    expect(prepared.ok && prepared.verb.name).toBe('deploy');
  });

  it('suggests the verb meant by a typo, and the help', () => {
    const m = refusal('deplyo baard-entrance');
    expect(m.text).toBe('/signage deplyo baard-entrance was not run.');
    expect(shown(m)).toContain('did you mean deploy');
    expect(shown(m)).toContain('`/signage help` lists what the bot can do.');
  });

  it('names the bad part of the arguments and gives the usage', () => {
    const m = refusal('deploy baard-entrance;reboot');
    expect(shown(m)).toContain('expected a host name, @tag or all');
    expect(shown(m)).toContain('usage: /signage deploy');
    expect(shown(refusal('status --force'))).toContain("Unknown option '--force'");
  });

  it('refuses a viewer a verb that changes hosts, before looking at the hosts', () => {
    const m = refusal('deploy no-such-host', victor);
    expect(m.text).toBe(
      '/signage deploy no-such-host was not run. Only deployers can run commands that change the screens.',
    );
  });

  it('takes `help` from anyone, even when only listed viewers may ask about the screens', () => {
    const listed = { ...options, policy: { ...options.policy, viewers: ['U0VIEW'] } };
    const help = prepareRequest('help', victor, listed);
    expect(help.ok && help.verb.name).toBe('help');
    expect(prepareRequest('help deploy', victor, listed).ok).toBe(true);
    const status = prepareRequest('status', victor, listed);
    expect(status.ok).toBe(false);
    expect(!status.ok && status.refusal.text).toContain('Only viewers and deployers can ask');
  });

  it('names the nearest hosts and tags for an unknown one', () => {
    expect(shown(refusal('deploy baard-kitchn'))).toContain('did you mean baard-kitchen');
    expect(shown(refusal('status @lobb'))).toContain('did you mean @lobby');
  });

  it('escapes what was typed, so a request cannot mention @channel or link anywhere', () => {
    const m = refusal('deploy <!channel> <https://evil.example|x>');
    expect(shown(m)).not.toMatch(/<!channel>|<https:/);
    expect(shown(m)).toContain('&lt;!channel&gt;');
  });
});
