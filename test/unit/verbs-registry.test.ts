// One verb, one file in commands/, one entry in the registry, one name in the manifest's /signage hint and
// its help: nothing checks a verb declared in two places unless a test does.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MENTION_VERBS } from '../../src/slack/mention-handler.ts';
import { CHANNEL_VERBS } from '../../src/slack/slash-handler.ts';
import type { AnyVerb } from '../../src/verbs/parse.ts';
import { verbs } from '../../src/verbs/registry.ts';

const commandsDir = new URL('../../commands/', import.meta.url);
const files = readdirSync(commandsDir).filter((f) => f.endsWith('.ts'));
const manifest = parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as {
  features: { slash_commands: { command: string; usage_hint: string; description: string }[] };
};

describe('the verbs', () => {
  it('are the same set in commands/, in the registry and in the manifest', async () => {
    const fromFiles = await Promise.all(
      files.map(
        async (f) => ((await import(new URL(f, commandsDir).href)) as { default: AnyVerb }).default.name,
      ),
    );
    const registered = verbs.map((v) => v.name);
    const hint = manifest.features.slash_commands.find((c) => c.command === '/signage')?.usage_hint ?? '';
    const advertised = hint.split(' ')[0]!.split('|');
    expect(new Set(fromFiles)).toEqual(new Set(registered));
    expect(new Set(advertised)).toEqual(new Set(registered));
    expect(registered).toHaveLength(new Set(registered).size);
  });

  it('each live in a file named for the verb', async () => {
    for (const f of files) {
      const verb = ((await import(new URL(f, commandsDir).href)) as { default: AnyVerb }).default;
      expect(f).toBe(`${verb.name}.ts`);
    }
  });

  it('include every verb the Slack front end treats specially', () => {
    const names = new Set(verbs.map((v) => v.name));
    for (const name of [...CHANNEL_VERBS, ...MENTION_VERBS]) expect(names).toContain(name);
    // What a mention may run is read-only.
    for (const name of MENTION_VERBS) expect(verbs.find((v) => v.name === name)?.access).toBe('view');
  });

  it('are listed by help, each with its usage and summary', async () => {
    const help = verbs.find((v) => v.name === 'help')!;
    const entries = (await help.run({} as never, { verb: undefined })) as { name: string }[];
    expect(entries.map((e) => e.name)).toEqual(verbs.map((v) => v.name));
  });
});
