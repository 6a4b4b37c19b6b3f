// Helpers for testing the SSH adapter against the simulated office: host specs as the configuration would
// give them, adapter settings pointing at the office's trust and credentials, and putting a built system
// on a host with the same tools an operator would use (nix store sign, nix copy over ssh://).
import type { SshSettingsInput } from '../../src/adapters/ssh/settings.ts';
import type { HostSpec } from '../../src/core/types.ts';
import type { Office } from '../office/index.ts';
import { run } from '../office/run.ts';

export function hostSpec(office: Office, name: string, overrides: Partial<HostSpec> = {}): HostSpec {
  const h = office.host(name);
  return {
    name: h.name,
    address: h.address,
    lanAddress: h.address,
    port: h.port,
    user: h.user,
    site: 'office',
    tags: [],
    restartCommand: [],
    ...overrides,
  };
}

export function officeSettings(office: Office, overrides: Partial<SshSettingsInput> = {}): SshSettingsInput {
  return { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket, ...overrides };
}

/** Builds a host's system, signs it and copies its closure to the host; returns the toplevel. */
export async function putSystem(office: Office, host: string): Promise<string> {
  const toplevel = await office.fleet.build(host);
  await run(['nix', 'store', 'sign', '--key-file', office.signingKeyFile, '-r', toplevel]);
  await copyTo(office, host, [toplevel]);
  return toplevel;
}

export async function copyTo(office: Office, host: string, paths: readonly string[]): Promise<void> {
  await run(['nix', 'copy', '--to', `ssh://root@${office.host(host).address}`, ...paths], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      NIX_SSHOPTS: office.sshOptions.join(' '),
      SSH_AUTH_SOCK: office.agentSocket,
    },
  });
}

/** The closure of a store path on the builder, from nix-store itself. */
export async function closureOf(path: string): Promise<string[]> {
  const out = await run(['nix-store', '--query', '--requisites', path]);
  return out.stdout.split('\n').filter(Boolean);
}

/** Runs a check on a host through its namespaces (not SSH); throws when it fails. */
export async function onHostOk(
  office: Office,
  host: string,
  argv: readonly string[],
  input?: string,
): Promise<string> {
  const r = await office.onHost(host, argv, input);
  if (r.exitCode !== 0)
    throw new Error(`${argv.join(' ')} on ${host} failed (${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Polls until `check` holds, for conditions that become true soon after an event (not a timing assertion). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`still not true after ${ms} ms: ${what}`);
}
