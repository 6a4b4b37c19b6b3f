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

  it('tells a profile that is not what runs (an interrupted switch) from in sync, whatever was deployed', () => {
    // Lost power mid-switch: the profile points at B, which never ran; the host runs A.
    expect(syncState({ current: A, profile: B, deployed: A, generations: gens })).toBe('unconfirmed');
    expect(syncState({ current: A, profile: B, deployed: null, generations: gens })).toBe('unconfirmed');
    expect(syncState({ current: B, profile: B, deployed: B, generations: gens })).toBe('in-sync');
  });

  it('says a reboot is pending when the booted kernel is not the running one', () => {
    const k1 = '/nix/store/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk-linux-1/bzImage';
    const k2 = '/nix/store/jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-linux-2/bzImage';
    const base = { current: B, profile: B, deployed: B, generations: gens };
    expect(syncState({ ...base, currentKernel: k2, bootedKernel: k1 })).toBe('reboot-pending');
    expect(syncState({ ...base, currentKernel: k2, bootedKernel: k2 })).toBe('in-sync');
    expect(syncState({ ...base, currentKernel: k2, bootedKernel: null })).toBe('in-sync');
  });
});
