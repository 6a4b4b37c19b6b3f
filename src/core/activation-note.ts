// How an activation left open by a stopped process ended, in words for the run's message and the terminal.
import { ACTIVATION_DIR } from './activation-sequence.ts';
import type { ActivationRecord } from './ports/state.ts';

/** What an interrupted run's message says of a host's activation, once settled (or not yet). */
export function activationNote(a: ActivationRecord): string | null {
  // A reboot's record, once settled, carries what the host said (its detail names the host and the systems).
  if (a.kind === 'boot') {
    if (a.outcome === null)
      return 'a reboot not yet settled: its boot guard undoes an unconfirmed system when it boots, and the next start says how it came back';
    return a.outcome === 'unchanged' ? null : (a.detail ?? a.outcome);
  }
  switch (a.outcome) {
    case null:
      return `not yet known: unless confirmed, the host reverts by itself at ${a.deadline.toISOString()}`;
    case 'reverted-by-host':
      return `reverted by itself to ${a.previous ?? 'its previous system'}`;
    case 'reverted':
      return a.detail ?? `reverted to ${a.previous ?? 'its previous system'}`;
    case 'confirmed':
      return `confirmed ${a.next}`;
    case 'unchanged':
      return null;
    case 'unknown':
      return a.detail ?? `unknown: look in ${ACTIVATION_DIR} on the host`;
  }
}
