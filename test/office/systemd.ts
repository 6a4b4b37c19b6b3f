// What the office has of systemd: stand-ins for systemctl and systemd-run good enough for activation to be
// shown for real. Transient services run in a session of their own (so a dropped SSH connection does not
// end them) with their process group recorded under /run/signage-office/units; transient timers are
// detached sleepers recorded the same way; `systemctl stop` ends a unit's whole group by that record;
// `systemctl is-active` reads the units the fleet's switch-to-configuration marked active. Timers armed,
// fired, stopped and finished go to /run/signage-office/timers.log. A host can also be rebooted.
import { mkdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installBootGuard } from './boot-guard.ts';
import { endHost, type OfficeHost, sshdPid, startSshd } from './host.ts';
import { run } from './run.ts';

/** The systemctl stand-in: is-active and stop as above; anything else is recorded in systemctl.log. */
export const SYSTEMCTL = `#!/bin/sh
o=/run/signage-office
mkdir -p "$o/units" "$o/active"
unit() { case "$1" in *.*) echo "$1" ;; *) echo "$1.service" ;; esac; }
# A recorded pid counts only while it is a process of this host (its mount namespace): office hosts share the
# builder's pids, and a stale record must never reach another host's or the builder's processes.
live() {
  p=$(cat "$o/units/$1" 2>/dev/null) && [ -n "$p" ] &&
    [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$(readlink /proc/$$/ns/mnt)" ]
}
case "$1" in
  is-active)
    shift; quiet=
    if [ "$1" = --quiet ] || [ "$1" = -q ]; then quiet=1; shift; fi
    u=$(unit "$1")
    if [ -e "$o/active/$u" ] || live "$u"; then [ -n "$quiet" ] || echo active; exit 0; fi
    [ -n "$quiet" ] || echo inactive
    exit 3 ;;
  stop)
    shift; status=0
    for arg in "$@"; do
      u=$(unit "$arg")
      if live "$u"; then
        env kill -s TERM -- "-$(cat "$o/units/$u")" 2>/dev/null
        rm -f "$o/units/$u"
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) stopped $u" >> "$o/timers.log"
      else
        rm -f "$o/units/$u"
        echo "Failed to stop $u: Unit $u not loaded." >&2; status=5
      fi
    done
    exit $status ;;
  reboot)
    # The office reboots the host (reboot.ts): it watches for this request in the host's persistent /nix.
    mkdir -p /nix/var/signage-office && date -u +%Y-%m-%dT%H:%M:%SZ > /nix/var/signage-office/reboot-request ;;
esac
echo "$*" >> "$o/systemctl.log"
`;

/**
 * The systemd-run stand-in. A service refuses a second unit of the same name while one runs (what stops two
 * switches overlapping); --wait or --pipe waits for it and passes its output and exit status on.
 */
export const SYSTEMD_RUN = `#!/bin/sh
o=/run/signage-office
mkdir -p "$o/units"
echo "$*" >> "$o/systemd-run.log"
unit=run-$$; delay=; wait=
while [ $# -gt 0 ]; do
  case "$1" in
    --unit=*) unit=\${1#--unit=}; shift ;;
    --on-active=*) delay=\${1#--on-active=}; shift ;;
    --wait|--pipe|-P) wait=1; shift ;;
    -E|--setenv|-p|--property) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ -n "$delay" ]; then
  f="$o/units/$unit.timer"
  if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
    echo "Failed to start transient timer unit: Unit $unit.timer was already loaded or has a fragment file." >&2
    exit 1
  fi
  rm -f "$f"
  setsid sh -c '
    o=$1; unit=$2; delay=$3; shift 3
    echo $$ > "$o/units/$unit.timer"
    sleep "$delay"
    rm -f "$o/units/$unit.timer"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) fired $unit.timer" >> "$o/timers.log"
    echo $$ > "$o/units/$unit.service"
    "$@"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) finished $unit.service $?" >> "$o/timers.log"
    rm -f "$o/units/$unit.service"
  ' sh "$o" "$unit" "$delay" "$@" </dev/null >>"$o/timers.out" 2>&1 &
  i=0
  while [ ! -s "$f" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) armed $unit.timer $delay" >> "$o/timers.log"
  exit 0
fi
f="$o/units/$unit.service"
if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
  echo "Failed to start transient service unit: Unit $unit.service was already loaded or has a fragment file." >&2
  exit 1
fi
echo $$ > "$f"
if [ -n "$wait" ]; then
  setsid --wait sh -c 'echo $$ > "$0"; exec "$@"' "$f" "$@"
  status=$?
  rm -f "$f"
  exit $status
fi
setsid sh -c 'echo $$ > "$0"; "$@"; rm -f "$0"' "$f" "$@" </dev/null >/dev/null 2>&1 &
exit 0
`;

