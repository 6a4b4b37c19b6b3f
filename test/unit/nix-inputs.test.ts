import { describe, expect, it } from 'vitest';
import { parseNixVersion } from '../../src/adapters/nix/closure.ts';
import { nixSshOpts } from '../../src/adapters/nix/copy-to.ts';
import { checkAttrName, checkFlakeRef, toplevelInstallable } from '../../src/adapters/nix/inputs.ts';
import { describeCommand } from '../../src/adapters/nix/run.ts';

describe('flake references and host attributes', () => {
  it('quotes the host as one attribute of nixosConfigurations', () => {
    expect(toplevelInstallable('path:/srv/fleet', 'baard-entrance')).toBe(
      'path:/srv/fleet#nixosConfigurations."baard-entrance".config.system.build.toplevel',
    );
  });

  it.each(['', ' path:/x', 'path:/x#foo', '-L', 'git+https://x/y?ref=a b'])(
    'refuses flake reference %j',
    (ref) => {
      expect(checkFlakeRef(ref).ok).toBe(false);
    },
  );

  it.each(['a"b', 'a b', '-x', '', 'a\nb', 'x'.repeat(200)])('refuses host attribute %j', (name) => {
    expect(checkAttrName(name).ok).toBe(false);
  });

  it.each(['baard-entrance', 'pi3', 'Kiosk_2', 'a.b'])('accepts host attribute %j', (name) => {
    expect(checkAttrName(name)).toEqual({ ok: true, value: name });
  });
});

describe('nixSshOpts', () => {
  it('asks for strict host keys from the given file, batch mode and the port', () => {
    expect(nixSshOpts({ knownHostsFile: '/var/lib/signage/known_hosts' }, 2222)).toBe(
      '-o UserKnownHostsFile=/var/lib/signage/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ForwardAgent=no -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p 2222',
    );
    expect(nixSshOpts({ knownHostsFile: '/k', identityFile: '/id' }, 22)).toContain(
      '-i /id -o IdentitiesOnly=yes',
    );
  });

  it.each(['/var/lib/my hosts', "/k'", '/k"x', 'relative/known_hosts'])(
    'refuses a known_hosts path Nix would split: %j',
    (file) => {
      expect(() => nixSshOpts({ knownHostsFile: file }, 22)).toThrow(/known_hosts/);
    },
  );
});

describe('parseNixVersion', () => {
  it.each([
    ['nix (Nix) 2.8.0', 'Nix', [2, 8, 0], '2.8.0'],
    ['nix (Nix) 2.31.2', 'Nix', [2, 31, 2], '2.31.2'],
    ['nix (Lix, like Nix) 2.91.1', 'Lix, like Nix', [2, 91, 1], '2.91.1'],
    ['nix (Determinate Nix 3.6.2) 2.29.0', 'Determinate Nix 3.6.2', [2, 29, 0], '2.29.0'],
    ['nix (Nix) 2.33pre20251203_1ad13a1', 'Nix', [2, 33, 0], '2.33pre20251203_1ad13a1'],
  ])('reads %j', (line, implementation, [major, minor, patch], version) => {
    expect(parseNixVersion(`${line}\n`)).toEqual({ implementation, major, minor, patch, version });
  });

  it('says null for anything else', () => {
    expect(parseNixVersion('guix (GNU Guix) 1.4.0')).toBeNull();
  });
});

describe('describeCommand', () => {
  it('names the program and its subcommand, not the paths', () => {
    expect(
      describeCommand(['nix', '--extra-experimental-features', 'nix-command flakes', 'copy', '--to', 'x']),
    ).toBe('nix copy');
    expect(describeCommand(['nix-store', '--realise', '/nix/store/x'])).toBe('nix-store');
    expect(describeCommand(['nix', 'store', 'sign', '--key-file', '/k', '/nix/store/x'])).toBe(
      'nix store sign',
    );
  });
});
