// How a host's running system relates to what the bot last deployed there: the one-word answer status gives.
import type { StorePath } from './types.ts';

export type SyncState =
  /** Running what the bot last deployed, which is also what it boots. */
  | 'in-sync'
  /** In sync, but the booted system's kernel is not the running one's: a reboot would change it. */
  | 'reboot-pending'
  /**
   * The system profile (what the host boots and rolls back from) is not what runs: an activation not yet
   * confirmed, or a switch interrupted (a host that lost power mid-switch runs one system, boots another).
   */
  | 'unconfirmed'
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
  /** What the system profile points at; null without a profile. */
  readonly profile?: StorePath | null;
  readonly currentKernel?: string | null;
  readonly bootedKernel?: string | null;
  readonly deployed: StorePath | null;
  /** The host's system profile generations, oldest first. */
  readonly generations: readonly { readonly number: number; readonly path: StorePath }[];
}

export function syncState(input: SyncInput): SyncState {
  const { current, deployed, generations } = input;
  if (current === null) return 'no-system';
  const profile = input.profile ?? null;
  if (profile !== null && profile !== current) return 'unconfirmed';
  if (deployed === null) return 'never-deployed';
  if (current === deployed) {
    const { currentKernel: running = null, bootedKernel: booted = null } = input;
    return running !== null && booted !== null && running !== booted ? 'reboot-pending' : 'in-sync';
  }
  const newest = (p: StorePath) =>
    Math.max(-1, ...generations.filter((g) => g.path === p).map((g) => g.number));
  const cur = newest(current);
  const dep = newest(deployed);
  return cur >= 0 && dep > cur ? 'behind' : 'drifted';
}
