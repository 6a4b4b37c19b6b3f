// "At the next window": what a restart question says of a host's maintenance window, for the button that
// defers the restart to it. A host without windows may restart at any time, so it gets no such choice. Pure.
import { type HostPolicy, windowWait } from './policy.ts';
import { describeInstant, describeWindows } from './windows.ts';

/**
 * "Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo" (or "…, open now" inside the window); undefined
 * for a host without windows (or whose windows never open).
 */
export function nextWindowText(policy: HostPolicy | undefined, at: Date): string | undefined {
  if (policy === undefined || policy.windows === null) return undefined;
  const windows = describeWindows(policy.windows);
  const wait = windowWait(policy, at, 'the restart');
  if (wait === null) return `${windows} (${policy.timezone}), open now`;
  if (wait.opensAt === null) return undefined;
  return `${windows}, next opening ${describeInstant(wait.opensAt, policy.timezone)}`;
}
