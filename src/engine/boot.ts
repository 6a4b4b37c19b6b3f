// Walks the boot path (src/core/activation-sequence.ts, "the boot path") on one host: staging a system that
// needs a reboot, and the reboot itself: wait for the host to come back (bounded by rebootSeconds), check it
// runs and booted the new system, the same health checks and second look as any activation, then release the
// boot guard; otherwise undo the boot (previous system as profile and boot default) and reboot back.
import { checkSystemCommand } from '../core/activation.ts';
import {
  BOOT_SEQUENCE,
  type BootState,
  type BootStep,
  type BootTerminal,
  bootNext,
  DEFAULT_ACTIVATION,
  DEFAULT_REBOOT_SECONDS,
  isBootTerminal,
  parsePendingBoot,
  pendingBootCommand,
  rebootCommand,
  rebootTokenCommand,
  releaseCommand,
  type StepResult,
  stageCommand,
  unstageCommand,
} from '../core/activation-sequence.ts';
import type { HostFacts } from '../core/host-facts.ts';
import type { ActivationOutcome } from '../core/ports/state.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { activationTarget, runCheck } from './activate.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import type { FreshAccess, RunScope } from './run-scope.ts';

/** Pause between two looks for a host that is rebooting. */
const WAIT_STEP_MS = 2000;
/** Output of a failed step kept for the message. */
const TAIL_LINES = 6;

export interface BootWalk {
  readonly end: BootTerminal;
  /** What failed, in the steps' own words. */
  readonly failure: string | null;
  /** What the undoing did. */
  readonly revert: string | null;
  /** Whether a staged system was pending (the guard's marker), and the system the host was to come back on. */
  readonly staged: boolean;
  readonly system: StorePath | null;
}

/** Stages `next` with `boot` behind the guard: check, then one host-side unit. Ends boot-pending or not. */
export async function stageBoot(
  scope: RunScope,
  host: HostSpec,
  before: HostFacts,
  previous: StorePath | null,
  next: StorePath,
): Promise<BootWalk> {
  const settings = host.activation ?? DEFAULT_ACTIVATION;
  const t = activationTarget(host, before);
  let failure: string | null = null;
  const steps: Partial<Record<BootStep, () => Promise<StepResult>>> = {
    async check() {
      try {
        const r = await scope.exec(host, checkSystemCommand(next), { allowFailure: true });
        if (r.exitCode === 0) return 'ok';
        failure = `${next} is not a NixOS system (it has no nixos-version); refusing to activate it`;
        return 'failed';
      } catch (e) {
        failure = `could not check the system: ${messageOf(e)}`;
        return 'unreachable';
      }
    },
    async stage() {
      try {
        const r = await scope.exec(host, stageCommand(t, previous, next, settings.revertSeconds), {
          allowFailure: true,
          onStderrLine: (line) => scope.log(line, host.name),
        });
        if (r.exitCode === 0) return 'ok';
        failure = `could not make ${next} the boot default: ${tail(r.stderr || r.stdout)}`;
        return 'failed';
      } catch (e) {
        failure = `lost ${host.name} while staging ${next}: ${messageOf(e)}`;
        return 'unreachable';
      }
    },
  };
  const end = await walkFrom(scope, host, 'boot-start', steps);
  return { end, failure, revert: null, staged: true, system: next };
}

/**
 * Reboots a host and sees it through: into the pending system when one is staged (the guard's marker says
 * which, and what came before), else back into what it boots now.
 */
