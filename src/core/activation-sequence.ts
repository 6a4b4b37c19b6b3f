// Activation that confirms itself or is undone, as data. Read SEQUENCE top to bottom: each state names the
// step the engine runs there and where each way that step can end leads. The engine (src/engine/activate.ts)
// only walks this table; status and the start-up check read the same states.
//
// Why this shape: a new system is activated with `switch-to-configuration test`, which leaves the system
// profile and the boot default alone, so a power cut before confirmation boots the old system. Before that a
// revert is armed ON THE HOST (a transient systemd timer, or a detached sleeper without systemd), so a new
// system that cuts the network or kills sshd, or a bot that dies, still ends with the old system running.
// Only after a fresh SSH connection and the host's health checks pass does one host-side unit disarm the
// revert, set the profile and make the new system the boot default. Host-side, an atomic rename of one
// marker file (`armed` → `confirming` or `reverting`) lets exactly one of confirm and revert win.
import { type ActivationTarget, SWITCH_UNIT, SYSTEM_PROFILE, switchCommand } from './activation.ts';
import type { StorePath } from './types.ts';

type Argv = readonly string[];

// ---- the states and the table -----------------------------------------------------------------------

/** A step the engine runs on the host. */
export type Step = 'check' | 'arm' | 'activate' | 'reconnect' | 'health' | 'settle' | 'confirm' | 'revert';

/** How a step ended: it worked, it failed (the host answered no), or the host could not be reached. */
export type StepResult = 'ok' | 'failed' | 'unreachable';

/** Where a walk of the sequence ends. */
export type Terminal =
  /** Healthy, profile and boot default set: the deployment is recorded. */
  | 'confirmed'
  /** The bot brought the previous system back at once. */
  | 'reverted'
  /** The bot could not reach the host: its own revert timer brings the previous system back. */
  | 'host-reverts'
  /** The confirm unit was started but its answer was lost: it finishes on the host, or the timer reverts. */
  | 'host-settles'
  /** Refused before anything changed (not a NixOS system, or the revert could not be armed). */
  | 'unchanged';

export type State =
  | 'start'
  | 'checked'
  | 'armed'
  | 'active'
  | 'answered'
  | 'healthy'
  | 'settled'
  | 'reverting';

export interface Transition {
  readonly step: Step;
  readonly ok: State | Terminal;
  readonly failed: State | Terminal;
  readonly unreachable: State | Terminal;
}

export const SEQUENCE: Readonly<Record<State, Transition>> = {
  // Refuse anything that is not a NixOS system; nothing has changed yet.
  start: { step: 'check', ok: 'checked', failed: 'unchanged', unreachable: 'unchanged' },
  // Arm the host's own revert. A half-armed timer is harmless: it would re-activate what already runs.
  checked: { step: 'arm', ok: 'armed', failed: 'unchanged', unreachable: 'unchanged' },
  // `switch-to-configuration test` in the fixed transient unit: running changes, profile and boot do not.
  armed: { step: 'activate', ok: 'active', failed: 'reverting', unreachable: 'host-reverts' },
  // A fresh SSH connection (not the pool's): sshd and the network still work under the new system.
  active: { step: 'reconnect', ok: 'answered', failed: 'reverting', unreachable: 'reverting' },
  // The host's health checks, each an argv that must exit 0 within its time limit.
  answered: { step: 'health', ok: 'healthy', failed: 'reverting', unreachable: 'reverting' },
  // Wait a little, then a new connection and the checks once more: a system whose network or sshd dies
  // shortly after activation (a DHCP lease, a restarted networkd) passes checks run at once.
  healthy: { step: 'settle', ok: 'settled', failed: 'reverting', unreachable: 'reverting' },
  // One host-side unit: disarm, set the profile, `switch-to-configuration boot`.
  settled: { step: 'confirm', ok: 'confirmed', failed: 'reverting', unreachable: 'host-settles' },
  // The bot reverts at once if it still can; otherwise the armed timer does.
  reverting: { step: 'revert', ok: 'reverted', failed: 'host-reverts', unreachable: 'host-reverts' },
};

