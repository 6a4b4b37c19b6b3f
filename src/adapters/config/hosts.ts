// The fleet: every host the flake defines, with the configuration's defaults and per-host overrides filled
// in. An override for a host the flake lacks is an error (a typo would otherwise configure nothing).
import type { HostSpec } from '../../core/types.ts';
import { NAME_PATTERN } from './fields.ts';
import { type ConfigProblem, type ConfigResult, failure } from './problems.ts';
import type { Config } from './schema.ts';

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
      return {
        name,
        address,
        lanAddress: own.lanAddress ?? address,
        port: own.port ?? d.port,
        user: own.user ?? d.user,
        site: own.site ?? d.site,
        tags: [...new Set([...d.tags, ...(own.tags ?? [])])],
        restartCommand: [...(own.restartCommand ?? d.restartCommand)],
      };
    }),
  };
}
