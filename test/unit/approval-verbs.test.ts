// `restart` and `reboot` take the same arguments and treat the approval alike: `--yes` answers up front, an
// interactive front end asks, and where nobody can be asked without `--yes` the command is refused before
// the engine is called. The engine here only records what it was asked to do (pure argument handling).
import { describe, expect, it } from 'vitest';
import rebootVerb from '../../commands/reboot.ts';
import restartVerb from '../../commands/restart.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { parseCommand } from '../../src/verbs/parse.ts';
import { verbs } from '../../src/verbs/registry.ts';
import { UsageError } from '../../src/verbs/usage-error.ts';
import type { VerbContext } from '../../src/verbs/verb.ts';

function recordingContext(canAsk: boolean) {
  const calls: { method: string; targets: readonly string[]; opts: unknown }[] = [];
  const record =
    (method: string) =>
    async (targets: readonly string[], opts: unknown): Promise<never> => {
      calls.push({ method, targets, opts });
      return undefined as never;
    };
  const engine = { restart: record('restart'), reboot: record('reboot') } as unknown as Engine;
  const ctx: VerbContext<Engine> = {
    engine,
    actor: { kind: 'cli', user: 'tester' },
    onEvent: () => {},
    signal: new AbortController().signal,
    canAsk,
  };
  return { ctx, calls };
}

function parsed(text: string) {
  const r = parseCommand(verbs, text.split(' '), 'signage');
  if (!r.ok) throw new Error(r.message);
  return r.args as never;
}

describe.each([
  ['restart', restartVerb],
  ['reboot', rebootVerb],
] as const)('%s', (name, verb) => {
  it('has the usage and flags of an approved action', () => {
    expect(verb.usage).toBe('<host|@tag|all>... [--yes] [--now]');
    expect(Object.keys(verb.options).sort()).toEqual(['now', 'yes']);
    expect(parsed(`${name} lobby,@cafe --yes --now`)).toEqual({
      targets: ['lobby', '@cafe'],
      yes: true,
      now: true,
    });
    expect(parsed(`${name} lobby`)).toEqual({ targets: ['lobby'], yes: false, now: false });
    const none = parseCommand(verbs, [name], 'signage');
    expect(none.ok ? '' : none.message).toContain('name a host, @tag or all');
  });

  it('answers yes up front with --yes, even where nobody can be asked', async () => {
    const { ctx, calls } = recordingContext(false);
    await verb.run(ctx, parsed(`${name} lobby --yes --now`));
    expect(calls).toEqual([
      { method: name, targets: ['lobby'], opts: { [name]: 'yes', ignoreWindow: true } },
    ]);
  });

  it('asks where a person can be asked', async () => {
    const { ctx, calls } = recordingContext(true);
    await verb.run(ctx, parsed(`${name} lobby`));
    expect(calls).toEqual([
      { method: name, targets: ['lobby'], opts: { [name]: 'ask', ignoreWindow: false } },
    ]);
  });

  it('is refused before the engine is called where nobody can be asked and --yes is missing', () => {
    const { ctx, calls } = recordingContext(false);
    expect(() => verb.run(ctx, parsed(`${name} lobby`))).toThrow(
      new UsageError(
        `nobody to ask here: pass --yes to ${name}, or ask from Slack or an interactive terminal`,
      ),
    );
    expect(calls).toEqual([]);
  });
});
