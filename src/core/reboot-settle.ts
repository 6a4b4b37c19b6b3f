// How a reboot that a stopped process left open ended, from what the host says now: it came up on the system
// it was to boot, its boot guard put the previous one back, it is still down, or it is still waiting for a
// confirmation nobody will give (its guard then reverts it, and the next start says so). Pure: the engine
// asks the host (one probe, one round trip for the guard's files) and records what this decides.
import { BOOT_DIR, REBOOT_TOKEN } from './activation-sequence.ts';
import type { ActivationOutcome } from './ports/state.ts';
import type { StorePath } from './types.ts';

type Argv = readonly string[];

/** What the host's boot guard files say: the reboot token, the pending marker's system, the last outcome. */
export interface HostBootState {
  /** The reboot token is still in /run: the host has not rebooted since it was asked to. */
  readonly token: boolean;
  /** The system the pending marker names (staged, not yet confirmed or reverted). */
  readonly pending: StorePath | null;
  /** The guard's last word: `confirmed NEW`, `reverted NEW PREV` or `revert-failed NEW PREV`. */
  readonly outcome:
    | { readonly kind: 'confirmed'; readonly next: StorePath }
    | { readonly kind: 'reverted' | 'revert-failed'; readonly next: StorePath; readonly previous: StorePath }
    | null;
}

const SCRIPT = [
  `d=${BOOT_DIR}`,
  `[ -e ${REBOOT_TOKEN} ] && echo token`,
  '[ -f "$d/pending" ] && echo "pending $(sed -n 2p "$d/pending")"',
  '[ -f "$d/outcome" ] && echo "outcome $(cat "$d/outcome")"',
  'exit 0',
].join('\n');

export function hostBootStateCommand(): Argv {
  return ['sh', '-c', SCRIPT, 'signage-boot-state'];
}

export function parseHostBootState(stdout: string): HostBootState {
  let token = false;
  let pending: StorePath | null = null;
  let outcome: HostBootState['outcome'] = null;
  for (const line of stdout.split('\n').map((l) => l.trim())) {
    if (line === 'token') token = true;
    const p = /^pending (\/nix\/store\/\S+)$/.exec(line);
    if (p) pending = p[1]!;
    const c = /^outcome confirmed (\/nix\/store\/\S+)$/.exec(line);
    if (c) outcome = { kind: 'confirmed', next: c[1]! };
    const r = /^outcome (reverted|revert-failed) (\/nix\/store\/\S+) (\/nix\/store\/\S+)$/.exec(line);
    if (r) outcome = { kind: r[1] as 'reverted' | 'revert-failed', next: r[2]!, previous: r[3]! };
  }
  return { token, pending, outcome };
}

/** The reboot as recorded: what ran before, what the host was to come back on, and when the guard gives up. */
export interface OpenReboot {
  readonly host: string;
  readonly previous: StorePath | null;
  readonly next: StorePath;
  readonly deadline: Date;
}

/** What the host says now; `down` with why, when it did not answer. */
export type HostNow =
  | { readonly kind: 'down'; readonly why: string }
  | {
      readonly kind: 'up';
      readonly current: StorePath | null;
      readonly booted: StorePath | null;
      readonly boot: HostBootState;
    };

export interface RebootSettled {
  /** null: not settled yet (still down, or still waiting for its guard); the next start looks again. */
  readonly outcome: ActivationOutcome | null;
  readonly message: string;
}

export function settleReboot(r: OpenReboot, now: HostNow, at: Date): RebootSettled {
  const staged = r.previous !== null && r.previous !== r.next;
  const guard = staged
    ? `; its boot guard puts ${r.previous} back when it boots unless ${r.next} is confirmed`
    : '';
  if (now.kind === 'down') {
    return {
      outcome: null,
      message: `${r.host}: still down after its reboot into ${r.next} (the bot stopped while it rebooted; ${now.why})${guard}; the next start looks again`,
    };
  }
  const { current, booted, boot } = now;
  if (boot.token) {
    if (at > r.deadline)
      return {
        outcome: 'unchanged',
        message: `${r.host}: never rebooted (the bot stopped before it did); it still runs ${current ?? 'nothing'}`,
      };
    return { outcome: null, message: `${r.host}: has not rebooted yet; the next start looks again` };
  }
  if (boot.pending === r.next) {
    return {
      outcome: null,
      message:
        booted === r.next
          ? `${r.host}: came up on ${r.next}, but the bot stopped before confirming it${guard}; the next start looks again`
          : `${r.host}: ${r.next} is still staged for its next boot; the next start looks again`,
    };
  }
  if (boot.outcome?.kind === 'revert-failed' && boot.outcome.next === r.next) {
    return {
      outcome: 'unknown',
      message: `${r.host}: its boot guard could not put ${boot.outcome.previous} back after the unconfirmed reboot into ${r.next}; it runs ${current ?? 'nothing'}: see \`signage status\``,
    };
  }
  if (current === r.next && booted === r.next) {
    return {
      outcome: 'confirmed',
      message: staged
        ? `${r.host}: came up on its new system ${r.next} after its reboot, confirmed before the bot stopped`
        : `${r.host}: came back up on ${r.next} after its reboot (the bot stopped while it rebooted)`,
    };
  }
  if (
    boot.outcome?.kind === 'reverted' &&
    boot.outcome.next === r.next &&
    current === boot.outcome.previous
  ) {
    return {
      outcome: 'reverted-by-host',
      message: `${r.host}: reverted via its boot guard to ${boot.outcome.previous}: its reboot into ${r.next} was never confirmed`,
    };
  }
  return {
    outcome: 'unknown',
    message: `${r.host}: after its reboot it runs ${current ?? 'nothing'} and booted ${booted ?? 'nothing'}, neither ${r.next} nor ${r.previous ?? 'a previous system'}; see \`signage status\``,
  };
}
