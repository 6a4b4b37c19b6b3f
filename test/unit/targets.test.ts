import { describe, expect, it } from 'vitest';
import { distance, nearest, resolveTargets } from '../../src/core/targets.ts';
import type { HostSpec } from '../../src/core/types.ts';

const host = (name: string, tags: string[] = []): HostSpec => ({
  name,
  address: name,
  lanAddress: name,
  port: 22,
  user: 'root',
  site: 'baard',
  tags,
  restartCommand: ['true'],
});
const hosts = [host('baard-entrance', ['lobby']), host('baard-kitchen'), host('baard-open-space', ['lobby'])];

describe('resolving targets', () => {
  it('takes names, tags and all, in configuration order without repeats', () => {
    expect(resolveTargets(['baard-open-space', 'baard-entrance'], hosts).map((h) => h.name)).toEqual([
      'baard-entrance',
      'baard-open-space',
    ]);
    expect(resolveTargets(['@lobby', 'baard-entrance'], hosts).map((h) => h.name)).toEqual([
      'baard-entrance',
      'baard-open-space',
    ]);
    expect(resolveTargets(['all'], hosts)).toHaveLength(3);
  });

  it('suggests the nearest names for a typo and lists the valid ones', () => {
    expect(() => resolveTargets(['baard-entrnace'], hosts)).toThrow(
      'unknown host baard-entrnace (did you mean baard-entrance?); hosts: baard-entrance, baard-kitchen, baard-open-space',
    );
    expect(() => resolveTargets(['@lobyy'], hosts)).toThrow(
      'no host has the tag lobyy (did you mean @lobby?); tags: @lobby',
    );
    expect(() => resolveTargets([], hosts)).toThrow('name a host, @tag or all');
  });

  it('points `@all` at `all`', () => {
    expect(() => resolveTargets(['@all'], hosts)).toThrow(
      'no host has the tag all (every host is `all`, without @); tags: @lobby',
    );
  });

  it('suggests a name typed with other capitals first', () => {
    expect(nearest('Baard-Kitchen', ['baard-kitchen', 'baard-kitchens'])).toEqual([
      'baard-kitchen',
      'baard-kitchens',
    ]);
    expect(nearest('LOBBY', ['lobby', 'hobby'])[0]).toBe('lobby');
  });

  it('measures edit distance', () => {
    expect(distance('kitten', 'sitting')).toBe(3);
    expect(distance('', 'abc')).toBe(3);
    expect(
      nearest(
        'baard-kit',
        hosts.map((h) => h.name),
      ),
    ).toEqual(['baard-kitchen']);
    expect(
      nearest(
        'zzzz',
        hosts.map((h) => h.name),
      ),
    ).toEqual([]);
  });
});
