import { describe, expect, it } from 'vitest';
import { syncState } from '../../src/core/sync.ts';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-a';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-b';
const C = '/nix/store/cccccccccccccccccccccccccccccccc-nixos-system-c';
const gens = [
  { number: 1, path: A },
  { number: 2, path: B },
];

describe('sync state of a host', () => {
  it('tells in sync, behind, drifted, never deployed and no system apart', () => {
    expect(syncState({ current: B, deployed: B, generations: gens })).toBe('in-sync');
    expect(syncState({ current: A, deployed: B, generations: gens })).toBe('behind');
    expect(syncState({ current: C, deployed: B, generations: gens })).toBe('drifted');
    expect(syncState({ current: B, deployed: A, generations: gens })).toBe('drifted');
    expect(syncState({ current: A, deployed: null, generations: gens })).toBe('never-deployed');
    expect(syncState({ current: null, deployed: B, generations: [] })).toBe('no-system');
  });
});
