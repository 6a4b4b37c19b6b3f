// A run's outcome as an assertion message, so a failed expectation on a run says why each host ended as it
// did (its error and the hint the bot would show) instead of only `expected 'failed' to be 'ok'`.
import type { RunResult } from '../../src/engine/engine.ts';

export function outcomeOf(result: Pick<RunResult, 'status' | 'hosts'>): string {
  const hosts = result.hosts.map(
    (h) =>
      `${h.host}: ${h.status}${h.error === undefined ? '' : ` (${h.error})`}${h.hint === undefined ? '' : ` [${h.hint}]`}`,
  );
  return `run ${result.status}; ${hosts.join('; ') || 'no hosts'}`;
}
