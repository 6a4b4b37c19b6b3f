// What one look at a host tells the engine: which system it runs and booted, the system profile's
// generations, free space for the store, whether systemd runs, Nix's version, uptime. The SSH adapter runs a
// fixed script printing tagged sections (PROBE_SCRIPT) and pure code (parseProbeOutput) reads them. A host
// never deployed (no /run/current-system, no profile) is an ordinary answer with nulls and no generations.
import type { CommandOutcome } from './health.ts';
import { HEALTH_PROBE_LINES, parseCommandSection } from './health-probe.ts';
import { parseStorePath } from './storepath.ts';
import type { StorePath } from './types.ts';

export interface SystemGeneration {
  readonly number: number;
  readonly path: StorePath;
  /** When the generation link was made (its mtime), as `nix-env --list-generations` shows. */
  readonly createdAt: Date;
}

export interface StoreSpace {
  /** Size of the file system holding /nix/store. */
  readonly totalBytes: number;
  /** Space available to unprivileged writers, as `df` shows it. */
  readonly freeBytes: number;
}

export interface HostFacts {
  /** Target of /run/current-system; null on a host never switched to a system. */
  readonly currentSystem: StorePath | null;
  /** Target of /run/booted-system; null when absent. */
  readonly bootedSystem: StorePath | null;
  /** Generations of /nix/var/nix/profiles/system, oldest first; empty when there is no profile. */
  readonly generations: readonly SystemGeneration[];
  /** The generation the profile points at; null without a profile. */
  readonly currentGeneration: number | null;
  /** The system that generation holds: what the host boots into, and switches to on rollback. */
  readonly profileSystem: StorePath | null;
  /** Contents of the current system's `nixos-version` file. */
  readonly nixosVersion: string | null;
  readonly store: StoreSpace | null;
  /** Whether /run/systemd/system exists (systemd is the running init), as nixos-rebuild checks. */
  readonly systemd: boolean;
  /** e.g. `2.8.0`, from `nix-store --version`; null when Nix did not answer. */
  readonly nixVersion: string | null;
  readonly uptimeSeconds: number | null;
  /** Targets of the running and booted systems' `kernel` links: a reboot is pending when they differ. */
  readonly currentKernel: string | null;
  readonly bootedKernel: string | null;
  /** An activation mid-way on the host (see activation-sequence.ts): waiting for confirmation, or past it. */
  readonly activationMarker: 'armed' | 'confirming' | 'reverting' | null;
  /** What the host's power and temperature commands said (health.ts reads them); `off` when not asked. */
  readonly power: CommandOutcome;
  readonly temperature: CommandOutcome;
  /** Things the probe saw but could not use, e.g. a current system outside the store. */
  readonly notes: readonly string[];
}

// ---- the probe ------------------------------------------------------------------------------------------

/** The sections PROBE_SCRIPT prints, in order, each after a `@@signage-probe:NAME` line. */
export const PROBE_SECTIONS = [
  'current',
  'booted',
  'profile',
  'generations',
  'nixos-version',
  'store',
  'systemd',
  'nix-version',
  'uptime',
  'current-kernel',
  'booted-kernel',
  'activation',
  'power',
  'temperature',
] as const;

export type ProbeSection = (typeof PROBE_SECTIONS)[number];

const TAG = '@@signage-probe:';

/**
 * A POSIX sh script printing what HostFacts holds, one tagged section each, and exiting 0 whatever is absent:
 * a host never deployed simply prints empty sections. Generation lines are `system-N-link<TAB>mtime<TAB>target`
 * (the link's own mtime, as nix-env shows it); the store line is `dir blocksize blocks available` from
 * `stat -f` of /nix/store, or of /nix before the store's first use. The health commands come as positional
 * parameters (health-probe.ts); without any, their sections say `off`.
 */
export const PROBE_SCRIPT = [
  `s() { echo "${TAG}$1"; }; p=/nix/var/nix/profiles`,
  's begin',
  's current; readlink /run/current-system 2>/dev/null',
  's booted; readlink /run/booted-system 2>/dev/null',
  's profile; readlink "$p/system" 2>/dev/null',
  's generations',
  'for l in "$p"/system-*-link; do',
  '  [ -L "$l" ] || continue',
  `  printf '%s\\t%s\\t%s\\n' "$(basename "$l")" "$(stat -c %Y "$l" 2>/dev/null)" "$(readlink "$l" 2>/dev/null)"`,
  'done',
  's nixos-version; cat /run/current-system/nixos-version 2>/dev/null; echo',
  's store; d=/nix/store; [ -d "$d" ] || d=/nix',
  `printf '%s ' "$d"; stat -f -c '%S %b %a' "$d" 2>/dev/null || echo`,
  's systemd; if [ -d /run/systemd/system ]; then echo yes; else echo no; fi',
  's nix-version; nix-store --version 2>/dev/null',
  's uptime; cat /proc/uptime 2>/dev/null',
  's current-kernel; readlink /run/current-system/kernel 2>/dev/null',
  's booted-kernel; readlink /run/booted-system/kernel 2>/dev/null',
  's activation',
  'for f in armed confirming reverting; do [ -e "/run/signage-activation/$f" ] && echo "$f"; done',
  ...HEALTH_PROBE_LINES,
  's end',
  'exit 0',
].join('\n');

export type ProbeParse =
  | { readonly ok: true; readonly facts: HostFacts }
  | { readonly ok: false; readonly error: string };

