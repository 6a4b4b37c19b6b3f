// Walks the activation sequence (src/core/activation-sequence.ts) on one host: each state's step runs here,
// and the table says where its result leads. What is being activated is recorded before the revert is armed
// and ended with how it ended, so a bot that dies mid-way leaves a record the next start settles.

import { type ActivationTarget, checkSystemCommand } from '../core/activation.ts';
import {
  activateCommand,
  armCommand,
  confirmCommand,
  DEFAULT_ACTIVATION,
  disarmCommand,
  type HealthCheck,
  isTerminal,
  next,
  revertCommand,
  SEQUENCE,
  type State,
  type Step,
  type StepResult,
  type Terminal,
} from '../core/activation-sequence.ts';
import type { HostFacts } from '../core/host-facts.ts';
import type { ActivationOutcome } from '../core/ports/state.ts';
import { isInhibitedSwitch } from '../core/reboot-need.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import type { FreshAccess, RunScope } from './run-scope.ts';

export interface ActivationRequest {
  readonly toplevel: StorePath;
  /** What the host runs now; what a revert brings back. */
  readonly previous: StorePath | null;
  /** A rollback to an existing generation: the profile is switched to it rather than given a new one. */
  readonly generation?: number;
}

export interface ActivationResult {
  readonly end: Terminal;
  /** The steps' own words: what failed and its output, then what the revert did. */
  readonly failure: string | null;
  readonly revert: string | null;
}

export function activationTarget(host: HostSpec, facts: HostFacts): ActivationTarget {
  return { sudo: host.user !== 'root', systemd: facts.systemd };
}

/** New connections tried after activation before the host counts as lost. */
const RECONNECT_ATTEMPTS = 3;
/** Pause between two tries of a health check that has not passed yet. */
const CHECK_RETRY_MS = 2000;
/** Output of a failed step kept for the message. */
const TAIL_LINES = 8;

