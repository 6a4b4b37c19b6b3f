// A ready signage.yml for a running office: its fleet flake (or one the user names), the builder's signing key,
// the known_hosts and SSH agent the hosts trust, and every host at its address. Valid while the office runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Office } from './office.ts';

export interface OfficeConfigOptions {
  /** The fleet flake for the configuration; the office's own test fleet when absent. */
  readonly flake?: string;
  /** The site every host is in (one office LAN). */
  readonly site?: string;
}

export function officeConfigText(office: Office, opts: OfficeConfigOptions = {}): string {
  const config = {
    flake: opts.flake === undefined ? office.fleet.flakeRef : resolve(opts.flake),
    // Inside the office's directory: torn down with the office, as every other file this names is.
    stateDir: join(office.dir, 'signage-state'),
    builder: { signingKeyFile: office.signingKeyFile },
    ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
    hosts: Object.fromEntries(
      office.hosts.map((h) => [h.name, { address: h.address, site: opts.site ?? 'office', tags: [] }]),
    ),
  };
  return [
    `# signage configuration for the simulated office ${office.id}, written by \`npm run office\`.`,
    '# Valid while that office runs: its keys, agent and addresses go with it.',
    "# The office's hosts are not NixOS machines: with a real fleet flake, build, plan, copy, overlap, status",
    '# and hosts are safe; do not switch or deploy a real system into them (its activation would run here).',
    stringify(config),
  ].join('\n');
}

export async function writeOfficeConfig(
  office: Office,
  file: string,
  opts: OfficeConfigOptions = {},
): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, officeConfigText(office, opts), { mode: 0o600 });
  return path;
}
