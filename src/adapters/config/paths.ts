// Relative paths in the file mean relative to the file, not to wherever the bot was started from.
import { resolve } from 'node:path';
import type { Config } from './schema.ts';

/** Nix reads `.`, `./x` and `../x` as paths; anything else (`github:…`, `path:/…`, `/abs`) is left as it is. */
function isRelativeFlakePath(flake: string): boolean {
  return flake === '.' || flake === '..' || flake.startsWith('./') || flake.startsWith('../');
}

export function resolveConfigPaths(config: Config, baseDir: string): Config {
  const at = (p: string) => resolve(baseDir, p);
  const { identityFile, agentSocket } = config.ssh;
  return {
    ...config,
    flake: isRelativeFlakePath(config.flake) ? at(config.flake) : config.flake,
    stateDir: at(config.stateDir),
    builder: {
      ...config.builder,
      signingKeyFile: at(config.builder.signingKeyFile),
      ...(config.builder.nixBinDir === undefined ? {} : { nixBinDir: at(config.builder.nixBinDir) }),
    },
    ssh: {
      ...config.ssh,
      knownHostsFile: at(config.ssh.knownHostsFile),
      ...(identityFile === undefined ? {} : { identityFile: at(identityFile) }),
      ...(agentSocket === undefined ? {} : { agentSocket: at(agentSocket) }),
    },
  };
}