export const TERMINALS: readonly Terminal[] = [
  'confirmed',
  'reverted',
  'host-reverts',
  'host-settles',
  'unchanged',
];

export function isTerminal(s: State | Terminal): s is Terminal {
  return (TERMINALS as readonly string[]).includes(s);
}

/** The next state after `state`'s step ended with `result`. */
export function next(state: State, result: StepResult): State | Terminal {
  return SEQUENCE[state][result];
}

/** Steps that change what the host boots or what its profile holds: only `confirm` does. */
export const TOUCHES_BOOT: ReadonlySet<Step> = new Set(['confirm']);

// ---- what each step runs ----------------------------------------------------------------------------

/** Where the host keeps the activation's marker, pids and last outcome: /run, so a reboot clears it. */
export const ACTIVATION_DIR = '/run/signage-activation';
export const REVERT_UNIT = 'signage-revert';
export const CONFIRM_UNIT = 'signage-confirm';

/** A health check: an argv that must exit 0 within `timeoutSeconds` (tried again until then). */
export interface HealthCheck {
  readonly name: string;
  readonly argv: Argv;
  readonly timeoutSeconds: number;
}

export interface ActivationSettings {
  /** Seconds from arming until the host reverts by itself unless confirmed. */
  readonly revertSeconds: number;
  readonly checks: readonly HealthCheck[];
  /** Seconds to wait after the checks pass before asking again over a new connection (0: no second look). */
  readonly settleSeconds: number;
  /** Seconds the bot waits for a rebooted host to answer again before reporting it lost (DEFAULT_REBOOT_SECONDS). */
  readonly rebootSeconds?: number;
}

/** A Raspberry Pi reboots in 30 to 90 s; five minutes covers a slow SD card and a slow network. */
export const DEFAULT_REBOOT_SECONDS = 300;

/**
 * The kiosk defaults. A revert time of 300 s covers a Raspberry Pi's activation (services restarting, often
 * 30–90 s), a fresh connection and the checks with margin, while a screen broken by a bad system is dark for
 * at most five minutes. The display manager is what shows the kiosk; once `test` has restarted it, it has
 * a minute to come up.
 */
export const DEFAULT_ACTIVATION: ActivationSettings = {
  revertSeconds: 300,
  // Ten seconds cost little against five minutes of revert time, and catch a system that drops its network
  // or sshd just after coming up.
  settleSeconds: 10,
  rebootSeconds: DEFAULT_REBOOT_SECONDS,
  checks: [
    {
      name: 'display manager active',
      argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
      timeoutSeconds: 60,
    },
  ],
};

/**
 * `ours FILE WORD`: the pid recorded in FILE is still the process that wrote it (its command line names WORD),
 * not a later one that was given the same pid: only then is its process group ended.
 */
const OURS =
  'ours() { [ -s "$1" ] && tr "\\0" " " 2>/dev/null < "/proc/$(cat "$1")/cmdline" | grep -q -- "$2"; }';

/**
 * The revert, run by the timer or at once by the bot. $1 is the previous system; $2 is `force` when the bot
 * reverts after a confirmation that failed half-way (the profile may then already point at the new system).
 * Only the one who renames `armed` acts: a confirmed activation is never undone.
 */
