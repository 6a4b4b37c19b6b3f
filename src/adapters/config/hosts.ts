// The fleet: every host the flake defines, with the configuration's defaults and per-host overrides filled
// in. An override for a host the flake lacks is an error (a typo would otherwise configure nothing).
import type { ActivationSettings } from '../../core/activation-sequence.ts';
import type { HostSpec } from '../../core/types.ts';
import { NAME_PATTERN } from './fields.ts';
import { type ConfigProblem, type ConfigResult, failure } from './problems.ts';
import type { Config, HostOverride } from './schema.ts';

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
  if (problems.length > 0) return failure(configFile, problems);

  const d = config.defaults;
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
      };
    }),
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