/** Reads PROBE_SCRIPT's output. Fails only when the output is not the probe's (or was cut short). */
export function parseProbeOutput(stdout: string): ProbeParse {
  const sections = splitSections(stdout);
  if (typeof sections === 'string') return { ok: false, error: sections };
  const notes: string[] = [];
  const line = (name: ProbeSection) =>
    (sections.get(name) ?? []).map((l) => l.trim()).find((l) => l !== '') ?? '';

  const systemLink = (name: 'current' | 'booted', what: string): StorePath | null => {
    const target = line(name);
    if (target === '') return null;
    const parsed = parseStorePath(target);
    if (parsed.ok) return parsed.path;
    notes.push(`${what} is not a store path: ${parsed.error}`);
    return null;
  };
  const currentSystem = systemLink('current', '/run/current-system');
  const bootedSystem = systemLink('booted', '/run/booted-system');

  const generations: SystemGeneration[] = [];
  for (const raw of sections.get('generations') ?? []) {
    if (raw.trim() === '') continue;
    const [link = '', mtime = '', target = ''] = raw.split('\t');
    const number = generationOf(link);
    const parsed = parseStorePath(target);
    if (number === null || !/^\d+$/.test(mtime) || !parsed.ok) {
      notes.push(`unreadable generation line ${JSON.stringify(raw.slice(0, 200))}`);
      continue;
    }
    generations.push({ number, path: parsed.path, createdAt: new Date(Number(mtime) * 1000) });
  }
  generations.sort((a, b) => a.number - b.number);

  const profile = line('profile');
  let currentGeneration: number | null = null;
  if (profile !== '') {
    currentGeneration = generationOf(profile.slice(profile.lastIndexOf('/') + 1));
    if (currentGeneration === null)
      notes.push(`the system profile points at ${profile}, not at a generation`);
  }
  let profileSystem: StorePath | null = null;
  if (currentGeneration !== null) {
    profileSystem = generations.find((g) => g.number === currentGeneration)?.path ?? null;
    if (profileSystem === null)
      notes.push(`the system profile's generation ${currentGeneration} has no link`);
  }

  const version = (sections.get('nixos-version') ?? []).join('\n').trim();

  let store: StoreSpace | null = null;
  const storeLine = line('store');
  if (storeLine !== '') {
    const m = /^(\S+) (\d+) (\d+) (\d+)$/.exec(storeLine);
    if (m) {
      const block = Number(m[2]);
      store = { totalBytes: block * Number(m[3]), freeBytes: block * Number(m[4]) };
    } else {
      notes.push(`unreadable file system sizes ${JSON.stringify(storeLine.slice(0, 200))}`);
    }
  }

  const nixLine = line('nix-version');
  const nixVersion = /(\d+\.\d+[0-9A-Za-z.+-]*)\s*$/.exec(nixLine)?.[1] ?? null;
  if (nixLine !== '' && nixVersion === null) notes.push(`unreadable Nix version ${JSON.stringify(nixLine)}`);

  const uptimeLine = line('uptime');
  const uptime = /^(\d+(?:\.\d+)?)/.exec(uptimeLine);
  const uptimeSeconds = uptime ? Math.floor(Number(uptime[1])) : null;

  const kernel = (name: 'current-kernel' | 'booted-kernel') => {
    const k = line(name);
    return k === '' ? null : k;
  };
  const marker = line('activation');

  return {
    ok: true,
    facts: {
      currentSystem,
      bootedSystem,
      generations,
      currentGeneration,
      profileSystem,
      nixosVersion: version === '' ? null : version,
      store,
      systemd: line('systemd') === 'yes',
      nixVersion,
      uptimeSeconds,
      currentKernel: kernel('current-kernel'),
      bootedKernel: kernel('booted-kernel'),
      activationMarker:
        marker === 'armed' || marker === 'confirming' || marker === 'reverting' ? marker : null,
      power: parseCommandSection(sections.get('power') ?? []),
      temperature: parseCommandSection(sections.get('temperature') ?? []),
      notes,
    },
  };
}

function generationOf(link: string): number | null {
  const m = /^system-(\d+)-link$/.exec(link);
  return m ? Number(m[1]) : null;
}

// Lines before the begin tag (a login shell's chatter) are ignored; every section and the end tag must be
// there, in order, or the output was not the probe's whole answer.
function splitSections(stdout: string): Map<ProbeSection, string[]> | string {
  const lines = stdout.split('\n');
  const begin = lines.indexOf(`${TAG}begin`);
  if (begin < 0) return 'the output is not the probe script answer (no begin tag)';
  const sections = new Map<ProbeSection, string[]>();
  let current: string[] | null = null;
  let expected = 0;
  for (const l of lines.slice(begin + 1)) {
    if (!l.startsWith(TAG)) {
      current?.push(l);
      continue;
    }
    const name = l.slice(TAG.length);
    if (name === 'end') {
      if (expected < PROBE_SECTIONS.length) {
        return `the probe output lacks the ${PROBE_SECTIONS[expected]} section`;
      }
      return sections;
    }
    if (name !== PROBE_SECTIONS[expected]) {
      return `the probe output has section ${JSON.stringify(name)} where ${PROBE_SECTIONS[expected] ?? 'the end'} belongs`;
    }
    current = [];
    sections.set(name, current);
    expected++;
  }
  return 'the probe output was cut short (no end tag)';
}