export const REVERT_SCRIPT = [
  `d=${ACTIVATION_DIR}`,
  OURS,
  'if ! mv "$d/armed" "$d/reverting" 2>/dev/null; then',
  '  if [ "$2" != force ] || ! mv "$d/confirming" "$d/reverting" 2>/dev/null; then',
  '    echo "nothing to revert: the host had already reverted or confirmed"; exit 0',
  '  fi',
  'fi',
  // A hanging activation is stopped first: its unit where systemd runs, its process group otherwise.
  'if [ -d /run/systemd/system ]; then',
  `  systemctl stop ${SWITCH_UNIT}.service 2>/dev/null`,
  'elif ours "$d/activation.pid" switch-to-configuration; then',
  '  env kill -s TERM -- "-$(cat "$d/activation.pid")" 2>/dev/null',
  'fi',
  'rm -f "$d/activation.pid"',
  'if [ "$2" = force ]; then',
  `  [ "$(readlink -f ${SYSTEM_PROFILE})" = "$1" ] || nix-env -p ${SYSTEM_PROFILE} --set "$1"`,
  '  "$1/bin/switch-to-configuration" switch',
  'else',
  '  "$1/bin/switch-to-configuration" test',
  'fi',
  's=$?',
  'echo "reverted $1 $s" > "$d/outcome"',
  'rm -f "$d/reverting"',
  'exit $s',
].join('\n');

/**
 * Arms the revert: $1 seconds, $2 previous system, $3 new system, $4 the revert script. Records the marker
 * first, then a transient timer where systemd runs, else a detached sleeper in a session of its own (so
 * neither the SSH session's end nor the bot's reaches it) whose process group is recorded for disarming.
 */
export const ARM_SCRIPT = [
  `d=${ACTIVATION_DIR}`,
  'mkdir -p "$d" || exit 1',
  OURS,
  'if ours "$d/sleeper.pid" signage-activation; then',
  '  echo "a revert is already armed on this host" >&2; exit 1',
  'fi',
  // A switch already running (by hand, or another tool) is not ours to stop: refuse before changing anything.
  `if [ -d /run/systemd/system ] && systemctl is-active --quiet ${SWITCH_UNIT}.service; then`,
  `  echo "Unit ${SWITCH_UNIT}.service was already loaded: another switch runs on this host" >&2; exit 1`,
  'fi',
  'rm -f "$d/outcome" "$d/confirming" "$d/reverting"',
  'printf "%s\\n%s\\n" "$2" "$3" > "$d/armed" || exit 1',
  // A host that never ran a system has nothing to return to: the marker alone, for confirm to take.
  '[ -n "$2" ] || exit 0',
  'if [ -d /run/systemd/system ]; then',
  `  systemd-run --on-active="$1" --unit=${REVERT_UNIT} --collect --quiet sh -c "$4" ${REVERT_UNIT} "$2" && exit 0`,
  '  rm -f "$d/armed"; exit 1',
  'fi',
  'setsid sh -c \'echo $$ > "$0/sleeper.pid"; sleep "$1"; rm -f "$0/sleeper.pid"; exec sh -c "$2" signage-revert "$3"\' \\',
  '  "$d" "$1" "$4" "$2" </dev/null >/dev/null 2>&1 &',
  'i=0',
  'while [ $i -lt 100 ]; do [ -s "$d/sleeper.pid" ] && exit 0; i=$((i + 1)); sleep 0.05; done',
  'echo "the revert sleeper did not start" >&2; rm -f "$d/armed"; exit 1',
].join('\n');

/**
 * Confirms: $1 the new system, $2 (a rollback) the existing generation that holds it. Wins the marker (or
 * stops: the revert has begun, exit 3), disarms the timer, points the system profile at the new system (a new
 * generation, or the older one a rollback returns to), then makes it the boot default. One host-side unit.
 */
export const CONFIRM_SCRIPT = [
  `d=${ACTIVATION_DIR}`,
  OURS,
  'mv "$d/armed" "$d/confirming" 2>/dev/null || { echo "the host had already begun to revert" >&2; exit 3; }',
  'if [ -d /run/systemd/system ]; then',
  `  systemctl stop ${REVERT_UNIT}.timer 2>/dev/null`,
  'elif ours "$d/sleeper.pid" signage-activation; then',
  '  env kill -s TERM -- "-$(cat "$d/sleeper.pid")" 2>/dev/null; rm -f "$d/sleeper.pid"',
  'fi',
  'if [ -n "$2" ]; then',
  `  nix-env -p ${SYSTEM_PROFILE} --switch-generation "$2" || exit 1`,
  'else',
  `  nix-env -p ${SYSTEM_PROFILE} --set "$1" || exit 1`,
  'fi',
  '"$1/bin/switch-to-configuration" boot || exit 1',
  'echo "confirmed $1" > "$d/outcome"',
  'rm -f "$d/confirming" "$d/activation.pid"',
].join('\n');

