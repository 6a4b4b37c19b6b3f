// A reboot a stopped process left open (boot.ts records each one before rebooting): the host is asked how it
// came back, and the pure decision (core/reboot-settle.ts) says what to record and tell.
import type { ActivationRecord } from '../core/ports/state.ts';
import {
  settleReboot as decide,
  type HostNow,
  hostBootStateCommand,
  parseHostBootState,
} from '../core/reboot-settle.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import type { HostAccess } from './run-scope.ts';
import type { Settled } from './settle.ts';

export async function settleReboot(
  deps: EngineDeps,
  access: HostAccess,
  host: HostSpec,
  a: ActivationRecord,
): Promise<Settled> {
  let now: HostNow;
  try {
    const facts = await access.probe(host);
    const boot = parseHostBootState(
      (await access.exec(host, hostBootStateCommand(), { allowFailure: true })).stdout,
    );
    now = { kind: 'up', current: facts.currentSystem, booted: facts.bootedSystem, boot };
  } catch (e) {
    now = { kind: 'down', why: messageOf(e) };
  }
  const settled = decide(a, now, deps.now());
  if (settled.outcome !== null) {
    deps.store.endActivation(a.id, settled.outcome, settled.message, deps.now());
    // Confirmed on the host before the process stopped: the deployment it would have recorded next.
    if (settled.outcome === 'confirmed' && a.previous !== a.next)
      deps.store.recordDeployment({ host: a.host, toplevel: a.next, runId: a.runId, at: deps.now() });
  }
  return { activation: a, outcome: settled.outcome, message: settled.message };
}
