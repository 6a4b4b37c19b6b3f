// How a host's running system relates to what the bot last deployed there: the one-word answer status gives.
import type { StorePath } from './types.ts';

export type SyncState =
  /** Running what the bot last deployed. */
  | 'in-sync'
  /** Running an older generation than the one deployed: rolled back, or the deploy did not switch. */
  | 'behind'
  /** Running something the bot never deployed there: a manual switch, or another tool. */
  | 'drifted'
  /** Running a system, but the bot has no deployment on record for the host. */
  | 'never-deployed'
  /** No /run/current-system: not (yet) a NixOS system the bot can compare. */
  | 'no-system';

export interface SyncInput {
  readonly current: StorePath | null;
  readonly deployed: StorePath | null;
  /** The host's system profile generations, oldest first. */
  readonly generations: readonly { readonly number: number; readonly path: StorePath }[];
}

export function syncState({ current, deployed, generations }: SyncInput): SyncState {
  if (current === null) return 'no-system';
  if (deployed === null) return 'never-deployed';
  if (current === deployed) return 'in-sync';
  const newest = (p: StorePath) =>
    Math.max(-1, ...generations.filter((g) => g.path === p).map((g) => g.number));
  const cur = newest(current);
  const dep = newest(deployed);
  return cur >= 0 && dep > cur ? 'behind' : 'drifted';
}
