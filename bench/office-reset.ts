// Puts every host back exactly where the first deploy left it: system profile generation 1 (revision 1) and
// nothing else, running it, and none of a later revision's paths left in its store. Done by entering each
// host's namespaces (office.onHost), not through the bot or its SSH, and checked the same way.
import type { Office } from '../test/office/index.ts';

const PROFILE = '/nix/var/nix/profiles/system';

async function onHostOk(office: Office, host: string, argv: readonly string[]): Promise<string> {
  const r = await office.onHost(host, argv);
  if (r.exitCode !== 0)
    throw new Error(`${argv.join(' ')} on ${host} failed: ${r.stderr.trim().slice(-800)}`);
  return r.stdout;
}

/** Paths among `paths` that the host's store holds. */
export async function heldPaths(office: Office, host: string, paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const invalid = new Set(
    (await onHostOk(office, host, ['nix-store', '--check-validity', '--print-invalid', ...paths]))
      .split('\n')
      .filter(Boolean),
  );
  return paths.filter((p) => !invalid.has(p));
}

export async function runningSystem(office: Office, host: string): Promise<string> {
  return (await office.onHost(host, ['readlink', '/run/current-system'])).stdout.trim();
}

/**
 * Back to revision 1 (`first`: each host's revision-1 toplevel, its generation 1); `later`: the paths only a
 * later revision has, none of which may remain on any host afterwards.
 */
export async function resetOffice(
  office: Office,
  first: ReadonlyMap<string, string>,
  later: readonly string[],
): Promise<void> {
  await Promise.all(
    office.hosts.map(async ({ name }) => {
      const toplevel = first.get(name);
      if (!toplevel) throw new Error(`no revision-1 system known for ${name}`);
      await onHostOk(office, name, ['nix-env', '-p', PROFILE, '--switch-generation', '1']);
      await onHostOk(office, name, ['nix-env', '-p', PROFILE, '--delete-generations', 'old']);
      const profile = (await onHostOk(office, name, ['readlink', '-f', PROFILE])).trim();
      if (profile !== toplevel) throw new Error(`${name}: generation 1 is ${profile}, not ${toplevel}`);
      await onHostOk(office, name, [`${toplevel}/bin/switch-to-configuration`, 'switch']);
      await onHostOk(office, name, ['nix-store', '--gc']);
      const running = await runningSystem(office, name);
      if (running !== toplevel) throw new Error(`${name} runs ${running} after the reset, not ${toplevel}`);
      // The office's hosts share the builder's process table, so Nix's collector can see a store path in some
      // other process of this machine (a runtime root) and keep it. Those later paths are dead on the host
      // itself (no generation refers to them any more): delete them regardless of such roots.
      const lingering = await heldPaths(office, name, later);
      if (lingering.length > 0) {
        await onHostOk(office, name, ['nix-store', '--delete', '--ignore-liveness', ...lingering]);
      }
      const left = await heldPaths(office, name, later);
      if (left.length > 0) throw new Error(`${name} still holds ${left.length} later paths, e.g. ${left[0]}`);
    }),
  );
}