/** Without systemd, the activation records its process group so that a revert can stop it if it hangs. */
const ACTIVATE_SCRIPT = [
  `echo $$ > ${ACTIVATION_DIR}/activation.pid`,
  'exec "$1/bin/switch-to-configuration" test',
].join('\n');

const sudo = (t: ActivationTarget, argv: Argv): Argv =>
  t.sudo ? ['sudo', '--non-interactive', '--', ...argv] : argv;

/** Arms the revert to `previous`; with none (a host that never ran a system), only the marker is written. */
export function armCommand(
  t: ActivationTarget,
  seconds: number,
  previous: StorePath | null,
  next: StorePath,
): Argv {
  return sudo(t, ['sh', '-c', ARM_SCRIPT, 'signage-arm', `${seconds}`, previous ?? '', next, REVERT_SCRIPT]);
}

/** `switch-to-configuration test` of the new system, through the fixed unit as a switch runs. */
export function activateCommand(t: ActivationTarget, system: StorePath): Argv {
  if (t.systemd) return switchCommand(t, system, 'test');
  return sudo(t, ['setsid', '--wait', 'sh', '-c', ACTIVATE_SCRIPT, 'signage-activate', system]);
}

/** One host-side unit, waited for and piped, so a dropped connection cannot stop it half-way. */
export function confirmCommand(
  t: ActivationTarget,
  system: StorePath,
  generation: number | null = null,
): Argv {
  const script = [
    'sh',
    '-c',
    CONFIRM_SCRIPT,
    CONFIRM_UNIT,
    system,
    ...(generation === null ? [] : [`${generation}`]),
  ];
  if (!t.systemd) return sudo(t, ['setsid', '--wait', ...script]);
  return sudo(t, [
    'systemd-run',
    `--unit=${CONFIRM_UNIT}`,
    '--collect',
    '--no-ask-password',
    '--pipe',
    '--wait',
    '--quiet',
    '--service-type=exec',
    ...script,
  ]);
}

/** The bot's own revert: the timer's script, in a unit of its own (a dropped connection cannot cut it); `force` after a failed confirmation. */
export function revertCommand(t: ActivationTarget, previous: StorePath, force = false): Argv {
  const script = ['sh', '-c', REVERT_SCRIPT, REVERT_UNIT, previous, ...(force ? ['force'] : [])];
  if (!t.systemd) return sudo(t, ['setsid', '--wait', ...script]);
  return sudo(t, [
    'systemd-run',
    `--unit=${REVERT_UNIT}-now`,
    '--collect',
    '--no-ask-password',
    '--pipe',
    '--wait',
    '--quiet',
    '--service-type=exec',
    ...script,
  ]);
}

/** Stops the timer once the bot's own revert is done (it would do nothing; a stale timer only confuses). */
export function disarmCommand(t: ActivationTarget): Argv {
  if (t.systemd) return sudo(t, ['systemctl', 'stop', `${REVERT_UNIT}.timer`]);
  return sudo(t, [
    'sh',
    '-c',
    `${OURS}; f=${ACTIVATION_DIR}/sleeper.pid; ours "$f" signage-activation && env kill -s TERM -- "-$(cat "$f")" 2>/dev/null; rm -f "$f"; exit 0`,
  ]);
}

/** What the host says of the last activation: `$d/outcome`, and whether a marker is still held. */
export function outcomeCommand(): Argv {
  return [
    'sh',
    '-c',
    `d=${ACTIVATION_DIR}; for f in armed confirming reverting; do [ -e "$d/$f" ] && echo "marker $f"; done; cat "$d/outcome" 2>/dev/null; exit 0`,
  ];
}

