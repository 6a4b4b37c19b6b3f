// `help [VERB]`: what the bot can do, generated from the verbs themselves so it cannot drift from them.
import { z } from 'zod';
import { nearest } from '../src/core/targets.ts';
import { code, escapeMrkdwn, header, message, section } from '../src/slack/blocks/kit.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { UsageError } from '../src/verbs/usage-error.ts';

interface HelpEntry {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly access: string;
}

function text(entries: readonly HelpEntry[]): string {
  const width = Math.max(...entries.map((e) => `${e.name} ${e.usage}`.length));
  return entries.map((e) => `${`${e.name} ${e.usage}`.padEnd(width)}  ${e.summary}`).join('\n');
}

export default defineVerb({
  name: 'help',
  summary: 'list the verbs, or explain one',
  usage: '[verb]',
  access: 'view',
  offline: true,
  positional: 'verb',
  options: {},
  schema: z
    .object({
      positionals: z
        .array(
          z.string().regex(/^[a-z]{1,20}$/, {
            error: (issue) => `expected the name of a verb, got ${JSON.stringify(issue.input)}`,
          }),
        )
        .max(1, { error: 'name one verb at most' }),
      values: z.object({}).strict(),
    })
    .transform(({ positionals }) => ({ verb: positionals[0] })),
  run: async (_ctx, args) => {
    // Imported when run: the registry imports this file.
    const { verbs } = await import('../src/verbs/registry.ts');
    const chosen = args.verb ? verbs.filter((v) => v.name === args.verb) : verbs;
    if (chosen.length === 0) {
      const names = verbs.map((v) => v.name);
      const near = nearest(args.verb ?? '', names);
      throw new UsageError(
        `no verb ${args.verb}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}; verbs: ${names.join(', ')}`,
      );
    }
    return chosen.map(
      (v): HelpEntry => ({ name: v.name, usage: v.usage, summary: v.summary, access: v.access }),
    );
  },
  exitCode: () => 0,
  renderText: text,
  renderJson: (entries) => entries,
  renderSlack: (entries) =>
    message('signage help', [
      header('/signage'),
      section(code(escapeMrkdwn(text(entries)))),
      section('Ask me in a channel too: `@signage status`, or "what is running on baard-entrance?"'),
    ]),
});
