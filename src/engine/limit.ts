// Bounded parallelism for copies and fleet rollouts, from p-limit.
import pLimit from 'p-limit';

export function limitConcurrency(n: number): <T>(work: () => Promise<T>) => Promise<T> {
  const limit = pLimit(Math.max(1, n));
  return (work) => limit(work);
}
