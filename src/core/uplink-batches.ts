// The uplink stream's batches: the host unpacks one batch into a temporary directory, imports it and deletes
// it before the next arrives, so its temporary space never exceeds the largest batch. Batches follow the
// paths' dependency order, so every batch's references are held already or come in the same batch (a store
// holds a path only with its whole closure, and the host imports a batch on its own). Pure, no I/O.
import type { StorePath } from './types.ts';

export interface StagedFile {
  readonly path: StorePath;
  /** What the path takes unpacked on the host: its compressed NAR (or delta) and its narinfo. */
  readonly bytes: number;
}

export type Batching =
  | { readonly ok: true; readonly batches: readonly (readonly StagedFile[])[]; readonly largest: number }
  /** One path alone is larger than the bound: the host could never hold it unpacked within it. */
  | { readonly ok: false; readonly path: StorePath; readonly bytes: number };

/**
 * Cuts `ordered` (dependencies first) into consecutive batches of at most `bound` bytes each, as few as the
 * order allows (greedy: a batch ends when the next path would not fit).
 */
export function uplinkBatches(ordered: readonly StagedFile[], bound: number): Batching {
  const batches: StagedFile[][] = [];
  let current: StagedFile[] = [];
  let size = 0;
  let largest = 0;
  for (const f of ordered) {
    if (f.bytes > bound) return { ok: false, path: f.path, bytes: f.bytes };
    if (current.length > 0 && size + f.bytes > bound) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(f);
    size += f.bytes;
    largest = Math.max(largest, size);
  }
  if (current.length > 0) batches.push(current);
  return { ok: true, batches, largest };
}