export interface HostActivationState {
  /** The marker still held: an activation waits for confirmation (`armed`) or is mid-way. */
  readonly marker: 'armed' | 'confirming' | 'reverting' | null;
  readonly outcome: { readonly kind: 'confirmed' | 'reverted'; readonly system: StorePath } | null;
}

export function parseOutcome(stdout: string): HostActivationState {
  let marker: HostActivationState['marker'] = null;
  let outcome: HostActivationState['outcome'] = null;
  for (const line of stdout.split('\n')) {
    const m = /^marker (armed|confirming|reverting)$/.exec(line.trim());
    if (m) marker ??= m[1] as 'armed' | 'confirming' | 'reverting';
    const o = /^(confirmed|reverted) (\/nix\/store\/\S+)/.exec(line.trim());
    if (o) outcome = { kind: o[1] as 'confirmed' | 'reverted', system: o[2]! };
  }
  return { marker, outcome };
}

/** A walk of the sequence, for property tests and documentation: the states visited and where it ended. */
export function walk(results: (state: State) => StepResult): { path: State[]; end: Terminal } {
  const path: State[] = [];
  let s: State | Terminal = 'start';
  while (!isTerminal(s)) {
    if (path.length > 20) throw new Error('the activation sequence loops');
    path.push(s);
    s = next(s, results(s));
  }
  return { path, end: s };
}

// ---- the boot path: a system that needs a reboot ------------------------------------------------------
//
// A new kernel, initrd, module tree or firmware (or a switch inhibitor, see reboot-need.ts) takes effect only
// after a reboot, so `test` cannot try it. Instead the system is staged with `boot` (profile and boot default)
// and the host reboots into it, once an approver says so. The promise still holds through a BOOT GUARD the
// host module installs (nix/host-module.nix): a unit that runs at every boot and, when a pending marker names
// the system that just booted, gives the bot `revertSeconds` to confirm it; unless confirmed, it puts the
// previous system back as profile and boot default and reboots, at most once (it takes the marker first, so
// the next boot finds nothing pending). The marker lives in /nix/var (it must survive the reboot) and is
// written BEFORE the boot default changes, so from the moment the new system could boot, a guard watches it.
//
// Two walks: staging (during a deploy) ends `boot-pending`; the reboot (approved, or the `reboot` verb)
// starts at `pending`. Renaming the marker (`pending` → `confirming` or `reverting`) lets exactly one of the
// bot's confirmation and the guard's revert win, as in the walk above.

/** A step of the boot path. */
export type BootStep =
  | 'check'
  | 'stage'
  | 'reboot'
  | 'wait'
  | 'verify'
  | 'health'
  | 'settle'
  | 'release'
  | 'unstage'
  | 'wait-back';

export type BootTerminal =
  /** Rebooted into the new system, healthy, the guard released: the deployment is recorded. */
  | 'confirmed'
  /** The new system failed after the reboot; the previous one is the boot default again and runs. */
  | 'reverted'
  /** Staged: the new system is the (guarded) boot default; the host runs its old one until it reboots. */
  | 'boot-pending'
  /** Lost the host, or it did not come back in time: its guard reverts at boot unless confirmed. */
  | 'host-guards'
  /** Came back failing its checks with nothing pending to undo (a plain reboot, or the guard got there first). */
  | 'unhealthy'
  /** Refused before anything changed. */
  | 'unchanged';

export type BootState =
  | 'boot-start'
  | 'boot-checked'
  | 'pending'
  | 'rebooting'
  | 'back'
  | 'answered-boot'
  | 'healthy-boot'
  | 'settled-boot'
  | 'unstaging'
  | 'rebooting-back';

export interface BootTransition {
  readonly step: BootStep;
  readonly ok: BootState | BootTerminal;
  readonly failed: BootState | BootTerminal;
  readonly unreachable: BootState | BootTerminal;
}

