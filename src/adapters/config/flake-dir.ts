// The `flake` setting checked where it can be before any Nix runs: a path flake must be a directory holding
// flake.nix. What only Nix can tell (a syntax error, no nixosConfigurations) comes from listing the hosts,
// and is reported as a problem of this setting too, not as an internal error.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The local directory a flake reference names, or undefined for anything fetched (github:, git+https:, …). */
export function localFlakeDir(flake: string): string | undefined {
  if (flake.startsWith('/')) return flake.split('?')[0];
  if (flake.startsWith('path:/')) return flake.slice('path:'.length).split('?')[0];
  if (flake.startsWith('git+file:///')) return flake.slice('git+file://'.length).split('?')[0];
  return undefined;
}

/** Why a local flake cannot be used, or undefined when it looks usable (or is not local). */
export async function flakeDirProblem(flake: string): Promise<string | undefined> {
  const dir = localFlakeDir(flake);
  if (dir === undefined) return undefined;
  const kind = async (p: string) => {
    try {
      const s = await stat(p);
      return s.isDirectory() ? 'dir' : 'file';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
    }
  };
  switch (await kind(dir)) {
    case 'missing':
      return `${dir} does not exist; it should be the fleet flake's directory (the one holding flake.nix)`;
    case 'unreadable':
      return `${dir} cannot be read by this user`;
    case 'file':
      return `${dir} is a file; give the directory that holds flake.nix`;
  }
  if ((await kind(join(dir, 'flake.nix'))) !== 'file')
    return `${dir} holds no flake.nix; it should be the fleet flake's directory`;
  return undefined;
}

/** Nix's own complaint about the flake, with the place in the file when Nix gave one. */
export function flakeEvalProblem(flake: string, shortMessage: string, stderrTail: string): string {
  const at = stderrTail
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^at .+:\d+:\d+:?$/.test(l));
  // Nix copies a path flake into the store first; the place in the user's own directory is what helps.
  // Only where the same file is there (a flake in a git repository's subdirectory is copied from the root).
  const dir = localFlakeDir(flake);
  const where = at
    ?.replace(/:$/, '')
    .replace(/\/nix\/store\/[0-9a-z]{32}-source(\/[^:]+)/, (whole, rest) =>
      dir !== undefined && existsSync(join(dir, rest)) ? join(dir, rest) : whole,
    );
  return `Nix cannot read the hosts (nixosConfigurations) of ${flake}: ${shortMessage}${where ? ` (${where})` : ''}`;
}
