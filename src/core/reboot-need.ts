// Whether a new system takes full effect only after a reboot. A NixOS toplevel links what the boot loader and
// the early boot load (`kernel`, `initrd`, `kernel-modules`, `firmware`): `switch-to-configuration test` cannot
// change those in a running kernel, so a new one needs `boot` and a reboot. They are compared with the BOOTED
// system's (what the kernel actually loaded), not the current one's, which an earlier `test` may have changed.
// Newer NixOS also lists `switch-inhibitors` (a JSON object of names to store paths, e.g. systemd): when a
// value present in both the running and the new system differs, its switch refuses to apply the new system
// live. Those are compared with the CURRENT system's, as switch-to-configuration does.
type Argv = readonly string[];

export const BOOT_LINKS = ['kernel', 'initrd', 'kernel-modules', 'firmware'] as const;
export type BootLink = (typeof BOOT_LINKS)[number];

/** What one system says about its boot: each link's target (null when it has none) and its inhibitors. */
export interface SystemBoot {
  readonly links: Readonly<Record<BootLink, string | null>>;
  /** The `switch-inhibitors` file's entries; null when the system has none (older NixOS, or none set). */
  readonly inhibitors: Readonly<Record<string, string>> | null;
}

export type RebootReason =
  | { readonly kind: BootLink; readonly from: string | null; readonly to: string | null }
  | { readonly kind: 'inhibitor'; readonly name: string; readonly from: string; readonly to: string };

export interface RebootNeed {
  /** Empty: the new system applies live with `test`. */
  readonly reasons: readonly RebootReason[];
}

export const NO_REBOOT: RebootNeed = { reasons: [] };

const TAG = '@@signage-boot:';

/**
 * Prints SYSTEM's boot links and switch inhibitors as tagged lines (`@@signage-boot:link NAME TARGET`, then
 * `@@signage-boot:inhibitors` and the file's text). $1 is the system (a path or a /run link); exits 0 always.
 */
const SYS_FUNCTION = [
  'sys() {',
  `  for l in ${BOOT_LINKS.join(' ')}; do echo "${TAG}link $l $(readlink "$1/$l" 2>/dev/null)"; done`,
  `  echo "${TAG}inhibitors"`,
  '  cat "$1/switch-inhibitors" 2>/dev/null',
  '  return 0',
  '}',
].join('\n');

/**
 * Prints SYSTEM's boot links and switch inhibitors as tagged lines (`@@signage-boot:link NAME TARGET`, then
 * `@@signage-boot:inhibitors` and the file's text). $1 is the system; exits 0 always.
 */
export const SYSTEM_BOOT_SCRIPT = [SYS_FUNCTION, 'sys "$1"', 'exit 0'].join('\n');

/** SYSTEM_BOOT_SCRIPT for a system on the host itself (a rollback's older generation). */
export function systemBootCommand(toplevel: string): Argv {
  return ['sh', '-c', SYSTEM_BOOT_SCRIPT, 'signage-system-boot', toplevel];
}

/**
 * One round trip for what the running host compares against: the booted system's links (the current one's
 * where the host has no /run/booted-system) and the current system's inhibitors, each under its own tag.
 */
export const RUNNING_BOOT_SCRIPT = [
  SYS_FUNCTION,
  `echo "${TAG}booted"`,
  'b=/run/booted-system; [ -e "$b" ] || b=/run/current-system',
  '[ -e "$b" ] && sys "$b"',
  `echo "${TAG}current"`,
  '[ -e /run/current-system ] && sys /run/current-system',
  'exit 0',
].join('\n');

export function runningBootCommand(): Argv {
  return ['sh', '-c', RUNNING_BOOT_SCRIPT, 'signage-boot-facts'];
}

/** Reads SYSTEM_BOOT_SCRIPT's lines (or one section of RUNNING_BOOT_SCRIPT's); null when there were none. */
export function parseSystemBoot(text: string): SystemBoot | null {
  const links: Record<BootLink, string | null> = {
    kernel: null,
    initrd: null,
    'kernel-modules': null,
    firmware: null,
  };
  let seen = false;
  const inhibitorLines: string[] = [];
  let inInhibitors = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${TAG}link `)) {
      seen = true;
      inInhibitors = false;
      const [, name = '', target = ''] = line.slice(TAG.length).split(' ');
      if ((BOOT_LINKS as readonly string[]).includes(name) && target !== '') links[name as BootLink] = target;
    } else if (line === `${TAG}inhibitors`) {
      inInhibitors = true;
    } else if (inInhibitors) {
      inhibitorLines.push(line);
    }
  }
  if (!seen) return null;
  return { links, inhibitors: parseInhibitors(inhibitorLines.join('\n')) };
}

/** RUNNING_BOOT_SCRIPT's two sections: null where the host has no such system (never deployed). */
export function parseRunningBoot(stdout: string): {
  readonly booted: SystemBoot | null;
  readonly current: SystemBoot | null;
} {
  const at = (tag: string) => stdout.indexOf(`${TAG}${tag}\n`);
  const b = at('booted');
  const c = at('current');
  if (b < 0 || c < 0) return { booted: null, current: null };
  return {
    booted: parseSystemBoot(stdout.slice(b, c)),
    current: parseSystemBoot(stdout.slice(c)),
  };
}

function parseInhibitors(text: string): Record<string, string> | null {
  if (text.trim() === '') return null;
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
    return out;
  } catch {
    return null;
  }
}

/**
 * Why `next` needs a reboot on a host whose booted and current systems are as given. A host that runs no
 * system yet has nothing to compare with: its first system is activated as any other.
 */
export function rebootNeed(
  running: { readonly booted: SystemBoot | null; readonly current: SystemBoot | null },
  next: SystemBoot,
): RebootNeed {
  const reasons: RebootReason[] = [];
  if (running.booted !== null) {
    for (const link of BOOT_LINKS) {
      const from = running.booted.links[link];
      const to = next.links[link];
      if (from !== to) reasons.push({ kind: link, from, to });
    }
  }
  const was = running.current?.inhibitors;
  const will = next.inhibitors;
  if (was && will) {
    for (const name of Object.keys(will).sort()) {
      const from = was[name];
      const to = will[name];
      if (from !== undefined && to !== undefined && from !== to)
        reasons.push({ kind: 'inhibitor', name, from, to });
    }
  }
  return { reasons };
}

/** `linux-6.6.51-rpi` from `/nix/store/HASH-linux-6.6.51-rpi/bzImage`. */
function shortName(target: string | null): string {
  if (target === null) return 'none';
  const m = /^\/nix\/store\/[0-9a-z]{32}-([^/]+)/.exec(target);
  return m ? m[1]! : target;
}

/** One reason in words, e.g. "kernel linux-6.6.51-rpi → linux-6.6.60-rpi". */
export function describeReason(r: RebootReason): string {
  if (r.kind === 'inhibitor') return `${r.name} ${shortName(r.from)} → ${shortName(r.to)} (switch inhibitor)`;
  return `${r.kind} ${shortName(r.from)} → ${shortName(r.to)}`;
}

/** "needs a reboot: kernel a → b, kernel-modules c → d"; empty when none is needed. */
export function describeRebootNeed(need: RebootNeed): string {
  if (need.reasons.length === 0) return '';
  return `needs a reboot: ${need.reasons.map(describeReason).join(', ')}`;
}

/** What switch-to-configuration prints when an inhibitor refuses a live switch (nixpkgs' own words). */
export function isInhibitedSwitch(output: string): boolean {
  return /There are changes to critical components of the system/.test(output);
}
