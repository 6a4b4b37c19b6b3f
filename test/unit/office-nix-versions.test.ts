// Which Nix the simulated office gives each part: mixed by default, 2.8 alone (said once) where Nix 2.24 is
// not installed, and never that fallback under CI.
import { describe, expect, it } from 'vitest';
import { chooseNix } from '../office/nix-versions.ts';

const installed = { missing: null, ci: false, say: () => {} };

describe("the office's Nix versions", () => {
  it('alternates hosts between 2.24 and 2.8, keeps what a spec asks for, and puts the builder on 2.24', () => {
    expect(chooseNix([undefined, undefined, undefined, '2.24'], undefined, installed)).toEqual({
      builder: '2.24',
      hosts: ['2.24', '2.8', '2.24', '2.24'],
    });
    expect(chooseNix(['2.8', undefined], '2.8', installed)).toEqual({
      builder: '2.8',
      hosts: ['2.8', '2.8'],
    });
  });

  it('runs 2.8 alone without Nix 2.24, saying so once; under CI it refuses instead', () => {
    const said: string[] = [];
    const absent = { missing: 'Nix 2.24 is not installed', ci: false, say: (l: string) => said.push(l) };
    expect(chooseNix([undefined, '2.24'], undefined, absent)).toEqual({
      builder: '2.8',
      hosts: ['2.8', '2.8'],
    });
    expect(chooseNix([undefined], '2.24', absent)).toEqual({ builder: '2.8', hosts: ['2.8'] });
    expect(said).toEqual([
      "office: Nix 2.24 is not installed; every host and the builder run Debian's Nix 2.8 alone",
    ]);
    expect(() => chooseNix([undefined], undefined, { ...absent, ci: true })).toThrow(
      'Nix 2.24 is not installed; CI runs the office on Nix 2.24 and 2.8',
    );
  });
});
