import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, ratio } from '../../src/core/bytes.ts';

describe('formatBytes', () => {
  it.each<[number, string]>([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [812 * 1024, '812 KiB'],
    [1.5 * 2 ** 20, '1.5 MiB'],
    [10 * 2 ** 20 - 1, '10 MiB'],
    [1023.7 * 1024, '1 MiB'],
    [3.7 * 2 ** 30, '3.7 GiB'],
    [2 ** 50, '1 PiB'],
    [-2048, '-2 KiB'],
  ])('%d bytes read %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it('never shows more than four digits or an unknown unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(formatBytes(n)).toMatch(/^\d{1,4}(\.\d)? (B|KiB|MiB|GiB|TiB|PiB)$/);
      }),
    );
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0 ms'],
    [-5, '0 ms'],
    [812, '812 ms'],
    [1200, '1.2 s'],
    [9990, '10 s'],
    [42_000, '42 s'],
    [59_600, '1 min'],
    [184_000, '3 min 4 s'],
    [3_600_000, '1 h'],
    [7_500_000, '2 h 5 min'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('ratio and formatPercent', () => {
  it('is 0 when there is nothing to compare with', () => {
    expect(ratio(5, 0)).toBe(0);
    expect(ratio(5, -1)).toBe(0);
    expect(ratio(Number.NaN, 2)).toBe(0);
    expect(ratio(1, 4)).toBe(0.25);
  });

  it.each<[number, string]>([
    [0, '0%'],
    [0.0001, '<0.1%'],
    [0.042, '4.2%'],
    [0.05, '5%'],
    [0.42, '42%'],
    [0.9996, '100%'],
    [1, '100%'],
  ])('%d reads %s', (r, text) => {
    expect(formatPercent(r)).toBe(text);
  });
});
