// The fleet: every host the flake defines, with the configuration's defaults and per-host overrides filled
// in. An override for a host the flake lacks is an error (a typo would otherwise configure nothing).
import type { ActivationSettings } from '../../core/activation-sequence.ts';
import type { HealthSettings } from '../../core/health.ts';
import { type PolicySettings, resolvePolicy } from '../../core/policy.ts';
import type { HostSpec, ScreenshotSettings } from '../../core/types.ts';
import { parseWindows, type TimeWindow } from '../../core/windows.ts';
import { NAME_PATTERN } from './fields.ts';
import { type ConfigProblem, type ConfigResult, failure } from './problems.ts';
import type { Config, HostOverride, PolicyConfig } from './schema.ts';

export function resolveHosts(
  config: Config,
  flakeHostNames: readonly string[],
  configFile = 'the configuration',
): ConfigResult<HostSpec[]> {
  const names = [...new Set(flakeHostNames)].sort();
  const problems: ConfigProblem[] = [];
  if (names.length === 0) {
    problems.push({
      path: 'flake',
      message: `${config.flake} defines no nixosConfigurations, so there are no hosts to manage`,
    });
  }
  for (const name of names) {
    if (!NAME_PATTERN.test(name)) {
      problems.push({
        path: 'flake',
        message: `nixosConfigurations.${JSON.stringify(name)} is not a usable host name (lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters); rename it in the flake`,
      });
    }
  }
  const known = new Set(names);
  for (const name of Object.keys(config.hosts).sort()) {
    if (!known.has(name)) {
      problems.push({
        path: `hosts.${name}`,
        message: `the flake has no nixosConfigurations.${name}; its hosts are: ${names.join(', ') || '(none)'}`,
      });
    }
  }
  const d = config.defaults;
  problems.push(...unusedPolicies(config, names));
  if (problems.length > 0) return failure(configFile, problems);

  const policies = {
    sites: policiesOf(config.sites),
    tags: policiesOf(config.tags),
    defaultTimezone: config.schedule.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  return {
    ok: true,
    value: names.map((name): HostSpec => {
      const own = config.hosts[name] ?? {};
      const address = own.address ?? name;
      const tags = [...new Set([...d.tags, ...(own.tags ?? [])])];
      return {
        name,
        address,
        lanAddress: own.lanAddress ?? address,
        port: own.port ?? d.port,
        user: own.user ?? d.user,
        site: own.site ?? d.site,
        tags,
        restartCommand: [...(own.restartCommand ?? d.restartCommand)],
        activation: activationOf(config, own.activation, tags),
        policy: resolvePolicy({ site: own.site ?? d.site, tags }, policies),
        health: healthOf(config, own.health, tags),
        ...screenshotOf(config, own.screenshotCommand, tags),
      };
    }),
  };
}

/** A host's own command wins, then that of its first tag (in tag order) that sets one, then the default. */
function screenshotOf(
  config: Config,
  own: readonly string[] | undefined,
  tags: readonly string[],
): { screenshot?: ScreenshotSettings } {
  const byTag = tags.map((t) => config.screenshot.tags[t]?.command).find((c) => c !== undefined);
  const argv = own ?? byTag ?? config.screenshot.command;
  if (argv === undefined) return {};
  return {
    screenshot: {
      argv: [...argv],
      timeoutMs: config.screenshot.timeoutSeconds * 1000,
      maxBytes: config.screenshot.maxBytes,
    },
  };
}

/**
 * A host's own setting wins, then its tags' (checks of every tag that sets them, in tag order; the longest
 * revert and settle times of those that set one), then the configuration's `activation` defaults.
 */
function activationOf(
  config: Config,
  own: HostOverride['activation'],
  tags: readonly string[],
): ActivationSettings {
  const byTag = tags.flatMap((t) => {
    const a = config.activation.tags[t];
    return a ? [a] : [];
  });
  const tagChecks = byTag.flatMap((a) => a.checks ?? []);
  const tagRevert = byTag.flatMap((a) => (a.revertSeconds === undefined ? [] : [a.revertSeconds]));
  const tagSettle = byTag.flatMap((a) => (a.settleSeconds === undefined ? [] : [a.settleSeconds]));
  const tagReboot = byTag.flatMap((a) => (a.rebootSeconds === undefined ? [] : [a.rebootSeconds]));
  const checks =
    own?.checks ??
    (byTag.some((a) => a.checks !== undefined) ? tagChecks : undefined) ??
    config.activation.checks;
  return {
    revertSeconds:
      own?.revertSeconds ?? (tagRevert.length > 0 ? Math.max(...tagRevert) : config.activation.revertSeconds),
    settleSeconds:
      own?.settleSeconds ?? (tagSettle.length > 0 ? Math.max(...tagSettle) : config.activation.settleSeconds),
    rebootSeconds:
      own?.rebootSeconds ?? (tagReboot.length > 0 ? Math.max(...tagReboot) : config.activation.rebootSeconds),
    checks: checks.map((c) => ({ name: c.name, argv: [...c.argv], timeoutSeconds: c.timeoutSeconds })),
  };
}

/** A site or tag policy no host has would apply to nothing: most likely a misspelt name. */
function unusedPolicies(config: Config, names: readonly string[]): ConfigProblem[] {
  const sites = new Set(names.map((n) => config.hosts[n]?.site ?? config.defaults.site));
  const tags = new Set(names.flatMap((n) => [...config.defaults.tags, ...(config.hosts[n]?.tags ?? [])]));
  const problems: ConfigProblem[] = [];
  for (const [section, known] of [
    ['sites', sites],
    ['tags', tags],
  ] as const) {
    for (const key of Object.keys(config[section]).sort()) {
      if (known.has(key)) continue;
      problems.push({
        path: `${section}.${key}`,
        message: `no host has the ${section === 'sites' ? 'site' : 'tag'} ${key}; the hosts' ${section} are: ${[...known].sort().join(', ') || '(none)'}`,
      });
    }
  }
  return problems;
}

/** The schema checked every window; here they are parsed into what the policy reads. */
function policiesOf(section: Readonly<Record<string, PolicyConfig>>): Record<string, PolicySettings> {
  const parsed = (texts: readonly string[] | undefined): TimeWindow[] | undefined => {
    if (texts === undefined) return undefined;
    const w = parseWindows(texts);
    if (!w.ok) throw new Error(`a window the configuration's schema let through: ${w.error}`);
    return w.value;
  };
  return Object.fromEntries(
    Object.entries(section).map(([key, p]) => [
      key,
      { timezone: p.timezone, windows: parsed(p.windows), offHours: parsed(p.offHours) },
    ]),
  );
}

/** Field by field: the host's own setting, then the first of its tags that sets it, then `health` itself. */
function healthOf(config: Config, own: HostOverride['health'], tags: readonly string[]): HealthSettings {
  const layers = [own ?? {}, ...tags.flatMap((t) => config.health.tags[t] ?? [])];
  const pick = <K extends 'power' | 'temperature' | 'hotCelsius' | 'minFreeMiB'>(key: K) =>
    layers.find((l) => l[key] !== undefined)?.[key] ?? config.health[key];
  const command = (v: string[] | false) => (v === false ? null : [...v]);
  return {
    power: command(pick('power')),
    temperature: command(pick('temperature')),
    hotCelsius: pick('hotCelsius'),
    minFreeBytes: pick('minFreeMiB') * 1024 * 1024,
  };
}