export const BOOT_SEQUENCE: Readonly<Record<BootState, BootTransition>> = {
  // ---- staging, in a deploy
  // Refuse anything that is not a NixOS system.
  'boot-start': { step: 'check', ok: 'boot-checked', failed: 'unchanged', unreachable: 'unchanged' },
  // One host-side unit: refuse a system without the guard, write the marker, set the profile, `boot`. It
  // undoes its own half-work when a step fails; a lost answer may have left a guarded boot default.
  'boot-checked': { step: 'stage', ok: 'boot-pending', failed: 'unchanged', unreachable: 'host-guards' },
  // ---- the reboot, once approved
  // A token in /run (emptied by a reboot) and `systemctl reboot`. Not rebooted: nothing changed.
  pending: { step: 'reboot', ok: 'rebooting', failed: 'boot-pending', unreachable: 'boot-pending' },
  // New connections until the token is gone (a new boot), within `rebootSeconds`.
  rebooting: { step: 'wait', ok: 'back', failed: 'host-guards', unreachable: 'host-guards' },
  // It runs and booted the staged system (current = booted = new).
  back: { step: 'verify', ok: 'answered-boot', failed: 'unstaging', unreachable: 'host-guards' },
  // The same health checks and second look as any activation.
  'answered-boot': { step: 'health', ok: 'healthy-boot', failed: 'unstaging', unreachable: 'unstaging' },
  'healthy-boot': { step: 'settle', ok: 'settled-boot', failed: 'unstaging', unreachable: 'unstaging' },
  // Take the marker from the guard. Lost it (the guard began its revert, or no answer): the guard decides.
  'settled-boot': { step: 'release', ok: 'confirmed', failed: 'host-guards', unreachable: 'host-guards' },
  // The guard's own revert, run at once: previous system as profile and boot default, then a reboot.
  unstaging: { step: 'unstage', ok: 'rebooting-back', failed: 'unhealthy', unreachable: 'host-guards' },
  // Back on the previous system (current = booted = previous), within `rebootSeconds`.
  'rebooting-back': { step: 'wait-back', ok: 'reverted', failed: 'host-guards', unreachable: 'host-guards' },
};

export const BOOT_TERMINALS: readonly BootTerminal[] = [
  'confirmed',
  'reverted',
  'boot-pending',
  'host-guards',
  'unhealthy',
  'unchanged',
];

export function isBootTerminal(s: BootState | BootTerminal): s is BootTerminal {
  return (BOOT_TERMINALS as readonly string[]).includes(s);
}

export function bootNext(state: BootState, result: StepResult): BootState | BootTerminal {
  return BOOT_SEQUENCE[state][result];
}

/** Steps after which the new system may be the boot default: only `stage`, and the marker comes first. */
export const STAGES_BOOT: ReadonlySet<BootStep> = new Set(['stage']);

/** Persistent (it must outlive the reboot it guards): the pending marker and the guard's last outcome. */
export const BOOT_DIR = '/nix/var/signage-boot';
/** In /run, so a reboot clears it: its absence on a new connection proves the host rebooted. */
export const REBOOT_TOKEN = `${ACTIVATION_DIR}/reboot-token`;
export const BOOT_GUARD_UNIT = 'signage-boot-guard';
export const STAGE_UNIT = 'signage-stage';
export const RELEASE_UNIT = 'signage-release';
/** What a system must hold for its guard to run at boot: the host module's unit. */
export const GUARD_UNIT_FILE = `etc/systemd/system/${BOOT_GUARD_UNIT}.service`;

/**
 * The boot guard, installed by the host module (nix/lib/boot-guard.sh holds this same text; a test checks
 * it) and run by the bot as its own revert with $1 = `now`. At boot: a pending marker naming the booted
 * system waits up to its seconds for the bot's confirmation; a marker naming another system (the new one
 * never booted) is undone at once without a reboot. Taking the marker first bounds it to one reboot.
 */
