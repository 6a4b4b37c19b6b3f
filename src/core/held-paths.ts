// What a host holds of a list of store paths asked about, as one byte per path in the order asked: the shape
// of a compact answer from a host, and of a rollout's holdings snapshot. A whole site answers about the same
// list, so the list (the universe) is shared and each host adds only its bytes.
//
// The planner reads these bytes directly. With plain sets it must look up every held path of every host by
// name: for 60,000 paths and 200 hosts that is 12 million string-keyed lookups, most of a plan's time. With
// a universe it maps the closure onto the universe once and then reads bytes.
import type { StorePath } from './types.ts';

/** The paths a question asked about, each once, in the order asked. */
export class PathUniverse {
  readonly paths: readonly StorePath[];
  readonly #index: Map<StorePath, number>;

  constructor(paths: readonly StorePath[]) {
    const index = new Map<StorePath, number>();
    for (let i = 0; i < paths.length; i++) {
      if (index.has(paths[i]!)) throw new RangeError(`${paths[i]} is listed twice in one question`);
      index.set(paths[i]!, i);
    }
    this.paths = paths;
    this.#index = index;
  }

  get size(): number {
    return this.paths.length;
  }

  /** The path's position, or -1 when it was not asked about. */
  indexOf(path: StorePath): number {
    return this.#index.get(path) ?? -1;
  }
}

/** A read-only set of store paths backed by one byte per path of a universe (non-zero: held). */
export class HeldPaths implements ReadonlySet<StorePath> {
  readonly universe: PathUniverse;
  readonly bits: Uint8Array;
  readonly size: number;

  constructor(universe: PathUniverse, bits: Uint8Array) {
    if (bits.length !== universe.size) {
      throw new RangeError(`${bits.length} answers for ${universe.size} paths asked`);
    }
    this.universe = universe;
    this.bits = bits;
    let n = 0;
    for (let i = 0; i < bits.length; i++) if (bits[i]) n++;
    this.size = n;
  }

  /** The paths of `held` that are in the universe (others are dropped). */
  static of(universe: PathUniverse, held: Iterable<StorePath>): HeldPaths {
    const bits = new Uint8Array(universe.size);
    for (const p of held) {
      const i = universe.indexOf(p);
      if (i >= 0) bits[i] = 1;
    }
    return new HeldPaths(universe, bits);
  }

  has(path: StorePath): boolean {
    const i = this.universe.indexOf(path);
    return i >= 0 && this.bits[i] !== 0;
  }

  *values(): SetIterator<StorePath> {
    for (let i = 0; i < this.bits.length; i++) if (this.bits[i]) yield this.universe.paths[i]!;
  }

  keys(): SetIterator<StorePath> {
    return this.values();
  }

  *entries(): SetIterator<[StorePath, StorePath]> {
    for (const p of this.values()) yield [p, p];
  }

  [Symbol.iterator](): SetIterator<StorePath> {
    return this.values();
  }

  forEach(
    fn: (value: StorePath, key: StorePath, set: ReadonlySet<StorePath>) => void,
    thisArg?: unknown,
  ): void {
    for (const p of this.values()) fn.call(thisArg, p, p, this);
  }
}
