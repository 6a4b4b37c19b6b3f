// `hosts`: the fleet as the bot sees it: each host's address, LAN address, site, tags and SSH user.
import { z } from 'zod';
import type { HostSpec } from '../src/core/types.ts';
import { code, escapeMrkdwn, header, message, section } from '../src/slack/blocks/kit.ts';
import { noPositionals } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';

function line(h: HostSpec): string {
  const lan = h.lanAddress === h.address ? '' : ` (LAN ${h.lanAddress})`;
  const tags = h.tags.length > 0 ? ` ${h.tags.map((t) => `@${t}`).join(' ')}` : '';
  return `${h.name}  ${h.user}@${h.address}:${h.port}${lan}  site ${h.site}${tags}`;
}

export default defineVerb({
  name: 'hosts',
  summary: 'list the hosts with their addresses, sites and tags',
  usage: '',
  access: 'view',
  options: {},
  schema: z.object({ positionals: noPositionals, values: z.object({}).strict() }).transform(() => ({})),
  run: async (ctx) => ctx.engine.hosts,
  exitCode: () => 0,
  renderText: (hosts) => hosts.map(line).join('\n') || 'no hosts: the flake has no nixosConfigurations',
  renderJson: (hosts) => hosts,
  renderSlack: (hosts) =>
    message(`${hosts.length} hosts`, [
      header(`${hosts.length} hosts`),
      section(code(hosts.map((h) => escapeMrkdwn(line(h))).join('\n'))),
    ]),
});
