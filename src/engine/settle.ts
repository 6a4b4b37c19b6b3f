// After a crash: activations a dead process left open are settled by looking at the host. The host was left
// either confirmed, or reverted by its own timer, or (the bot died between activation and confirmation, and
// the timer has not fired yet) still waiting: then the bot reverts it at once, as it would have on any
// failure. A host that does not answer stays open for the next start. Reboots are settled alike
// (settle-reboot.ts).
import { outcomeCommand, parseOutcome, revertCommand } from '../core/activation-sequence.ts';
import type { Actor } from '../core/events.ts';
import type { ActivationOutcome, ActivationRecord } from '../core/ports/state.ts';
import { activationTarget } from './activate.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { hostAccess } from './run-scope.ts';
import { settleReboot } from './settle-reboot.ts';

export interface Settled {
  readonly activation: ActivationRecord;
  /** null when the host could not be asked: the record stays open. */
  readonly outcome: ActivationOutcome | null;
  /** One sentence for people, naming the host. */
  readonly message: string;
}

/** Settles the open activations (and reboots) of runs no live process carries on. */
export async function settleActivations(deps: EngineDeps, actor: Actor): Promise<Settled[]> {
  const access = hostAccess(deps, null, actor);
  // A run whose process was killed outright still reads "running": it is marked interrupted first.
  deps.store.recoverDeadRuns(deps.now());
  const open = deps.store.openActivations().filter((a) => deps.store.getRun(a.runId)?.status !== 'running');
  const out: Settled[] = [];
  for (const a of open) {
    const host = deps.hosts.find((h) => h.name === a.host);
    if (host === undefined) {
      deps.store.endActivation(a.id, 'unknown', 'the host is no longer in the configuration', deps.now());
      continue;
    }
    if (a.kind === 'boot') {
      out.push(await settleReboot(deps, access, host, a));
      continue;
    }
    try {
      const facts = await access.probe(host);
      const said = parseOutcome((await access.exec(host, outcomeCommand(), { allowFailure: true })).stdout);
      let outcome: ActivationOutcome;
      let message: string;
      if (said.marker === 'armed' && a.previous !== null) {
        // Nobody will confirm it: undo it now rather than leave a screen on an unchecked system.
        const t = activationTarget(host, facts);
        const r = await access.exec(host, revertCommand(t, a.previous), { allowFailure: true });
        outcome = r.exitCode === 0 ? 'reverted' : 'unknown';
        message =
          r.exitCode === 0
            ? `${a.host}: the activation of ${a.next} was never confirmed (the bot stopped); reverted to ${a.previous} now`
            : `${a.host}: the activation of ${a.next} was never confirmed and the revert failed: ${r.stderr.trim().slice(-300)}; it reverts by itself at ${a.deadline.toISOString()}`;
      } else if (facts.currentSystem === a.next && facts.profileSystem === a.next) {
        outcome = 'confirmed';
        message = `${a.host}: the activation of ${a.next} was confirmed on the host before the bot stopped`;
        deps.store.recordDeployment({ host: a.host, toplevel: a.next, runId: a.runId, at: deps.now() });
      } else if (a.previous !== null && facts.currentSystem === a.previous) {
        outcome = 'reverted-by-host';
        message = `${a.host}: reverted by itself to ${a.previous}: the activation of ${a.next} was never confirmed`;
      } else if (said.marker !== null) {
        // Mid-way on the host (confirming or reverting): look again at the next start.
        out.push({ activation: a, outcome: null, message: `${a.host}: still ${said.marker} ${a.next}` });
        continue;
      } else {
        outcome = 'unknown';
        message = `${a.host}: runs ${facts.currentSystem ?? 'nothing'}, neither ${a.next} (activated) nor ${a.previous ?? 'a previous system'}; see \`signage status\``;
      }
      deps.store.endActivation(a.id, outcome, message, deps.now());
      out.push({ activation: a, outcome, message });
    } catch (e) {
      out.push({
        activation: a,
        outcome: null,
        message: `${a.host}: not reachable to settle the activation of ${a.next} (${messageOf(e)}); it reverts by itself at ${a.deadline.toISOString()} unless confirmed, and the next start looks again`,
      });
    }
  }
  return out;
}