export async function rebootWalk(deps: EngineDeps, scope: RunScope, host: HostSpec): Promise<BootWalk> {
  const settings = host.activation ?? DEFAULT_ACTIVATION;
  const rebootMs = (settings.rebootSeconds ?? DEFAULT_REBOOT_SECONDS) * 1000;
  const before = await scope.probe(host);
  const t = activationTarget(host, before);
  const marker = parsePendingBoot((await scope.exec(host, pendingBootCommand())).stdout);
  // With nothing staged, the host must come back on what it boots now: its profile's system.
  const expected = marker?.next ?? before.profileSystem ?? before.currentSystem;
  let fresh: FreshAccess | null = null;
  let facts: HostFacts | null = null;
  let failure: string | null = null;
  let revert: string | null = null;
  const fail = (why: string, result: StepResult = 'failed'): StepResult => {
    failure ??= why;
    return result;
  };
  const closeFresh = async () => {
    if (fresh !== null) await (fresh as FreshAccess).close();
    fresh = null;
  };

  /** New connections until the reboot token is gone (a new boot answers), within rebootMs. */
  const waitBack = async (): Promise<HostFacts | string> => {
    const deadline = deps.now().getTime() + rebootMs;
    let last = 'it did not answer';
    while (deps.now().getTime() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      await closeFresh();
      fresh = scope.fresh(host);
      try {
        const r = await fresh.exec(rebootTokenCommand(), {
          allowFailure: true,
          timeoutMs: Math.max(1000, deadline - deps.now().getTime()),
        });
        if (r.exitCode !== 0) return await fresh.probe();
        last = 'it had not gone down yet';
      } catch (e) {
        last = messageOf(e);
      }
    }
    await closeFresh();
    return `${host.name} did not come back within ${rebootMs / 1000} s of its reboot (last: ${last})`;
  };

  const checks = async (): Promise<StepResult> => {
    for (const check of settings.checks) {
      const r = await runCheck(scope, fresh!, check, deps.now);
      if (r !== null) return fail(r.why, r.lost ? 'unreachable' : 'failed');
    }
    return 'ok';
  };
  const runs = (f: HostFacts, system: StorePath | null): boolean =>
    system !== null && f.currentSystem === system && f.bootedSystem === system;

  const steps: Partial<Record<BootStep, () => Promise<StepResult>>> = {
    async reboot() {
      try {
        const r = await scope.exec(host, rebootCommand(t, scope.runId), { allowFailure: true });
        return r.exitCode === 0 ? 'ok' : fail(`could not reboot ${host.name}: ${tail(r.stderr || r.stdout)}`);
      } catch (e) {
        return fail(`could not reach ${host.name} to reboot it: ${messageOf(e)}`, 'unreachable');
      }
    },
    async wait() {
      const back = await waitBack();
      if (typeof back === 'string') return fail(back, 'unreachable');
      facts = back;
      return 'ok';
    },
    async verify() {
      const f = facts!;
      if (runs(f, expected)) return 'ok';
      return fail(
        `after its reboot ${host.name} runs ${f.currentSystem ?? 'nothing'} and booted ${f.bootedSystem ?? 'nothing'}, not ${expected ?? 'its profile'}`,
      );
    },
    health: checks,
    async settle() {
      if (settings.settleSeconds <= 0) return 'ok';
      await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000));
      await closeFresh();
      fresh = scope.fresh(host);
      try {
        if (!runs(await fresh.probe(), expected)) return fail(`${host.name} no longer runs ${expected}`);
      } catch (e) {
        return fail(
          `no new SSH connection to ${host.name} after ${settings.settleSeconds} s: ${messageOf(e)}`,
        );
      }
      return checks();
    },
    async release() {
      if (marker === null) return 'ok';
      try {
        const r = await scope.exec(host, releaseCommand(t, marker.next), { allowFailure: true });
        return r.exitCode === 0
          ? 'ok'
          : fail(`could not confirm: ${tail(r.stderr || r.stdout)}; the boot guard decides`);
      } catch (e) {
        return fail(`lost ${host.name} while confirming: ${messageOf(e)}`, 'unreachable');
      }
    },
    async unstage() {
      if (marker === null) {
        revert = 'nothing to undo: no boot was pending, the host runs what its profile holds';
        return 'failed';
      }
      try {
        const r = await scope.exec(host, unstageCommand(t), {
          allowFailure: true,
          onStderrLine: (line) => scope.log(line, host.name),
        });
        if (r.exitCode === 3) {
          revert = `${host.name}'s boot guard had already taken the pending boot: it reverts by itself`;
          return 'failed';
        }
        if (r.exitCode !== 0) {
          revert = `could not put ${marker.previous ?? 'the previous system'} back: ${tail(r.stderr || r.stdout)}`;
          return 'failed';
        }
        const again = await scope.exec(host, rebootCommand(t, scope.runId), { allowFailure: true });
        if (again.exitCode !== 0) {
          revert = `${marker.previous} is the boot default again, but the reboot into it failed: ${tail(again.stderr || again.stdout)}`;
          return 'failed';
        }
        return 'ok';
      } catch (e) {
        revert = `could not reach ${host.name} to undo the boot (${messageOf(e)}); its boot guard reverts it within ${settings.revertSeconds} s of booting`;
        return 'unreachable';
      }
    },
    async 'wait-back'() {
      const back = await waitBack();
      if (typeof back === 'string') {
        revert = `${marker?.previous} is the boot default again, but ${back}`;
        return 'unreachable';
      }
      if (!runs(back, marker?.previous ?? null)) {
        revert = `after the revert ${host.name} runs ${back.currentSystem ?? 'nothing'}, not ${marker?.previous}`;
        return 'failed';
      }
      revert = `rebooted back into ${marker?.previous}`;
      return 'ok';
    },
  };
  // Recorded before the reboot, like an activation: a process that dies while the host is down leaves it
  // open, and the next start asks the host how it came back (settle.ts).
  const record =
    expected === null
      ? null
      : deps.store.beginActivation({
          kind: 'boot',
          host: host.name,
          runId: scope.runId,
          previous: marker?.previous ?? before.currentSystem,
          next: expected,
          startedAt: deps.now(),
          deadline: new Date(deps.now().getTime() + rebootMs + settings.revertSeconds * 1000),
        });
  try {
    const end = await walkFrom(scope, host, 'pending', steps);
    const ended = BOOT_RECORD_OUTCOME[end];
    if (record !== null && ended !== null) {
      deps.store.endActivation(record.id, ended, failure ?? revert, deps.now());
    }
    return { end, failure, revert, staged: marker !== null, system: expected };
  } finally {
    await closeFresh();
  }
}