export async function activate(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  before: HostFacts,
  req: ActivationRequest,
): Promise<ActivationResult> {
  const settings = host.activation ?? DEFAULT_ACTIVATION;
  const t = activationTarget(host, before);
  const { toplevel, previous } = req;
  let fresh: FreshAccess | null = null;
  let failure: string | null = null;
  let revert: string | null = null;
  let recordId: number | null = null;
  let confirmTried = false;

  const fail = (why: string): StepResult => {
    failure ??= why;
    return 'failed';
  };
  const lost = (why: string): StepResult => {
    failure ??= why;
    return 'unreachable';
  };
  /** A host that answered but whose command hung or failed is a failure; one that did not answer is lost. */
  const thrown = (what: string, e: unknown): StepResult => {
    const kind = (e as { failure?: { kind?: string } } | null)?.failure?.kind;
    const why = `${what}: ${messageOf(e)}`;
    return kind === 'CommandTimeout' || kind === 'RemoteCommandFailed' ? fail(why) : lost(why);
  };

  const steps: Record<Step, () => Promise<StepResult>> = {
    async check() {
      try {
        const r = await scope.exec(host, checkSystemCommand(toplevel), { allowFailure: true });
        return r.exitCode === 0
          ? 'ok'
          : fail(`${toplevel} is not a NixOS system (it has no nixos-version); refusing to activate it`);
      } catch (e) {
        return thrown('could not check the system', e);
      }
    },
    async arm() {
      const startedAt = deps.now();
      recordId = deps.store.beginActivation({
        host: host.name,
        runId: scope.runId,
        previous,
        next: toplevel,
        startedAt,
        deadline: new Date(startedAt.getTime() + settings.revertSeconds * 1000),
      }).id;
      try {
        const r = await scope.exec(host, armCommand(t, settings.revertSeconds, previous, toplevel), {
          allowFailure: true,
        });
        return r.exitCode === 0 ? 'ok' : fail(`could not arm the revert: ${tail(r.stderr || r.stdout)}`);
      } catch (e) {
        return thrown('could not arm the revert', e);
      }
    },
    async activate() {
      try {
        const r = await scope.exec(host, activateCommand(t, toplevel), {
          allowFailure: true,
          // Past the revert time the host has gone back anyway: waiting longer only hides that.
          timeoutMs: settings.revertSeconds * 1000,
          onStderrLine: (line) => scope.log(line, host.name),
        });
        if (r.exitCode === 0) return 'ok';
        // The comparison before the switch (reboot-need.ts) should have staged such a system for a reboot.
        const inhibited = isInhibitedSwitch(`${r.stdout}\n${r.stderr}`)
          ? ' (a switch inhibitor refuses to apply it live: it needs a reboot)'
          : '';
        return fail(
          `switch-to-configuration test exited ${r.exitCode ?? r.signal}${inhibited}: ${tail(r.stderr || r.stdout)}`,
        );
      } catch (e) {
        return thrown('switch-to-configuration test did not finish', e);
      }
    },
    async reconnect() {
      // A busy host or link may miss one connect timeout; a dead sshd or network misses all of them.
      let why = '';
      for (let attempt = 1; attempt <= RECONNECT_ATTEMPTS; attempt++) {
        if (fresh !== null) await (fresh as FreshAccess).close();
        fresh = scope.fresh(host);
        try {
          const facts = await fresh.probe();
          if (facts.currentSystem !== toplevel) {
            return fail(
              `after activation ${host.name} runs ${facts.currentSystem ?? 'nothing'}, not ${toplevel}`,
            );
          }
          return 'ok';
        } catch (e) {
          why = messageOf(e);
          scope.log(`new connection, attempt ${attempt} of ${RECONNECT_ATTEMPTS}: ${why}`, host.name);
        }
      }
      return lost(`no new SSH connection to ${host.name} after activation: ${why}`);
    },
    async health() {
      for (const check of settings.checks) {
        const r = await runCheck(scope, fresh!, check, deps.now);
        if (r !== null) return r.lost ? lost(r.why) : fail(r.why);
      }
      return 'ok';
    },
    async settle() {
      if (settings.settleSeconds <= 0) return 'ok';
      await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000));
      const again = await steps.reconnect();
      return again === 'ok' ? steps.health() : again;
    },
    async confirm() {
      confirmTried = true;
      try {
        const r = await scope.exec(host, confirmCommand(t, toplevel, req.generation ?? null), {
          allowFailure: true,
          onStderrLine: (line) => scope.log(line, host.name),
        });
        return r.exitCode === 0 ? 'ok' : fail(`confirmation failed: ${tail(r.stderr || r.stdout)}`);
      } catch (e) {
        return lost(`lost ${host.name} while confirming: ${messageOf(e)}`);
      }
    },
    async revert() {
      if (previous === null) {
        revert = 'nothing to revert to: the host ran no system before';
        return 'failed';
      }
      try {
        const r = await scope.exec(host, revertCommand(t, previous, confirmTried), {
          allowFailure: true,
          onStderrLine: (line) => scope.log(line, host.name),
        });
        if (r.exitCode !== 0) {
          revert = `the revert to ${previous} failed: ${tail(r.stderr || r.stdout)}`;
          return 'failed';
        }
        // The host's own timer won the marker first (the bot reached it only as it came back): say so.
        if (r.stdout.includes('nothing to revert')) {
          revert = `${host.name} reverts by itself: its own timer had already brought back ${previous}`;
          return 'failed';
        }
        await scope.exec(host, disarmCommand(t), { allowFailure: true });
        revert = `reverted to ${previous}`;
        return 'ok';
      } catch (e) {
        revert = `could not reach ${host.name} to revert (${messageOf(e)}); it reverts by itself to ${previous} within ${settings.revertSeconds} s of arming`;
        return 'unreachable';
      }
    },
  };

  let state: State | Terminal = 'start';
  try {
    while (!isTerminal(state)) {
      const step: Step = SEQUENCE[state].step;
      scope.log(`activation: ${step}`, host.name);
      state = next(state, await steps[step]());
    }
  } finally {
    if (fresh !== null) await (fresh as FreshAccess).close();
  }
  // One the host settles by itself stays open: the next look (settleActivations) says how it ended.
  const outcome = recordedOutcome(state);
  if (recordId !== null && outcome !== null) {
    deps.store.endActivation(recordId, outcome, failure ?? revert, deps.now());
  }
  return { end: state, failure, revert };
}

function recordedOutcome(end: Terminal): ActivationOutcome | null {
  switch (end) {
    case 'confirmed':
      return 'confirmed';
    case 'reverted':
      return 'reverted';
    case 'unchanged':
      return 'unchanged';
    case 'host-reverts':
    case 'host-settles':
      return null;
  }
}

/** Tries a check until it exits 0 or its time is up; null when it passed. The reboot path runs it too. */
export async function runCheck(
  scope: RunScope,
  conn: FreshAccess,
  check: HealthCheck,
  now: () => Date,
): Promise<{ why: string; lost: boolean } | null> {
  const deadline = now().getTime() + check.timeoutSeconds * 1000;
  let last = '';
  for (;;) {
    const left = deadline - now().getTime();
    try {
      const r = await conn.exec(check.argv, { allowFailure: true, timeoutMs: Math.max(1000, left) });
      if (r.exitCode === 0) return null;
      last = `exit ${r.exitCode ?? r.signal}${r.stdout || r.stderr ? `: ${tail(`${r.stdout}\n${r.stderr}`)}` : ''}`;
    } catch (e) {
      const kind = (e as { failure?: { kind?: string } } | null)?.failure?.kind;
      if (kind !== 'CommandTimeout') {
        return { why: `health check "${check.name}" could not run: ${messageOf(e)}`, lost: true };
      }
      last = `no answer within ${check.timeoutSeconds} s`;
    }
    if (now().getTime() + CHECK_RETRY_MS >= deadline) break;
    if (scope.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, CHECK_RETRY_MS));
  }
  return {
    why: `health check "${check.name}" (${check.argv.join(' ')}) failed within ${check.timeoutSeconds} s: ${last}`,
    lost: false,
  };
}

function tail(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.slice(-TAIL_LINES).join(' / ') || '(no output)';
}
