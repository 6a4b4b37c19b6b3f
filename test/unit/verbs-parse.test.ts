// What a person typing a command is told when it does not parse: the whole value echoed, the nearest flag,
// verb or host, and the part that is wrong named for what it is.
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/verbs/parse.ts';
import { verbs } from '../../src/verbs/registry.ts';

const parse = (text: string) => parseCommand(verbs, text.split(' '), 'signage');
const message = (text: string) => {
  const r = parse(text);
  if (r.ok) throw new Error(`${text} parsed`);
  return r.message;
};

describe('parsing a command', () => {
  it('takes comma-separated hosts as several hosts', () => {
    const r = parse('deploy baard-entrance,baard-kitchen @lobby');
    expect(r.ok && r.args).toEqual({
      targets: ['baard-entrance', 'baard-kitchen', '@lobby'],
      dryRun: false,
      ref: null,
      restart: undefined,
      now: false,
    });
  });

  it('takes --now on deploy, switch and restart only', () => {
    const d = parse('deploy lobby --now');
    expect(d.ok && d.args).toMatchObject({ targets: ['lobby'], now: true });
    const s = parse('switch lobby --now');
    expect(s.ok && s.args).toMatchObject({ targets: ['lobby'], now: true });
    const r = parse('restart lobby --now --yes');
    expect(r.ok && r.args).toMatchObject({ targets: ['lobby'], now: true, yes: true });
    expect(message('copy lobby --now')).toContain("Unknown option '--now'");
  });

  it('echoes a refused host word whole, however long', () => {
    const long = `baard-${'x'.repeat(70)}`;
    expect(message(`deploy baard-entrance,${long}`)).toContain(`host 2: ${JSON.stringify(long)} is longer`);
    const odd = 'baard-entrance;reboot-the-whole-office-now-please';
    expect(message(`deploy ${odd}`)).toContain(`got ${JSON.stringify(odd)}`);
  });

  it('points at the lower-case name for a host typed in capitals', () => {
    expect(message('deploy Baard-Entrance')).toContain(
      'got "Baard-Entrance"; host names are lower case: baard-entrance',
    );
  });

  it('suggests the flag meant, and lists the verb’s flags', () => {
    const m = message('deploy baard-entrance --no-restrat');
    expect(m).toContain("Unknown option '--no-restrat' (did you mean --no-restart?)");
    expect(m).toContain('flags here: --restart, --no-restart, --ref, --now, --dry-run');
    expect(m).toContain('usage: signage deploy');
  });

  it('says what is wrong with a verb name given to help', () => {
    const m = message('help ../x');
    expect(m).toContain('verb: expected the name of a verb, got "../x"');
    expect(m).not.toContain('host');
  });
});