export const BOOT_GUARD_SCRIPT = [
  `d=${BOOT_DIR}; p=${SYSTEM_PROFILE}`,
  'if [ ! -f "$d/pending" ]; then',
  '  [ "$1" = now ] && { echo "nothing to revert: no boot is pending on this host"; exit 3; }',
  '  exit 0',
  'fi',
  'new=$(sed -n 2p "$d/pending"); secs=$(sed -n 3p "$d/pending")',
  'case "$secs" in ""|*[!0-9]*) secs=300 ;; esac',
  'if [ "$1" != now ] && [ "$(readlink /run/booted-system)" = "$new" ]; then',
  '  echo "booted $new: waiting up to $secs s for its confirmation"',
  '  i=0',
  '  while [ "$i" -lt "$secs" ] && [ -f "$d/pending" ]; do sleep 1; i=$((i + 1)); done',
  'fi',
  'mv "$d/pending" "$d/reverting" 2>/dev/null || { echo "confirmed in time"; exit 0; }',
  'prev=$(sed -n 1p "$d/reverting")',
  'ok=1',
  'if [ -n "$prev" ]; then',
  '  { [ "$(readlink -f "$p")" = "$prev" ] || nix-env -p "$p" --set "$prev"; } &&',
  '    "$prev/bin/switch-to-configuration" boot || ok=0',
  'fi',
  'if [ $ok = 1 ]; then echo "reverted $new $prev" > "$d/outcome"; else echo "revert-failed $new $prev" > "$d/outcome"; fi',
  'rm -f "$d/reverting"',
  'if [ $ok = 1 ]; then echo "not confirmed: $prev is the boot default again"; else echo "not confirmed, and the revert failed" >&2; fi',
  // At boot, a host running the unconfirmed system reboots, only with the previous one as its default. The
  // bot's revert (`now`) reboots by itself afterwards, over a command whose lost connection it expects.
  'if [ "$1" != now ] && [ $ok = 1 ] && [ -n "$prev" ] && [ "$(readlink /run/current-system)" = "$new" ]; then',
  '  systemctl reboot',
  'fi',
  '[ $ok = 1 ]',
].join('\n');

/**
 * Stages: $1 previous system (may be empty), $2 new system, $3 the guard's seconds. Refuses a system that
 * would boot without the guard, writes the marker, then profile and boot default; undoes itself on failure.
 */
export const STAGE_SCRIPT = [
  `d=${BOOT_DIR}; p=${SYSTEM_PROFILE}`,
  `[ -e "$2/${GUARD_UNIT_FILE}" ] || { echo "$2 has no ${BOOT_GUARD_UNIT} unit (services.signage-host): a reboot into it could not undo itself" >&2; exit 4; }`,
  `if [ -e "$d/reverting" ] || [ -e "$d/confirming" ]; then echo "the boot guard is busy on this host" >&2; exit 1; fi`,
  'mkdir -p "$d" || exit 1',
  'rm -f "$d/outcome"',
  'printf "%s\\n%s\\n%s\\n" "$1" "$2" "$3" > "$d/pending.new" && mv "$d/pending.new" "$d/pending" || exit 1',
  'undo() {',
  '  if [ -n "$1" ]; then',
  '    { [ "$(readlink -f "$p")" = "$1" ] || nix-env -p "$p" --set "$1"; } && "$1/bin/switch-to-configuration" boot || return 1',
  '  fi',
  '  rm -f "$d/pending"',
  '}',
  'if ! nix-env -p "$p" --set "$2"; then undo "$1"; exit 1; fi',
  'if ! "$2/bin/switch-to-configuration" boot; then',
  '  undo "$1" || echo "could not put $1 back as the boot default: the boot guard reverts at the next boot" >&2',
  '  exit 1',
  'fi',
].join('\n');

