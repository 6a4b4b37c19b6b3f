// The baseline the engine is measured against: what `nixos-rebuild switch --target-host root@HOST` does, one
// host after another: build on the builder, copy the closure from the builder over the uplink, then point
// the system profile at it and run its switch-to-configuration, over plain OpenSSH with the office's strict
// options. Nothing here uses the engine or its adapters.
import { execa } from 'execa';
import { quoteArgv } from '../src/adapters/ssh/quote.ts';
import { isStorePath } from '../src/core/storepath.ts';
import type { Office } from '../test/office/index.ts';

const PROFILE = '/nix/var/nix/profiles/system';
const STEP_TIMEOUT_MS = 600_000;

async function step(what: string, file: string, args: readonly string[], env: Record<string, string>) {
  const r = await execa(file, args, { reject: false, env, timeout: STEP_TIMEOUT_MS, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    throw new Error(`${what} failed (${r.shortMessage}): ${r.stderr.trim().slice(-1500)}`);
  }
  return r.stdout;
}

/** Deploys every host of the office in turn, as nixos-rebuild would; returns each host's toplevel. */
export async function nixosRebuildAll(office: Office): Promise<Map<string, string>> {
  const env = { SSH_AUTH_SOCK: office.agentSocket, NIX_SSHOPTS: office.sshOptions.join(' ') };
  const deployed = new Map<string, string>();
  // The builder's Nix the office chose, as the engine's configuration names it: both methods run the same one.
  const nix = `${office.builderNix.binDir}/nix`;
  for (const host of office.hosts) {
    const built = await step(
      `nix build for ${host.name}`,
      nix,
      ['build', '--json', '--no-link', office.fleet.installable(host.name)],
      env,
    );
    const toplevel = (JSON.parse(built) as { outputs: { out: string } }[])[0]?.outputs.out;
    if (!isStorePath(toplevel)) throw new Error(`nix build printed no store path for ${host.name}: ${built}`);
    const target = `${host.user}@${host.address}`;
    await step(`nix copy to ${host.name}`, nix, ['copy', '--to', `ssh://${target}`, toplevel], env);
    const ssh = (argv: readonly string[]) =>
      step(
        `${argv[0]} on ${host.name}`,
        'ssh',
        [...office.sshOptions, '-p', String(host.port), target, quoteArgv(argv)],
        env,
      );
    await ssh(['test', '-f', `${toplevel}/nixos-version`]);
    await ssh(['nix-env', '-p', PROFILE, '--set', toplevel]);
    await ssh([`${toplevel}/bin/switch-to-configuration`, 'switch']);
    deployed.set(host.name, toplevel);
  }
  return deployed;
}
