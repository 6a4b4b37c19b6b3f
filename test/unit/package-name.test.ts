import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersions, packageId, versionComponents } from '../../src/core/package-name.ts';

describe('packageId', () => {
  it.each<[string, string, string, string]>([
    ['hello-2.12.1', 'hello', '2.12.1', ''],
    ['nix-2.24.15', 'nix', '2.24.15', ''],
    ['nix-2.24.15-man', 'nix', '2.24.15', 'man'],
    ['coreutils-9.5-info', 'coreutils', '9.5', 'info'],
    ['glibc-2.40-66-bin', 'glibc', '2.40-66', 'bin'],
    ['python3-3.12.4', 'python3', '3.12.4', ''],
    ['python3.12-pyyaml-6.0.1', 'python3.12-pyyaml', '6.0.1', ''],
    ['libxml2-2.13.4-dev', 'libxml2', '2.13.4', 'dev'],
    ['gst-plugins-base-1.24.3', 'gst-plugins-base', '1.24.3', ''],
    ['hello-unstable-2024-01-01', 'hello', 'unstable-2024-01-01', ''],
    ['hello-0-unstable-2024-01-01', 'hello', '0-unstable-2024-01-01', ''],
    ['linux-6.6.51-rpi', 'linux', '6.6.51-rpi', ''],
    ['linux-6.6.51-rpi-modules', 'linux', '6.6.51-rpi', 'modules'],
    ['readline-8.2p13', 'readline', '8.2p13', ''],
    ['nixos-system-baard-entrance-26.05.2.signage', 'nixos-system-baard-entrance', '26.05.2.signage', ''],
    ['system-path', 'system-path', '', ''],
    ['etc', 'etc', '', ''],
    ['unit-display-manager.service', 'unit-display-manager.service', '', ''],
    ['hello-2.12.1.drv', 'hello', '2.12.1', ''],
    ['font-adobe-100dpi-1.0.4', 'font-adobe', '100dpi-1.0.4', ''],
    ['unstable', 'unstable', '', ''],
  ])('%s is %s, version %s, output %s', (store, name, version, output) => {
    expect(packageId(store)).toEqual({ name, version, output });
  });

  const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
  const nameArb = fc
    .array(word, { minLength: 1, maxLength: 3 })
    .map((ws) => ws.join('-'))
    .filter(
      (n) =>
        !n.endsWith('-unstable') &&
        !/-(bin|data|debug|dev|devdoc|doc|info|lib|lib32|lib64|man|modules|out|py|static|terminfo)$/.test(n),
    );
  const versionArb = fc
    .array(fc.stringMatching(/^[0-9]{1,4}[a-z]{0,2}$/), { minLength: 1, maxLength: 4 })
    .map((ps) => ps.join('.'));
  const outputArb = fc.constantFrom('', 'man', 'dev', 'lib', 'bin', 'doc');

  it('reads back the name, version and output a name was made of', () => {
    fc.assert(
      fc.property(nameArb, versionArb, outputArb, (name, version, output) => {
        const store = `${name}-${version}${output === '' ? '' : `-${output}`}`;
        expect(packageId(store)).toEqual({ name, version, output });
      }),
    );
  });
});

describe('compareVersions (as Nix orders versions)', () => {
  it.each<[string, string, -1 | 0 | 1]>([
    ['1.0', '1.1', -1],
    ['2.24.15', '2.8.0', 1],
    ['1.0', '1.0', 0],
    ['1.0pre1', '1.0', -1],
    ['2.3a', '2.3.1', -1],
    ['2.3', '2.3a', -1],
    ['131.0.6778.85', '131.0.6778.86', -1],
    ['unstable-2024-01-01', 'unstable-2024-02-01', -1],
    ['unstable-2024-01-01', '1.0', -1],
    ['0-unstable-2024-01-01', '0-unstable-2023-12-31', 1],
    ['1.01', '1.1', 0],
    ['20240101000000000000000', '20240101000000000000001', -1],
    ['', '1', -1],
  ])('%s against %s is %i', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    expect(compareVersions(b, a)).toBe(want === 0 ? 0 : -want);
  });

  it('splits versions into components as Nix does', () => {
    expect(versionComponents('1.2-rc3..4')).toEqual(['1', '2', 'rc', '3', '4']);
  });

  const versionArb = fc.stringMatching(/^[0-9a-z.-]{0,12}$/);
  it('is an order: reflexive, antisymmetric and transitive', () => {
    fc.assert(
      fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) {
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