/** Takes the marker from the guard: $1 the system that must be the pending one. */
export const RELEASE_SCRIPT = [
  `d=${BOOT_DIR}`,
  '[ "$(sed -n 2p "$d/pending" 2>/dev/null)" = "$1" ] || { echo "no boot of $1 is pending: the guard had already begun to revert" >&2; exit 3; }',
  'mv "$d/pending" "$d/confirming" 2>/dev/null || { echo "the guard had already begun to revert" >&2; exit 3; }',
  'echo "confirmed $1" > "$d/outcome"',
  'rm -f "$d/confirming"',
].join('\n');

/**
 * The token, then a reboot two seconds later, so that this command answers before the host goes down (a
 * lost answer would leave the bot unsure whether it rebooted); $1 is the run id, for whoever reads the token.
 */
export const REBOOT_SCRIPT = [
  `mkdir -p ${ACTIVATION_DIR} && echo "$1" > ${REBOOT_TOKEN} || exit 1`,
  'if [ -d /run/systemd/system ]; then',
  '  systemd-run --on-active=2 --unit=signage-reboot --quiet systemctl reboot',
  'else',
  "  setsid sh -c 'sleep 2; systemctl reboot' </dev/null >/dev/null 2>&1 &",
  'fi',
].join('\n');

/** Exit 0 while the token is there (not rebooted yet), 1 once it is gone. */
export function rebootTokenCommand(): Argv {
  return ['test', '-e', REBOOT_TOKEN];
}

/** The pending marker, if any: `previous`, `next` and the guard's seconds, one a line. */
export function pendingBootCommand(): Argv {
  return ['sh', '-c', `cat ${BOOT_DIR}/pending 2>/dev/null; exit 0`];
}

export interface PendingBoot {
  readonly previous: StorePath | null;
  readonly next: StorePath;
}

export function parsePendingBoot(stdout: string): PendingBoot | null {
  const [previous = '', next = ''] = stdout.split('\n').map((l) => l.trim());
  if (!next.startsWith('/nix/store/')) return null;
  return { previous: previous.startsWith('/nix/store/') ? previous : null, next };
}

/** A fixed script in a waited-for host-side unit of its own name, so a dropped connection cannot cut it. */
function inUnit(t: ActivationTarget, unit: string, script: string, args: Argv): Argv {
  const argv = ['sh', '-c', script, unit, ...args];
  if (!t.systemd) return sudo(t, ['setsid', '--wait', ...argv]);
  return sudo(t, [
    'systemd-run',
    `--unit=${unit}`,
    '--collect',
    '--no-ask-password',
    '--pipe',
    '--wait',
    '--quiet',
    '--service-type=exec',
    ...argv,
  ]);
}

export function stageCommand(
  t: ActivationTarget,
  previous: StorePath | null,
  next: StorePath,
  guardSeconds: number,
): Argv {
  return inUnit(t, STAGE_UNIT, STAGE_SCRIPT, [previous ?? '', next, `${guardSeconds}`]);
}

export function releaseCommand(t: ActivationTarget, next: StorePath): Argv {
  return inUnit(t, RELEASE_UNIT, RELEASE_SCRIPT, [next]);
}

/** The guard's revert, now: previous system as profile and boot default, and a reboot if the new one runs. */
export function unstageCommand(t: ActivationTarget): Argv {
  return inUnit(t, `${BOOT_GUARD_UNIT}-now`, BOOT_GUARD_SCRIPT, ['now']);
}

export function rebootCommand(t: ActivationTarget, runId: string): Argv {
  return sudo(t, ['sh', '-c', REBOOT_SCRIPT, 'signage-reboot', runId]);
}

/** A walk of the boot path from `from`, for property tests and documentation. */
export function walkBoot(
  from: BootState,
  results: (state: BootState) => StepResult,
): { path: BootState[]; end: BootTerminal } {
  const path: BootState[] = [];
  let s: BootState | BootTerminal = from;
  while (!isBootTerminal(s)) {
    if (path.length > 20) throw new Error('the boot path loops');
    path.push(s);
    s = bootNext(s, results(s));
  }
  return { path, end: s };
}
