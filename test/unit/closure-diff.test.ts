import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChangeKind, diffClosures, SIZE_THRESHOLD } from '../../src/core/closure-diff.ts';
import { changeLines, changeText, diffSummary } from '../../src/core/closure-diff-text.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const p = (name: string, narSize: number, seed = 'a') => ({
  path: storePathFor(`${seed}:${name}`, name),
  narSize,
});
const ends = { from: storePathFor('old', 'nixos-system-x-1'), to: storePathFor('new', 'nixos-system-x-2') };

describe('diffClosures', () => {
  const before = [
    p('chromium-131.0.6778.85', 20 * MiB),
    p('nix-2.24.15', 5 * MiB),
    p('nix-2.24.15-man', 300 * KiB),
    p('python3-3.12.4', 30 * MiB),
    p('hello-unstable-2024-01-01', 100 * KiB),
    p('old-tool-1.0', 2 * MiB),
    p('etc', 60 * KiB),
    p('system-path', 200 * KiB),
    p('fonts-1.0', 6 * MiB),
  ];
  const after = [
    p('chromium-131.0.6778.86', 21 * MiB),
    p('nix-2.24.16', 5 * MiB),
    p('nix-2.24.16-man', 300 * KiB),
    p('python3-3.11.9', 29 * MiB),
    p('hello-unstable-2024-02-01', 100 * KiB),
    p('new-tool-0.1', 1 * MiB),
    p('etc', 60 * KiB, 'b'),
    p('system-path', 200 * KiB, 'b'),
    p('fonts-1.0', 7 * MiB, 'b'),
  ];
  const d = diffClosures(before, after, ends);
  const by = (name: string) => d.changes.find((c) => c.name === name);

  it('tells upgrades, downgrades, additions, removals and size changes apart, like nvd', () => {
    expect(by('chromium')).toMatchObject({
      kind: 'upgraded',
      before: ['131.0.6778.85'],
      after: ['131.0.6778.86'],
    });
    expect(by('nix')).toMatchObject({ kind: 'upgraded', bytesBefore: 5 * MiB + 300 * KiB });
    expect(by('python3')).toMatchObject({ kind: 'downgraded', before: ['3.12.4'], after: ['3.11.9'] });
    expect(by('hello')).toMatchObject({ kind: 'upgraded', after: ['unstable-2024-02-01'] });
    expect(by('old-tool')).toMatchObject({ kind: 'removed', before: ['1.0'], after: [], bytesAfter: 0 });
    expect(by('new-tool')).toMatchObject({ kind: 'added', before: [], after: ['0.1'] });
    expect(by('fonts')).toMatchObject({ kind: 'changed', before: ['1.0'], after: ['1.0'] });
    expect(d.counts).toEqual({ upgraded: 3, downgraded: 1, added: 1, removed: 1, changed: 1 });
    // etc and system-path were rebuilt at the same size: counted, not listed.
    expect(by('etc')).toBeUndefined();
    expect(d.rebuilt).toBe(2);
    expect(d.pathsAdded).toBe(9);
    expect(d.pathsRemoved).toBe(9);
    expect(d.bytesAfter - d.bytesBefore).toBe(
      after.reduce((s, x) => s + x.narSize, 0) - before.reduce((s, x) => s + x.narSize, 0),
    );
  });

  it('puts version changes before size changes, the biggest package first', () => {
    expect(d.changes.map((c) => c.name)).toEqual([
      'python3',
      'chromium',
      'nix',
      'old-tool',
      'new-tool',
      'hello',
      'fonts',
    ]);
  });

  it('reads as diff-closures prints it', () => {
    expect(changeText(by('chromium')!)).toBe('chromium: 131.0.6778.85 → 131.0.6778.86, +1 MiB');
    expect(changeText(by('nix')!)).toBe('nix: 2.24.15 → 2.24.16');
    expect(changeText(by('old-tool')!)).toBe('old-tool: 1.0 → ∅, -2 MiB');
    expect(changeText(by('fonts')!)).toBe('fonts: +1 MiB');
    expect(diffSummary(d)).toBe(
      '3 upgraded, 1 downgraded, 1 added, 1 removed, 1 changed · 2 rebuilt · 64 MiB → 64 MiB (±0 B)',
    );
    expect(changeLines(d, 2)).toEqual({
      lines: ['[D] python3: 3.12.4 → 3.11.9, -1 MiB', '[U] chromium: 131.0.6778.85 → 131.0.6778.86, +1 MiB'],
      more: 5,
    });
  });

  it('shows an empty version as ε and a first system as all added', () => {
    const first = diffClosures([], [p('etc', 10), p('hello-1.0', 10)], { from: null, to: ends.to });
    expect(first.counts.added).toBe(2);
    expect(first.changes.map(changeText)).toEqual(['etc: ∅ → ε', 'hello: ∅ → 1.0']);
    expect(diffSummary(first)).toContain('no system running yet');
  });

  it('ignores size changes under Nix threshold', () => {
    const small = diffClosures([p('a-1', 10 * KiB)], [p('a-1', 10 * KiB + SIZE_THRESHOLD, 'b')], ends);
    expect(small.changes).toEqual([]);
    expect(small.rebuilt).toBe(1);
  });

  const NAMES = ['chromium', 'nix', 'python3', 'glibc', 'etc', 'linux'];
  const closureArb = fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom(...NAMES),
        version: fc.constantFrom('', '1.0', '1.1', '2.0pre1', '2.0', 'unstable-2024-01-01'),
        output: fc.constantFrom('', '-man', '-dev'),
        seed: fc.constantFrom('a', 'b'),
        size: fc.integer({ min: 0, max: 4 * MiB }),
      }),
      { maxLength: 14, selector: (r) => `${r.name}${r.version}${r.output}${r.seed}` },
    )
    .map((rs) =>
      rs.map((r) => {
        const name = `${r.name}${r.version === '' ? '' : `-${r.version}`}${r.output}`;
        return { path: storePathFor(`${r.seed}:${name}`, name), narSize: r.size };
      }),
    );

  const FLIP: Record<ChangeKind, ChangeKind> = {
    added: 'removed',
    removed: 'added',
    upgraded: 'downgraded',
    downgraded: 'upgraded',
    changed: 'changed',
  };

  it('is the mirror image when old and new swap, and nothing for a closure against itself', () => {
    fc.assert(
      fc.property(closureArb, closureArb, (a, b) => {
        const there = diffClosures(a, b, ends);
        const back = diffClosures(b, a, ends);
        const flip = Object.fromEntries(there.changes.map((c) => [c.name, FLIP[c.kind]]));
        expect(Object.fromEntries(back.changes.map((c) => [c.name, c.kind]))).toEqual(flip);
        expect(back.rebuilt).toBe(there.rebuilt);
        expect(back.pathsAdded).toBe(there.pathsRemoved);
        const counted = Object.values(there.counts).reduce((s, n) => s + n, 0);
        expect(counted).toBe(there.changes.length);
        // Every package name is listed at most once.
        expect(new Set(there.changes.map((c) => c.name)).size).toBe(there.changes.length);
        const same = diffClosures(a, a, ends);
        expect(same.changes).toEqual([]);
        expect(same.rebuilt + same.pathsAdded + same.pathsRemoved).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