/**
 * How a reboot's record ends, by where its walk ended; null leaves it open: the host's boot guard decides
 * (it did not come back in time, or the confirmation was lost), and the next start asks the host.
 */
const BOOT_RECORD_OUTCOME: Readonly<Record<BootTerminal, ActivationOutcome | null>> = {
  confirmed: 'confirmed',
  reverted: 'reverted',
  'boot-pending': 'unchanged',
  unchanged: 'unchanged',
  unhealthy: 'unknown',
  'host-guards': null,
};

async function walkFrom(
  scope: RunScope,
  host: HostSpec,
  from: BootState,
  steps: Partial<Record<BootStep, () => Promise<StepResult>>>,
): Promise<BootTerminal> {
  let state: BootState | BootTerminal = from;
  while (!isBootTerminal(state)) {
    const step = BOOT_SEQUENCE[state].step;
    const run = steps[step];
    if (!run) throw new Error(`the boot path has no step ${step} here`);
    scope.log(`boot: ${step}`, host.name);
    state = bootNext(state, await run());
  }
  return state;
}

function tail(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.slice(-TAIL_LINES).join(' / ') || '(no output)';
}

/** The system staged on a host for its next boot, if the guard's marker names one (for `status`). */
export async function stagedBootOf(
  access: Pick<RunScope, 'exec'>,
  host: HostSpec,
): Promise<StorePath | null> {
  try {
    return parsePendingBoot((await access.exec(host, pendingBootCommand())).stdout)?.next ?? null;
  } catch {
    return null;
  }
}