/**
 * What the test fleet's systems do to the host around them: `up` brings the link and sshd up (every healthy
 * activation does), `sshd-down` ends sshd and every session under it, `link-down` pulls the host's cable.
 */
export function hostControl(host: OfficeHost): string {
  return `#!/bin/sh
tree() { for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; kill -KILL "$1" 2>/dev/null; }
case "$1" in
  up)
    ip link set eth0 up 2>/dev/null
    pid=$(cat /run/sshd.pid 2>/dev/null)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then /usr/sbin/sshd -f '${join(host.dir, 'etc', 'sshd_config')}'; fi ;;
  sshd-down)
    pid=$(cat /run/sshd.pid 2>/dev/null)
    [ -n "$pid" ] && tree "$pid"
    rm -f /run/sshd.pid ;;
  link-down)
    ip link set eth0 down ;;
  *) echo "usage: signage-office-host up|sshd-down|link-down" >&2; exit 2 ;;
esac
`;
}

export async function installSystemd(host: OfficeHost): Promise<void> {
  const bin = join(host.dir, 'bin');
  await writeFile(join(bin, 'systemctl'), SYSTEMCTL, { mode: 0o755 });
  await writeFile(join(bin, 'signage-office-host'), hostControl(host), { mode: 0o755 });
  await installBootGuard(host);
  if (host.systemd) {
    await writeFile(join(bin, 'systemd-run'), SYSTEMD_RUN, { mode: 0o755 });
    await mkdir(join(host.dir, 'run', 'systemd', 'system'), { recursive: true });
  }
}

/** The host's boot default, as its last `switch-to-configuration boot` (or `switch`) left it; null if none. */
export async function bootDefault(host: OfficeHost): Promise<string | null> {
  try {
    return await readlink(join(host.dir, 'nix', 'var', 'signage-office', 'boot-default'));
  } catch {
    return null;
  }
}

/**
 * Reboots a host as a power cycle would: every process in its namespaces ends, /run is emptied as a tmpfs
 * is, the system comes up from its boot default (/run/current-system and /run/booted-system point at it, its
 * units are active, the link is up) and sshd starts again. Needs the host's sshd running to find it.
 */
export async function rebootHost(host: OfficeHost): Promise<void> {
  await endHost(await sshdPid(host));
  await powerOnHost(host);
}

/** Brings up a host whose processes have all ended, from its boot default, as rebootHost does. */
export async function powerOnHost(host: OfficeHost): Promise<void> {
  const runDir = join(host.dir, 'run');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(join(runDir, 'sshd'), { recursive: true });
  await mkdir(join(runDir, 'signage-office', 'active'), { recursive: true });
  if (host.systemd) await mkdir(join(runDir, 'systemd', 'system'), { recursive: true });
  const boot = await bootDefault(host);
  if (boot !== null) {
    await symlink(boot, join(runDir, 'current-system'));
    await symlink(boot, join(runDir, 'booted-system'));
    await writeFile(join(runDir, 'signage-office', 'active', 'display-manager.service'), '');
  }
  await run(['ip', 'netns', 'exec', host.netns, 'ip', 'link', 'set', 'eth0', 'up']);
  await startSshd(host);
}
