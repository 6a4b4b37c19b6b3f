import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StagedFile, uplinkBatches } from '../../src/core/uplink-batches.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const f = (name: string, bytes: number): StagedFile => ({ path: storePathFor(name, name), bytes });

describe('uplinkBatches', () => {
  it('keeps the order and cuts where the next path would pass the bound', () => {
    const r = uplinkBatches([f('a', 40), f('b', 50), f('c', 20), f('d', 100), f('e', 1)], 100);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.batches.map((b) => b.map((x) => x.bytes))).toEqual([[40, 50], [20], [100], [1]]);
    expect(r.largest).toBe(100);
  });

  it('refuses a path larger than the bound, naming it', () => {
    const r = uplinkBatches([f('a', 10), f('big', 101)], 100);
    expect(r).toEqual({ ok: false, path: storePathFor('big', 'big'), bytes: 101 });
  });

  it('has no batch for nothing', () => {
    expect(uplinkBatches([], 10)).toEqual({ ok: true, batches: [], largest: 0 });
  });

  it('every batch within the bound, every path once and in order, and no two neighbours that would fit in one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 150 }),
        (sizes, bound) => {
          const files = sizes.map((s, i) => f(`p${i}`, s));
          const r = uplinkBatches(files, bound);
          if (sizes.some((s) => s > bound)) {
            expect(r.ok).toBe(false);
            if (!r.ok) expect(r.path).toBe(files[sizes.findIndex((s) => s > bound)]!.path);
            return;
          }
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.batches.flat()).toEqual(files);
          const totals = r.batches.map((b) => b.reduce((s, x) => s + x.bytes, 0));
          for (const t of totals) expect(t).toBeLessThanOrEqual(bound);
          expect(r.largest).toBe(Math.max(0, ...totals));
          for (const b of r.batches) expect(b.length).toBeGreaterThan(0);
          // Greedy: a batch ended only because its successor's first path did not fit.
          for (let i = 0; i + 1 < r.batches.length; i++)
            expect(totals[i]! + r.batches[i + 1]![0]!.bytes).toBeGreaterThan(bound);
        },
      ),
    );
  });
});
