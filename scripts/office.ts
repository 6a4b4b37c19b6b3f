// Brings up a simulated office by hand for exploring: `npm run office -- [--hosts a,b,c] [--scale 0.1]
// [--uplink-kbit 16000] [--flake PATH] [--write-config FILE]`; prints how to reach each host, and tears
// everything down on Ctrl-C. `--write-config FILE` writes a signage.yml for the office (with `--flake`, for
// that flake, its hosts being the flake's nixosConfigurations unless --hosts names them).
// `npm run office -- --clean` removes offices left by processes that died; offices still in use are kept.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { flakeDirProblem } from '../src/adapters/config/flake-dir.ts';
import { listConfigurations } from '../src/adapters/nix/flake.ts';
import { writeOfficeConfig } from '../test/office/config-file.ts';
import { startOffice } from '../test/office/index.ts';
import { alive } from '../test/office/proc.ts';
import { listOffices, reapStale, recordProblem } from '../test/office/registry.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string' },
    scale: { type: 'string', default: '0.1' },
    'uplink-kbit': { type: 'string' },
    clean: { type: 'boolean', default: false },
    flake: { type: 'string' },
    'write-config': { type: 'string' },
  },
  strict: true,
});
// `npm run office -- --flake ./fleet`: paths as the caller typed them, from where they typed them.
if (process.env.npm_lifecycle_event === 'office' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

if (values.clean) {
  for (const record of await reapStale()) {
    console.log(`removed office ${record.id} (its owner, pid ${record.ownerPid}, has ended)`);
  }
  for (const record of await listOffices()) {
    const problem = recordProblem(record);
    if (problem !== null) console.log(`left alone: ${problem}`);
    else if (alive(record.ownerPid))
      console.log(`kept office ${record.id}: still in use by pid ${record.ownerPid}`);
  }
  process.exit(0);
}

const flake = values.flake === undefined ? undefined : resolve(values.flake);
let hosts = values.hosts?.split(',');
if (flake !== undefined) {
  const problem = await flakeDirProblem(flake);
  if (problem) {
    console.error(`office: --flake: ${problem}`);
    process.exit(2);
  }
  hosts ??= [...(await listConfigurations(flake))];
  if (hosts.length === 0) {
    console.error(`office: ${flake} defines no nixosConfigurations; name the hosts with --hosts`);
    process.exit(2);
  }
}

const office = await startOffice({
  ...(hosts ? { hosts } : {}),
  scale: Number(values.scale),
  ...(values['uplink-kbit'] ? { uplinkKbit: Number(values['uplink-kbit']) } : {}),
});
const ssh = ['ssh', ...office.sshOptions].join(' ');
console.log(`office ${office.id} is up in ${office.dir}`);
console.log(`  export SSH_AUTH_SOCK=${office.agentSocket}`);
console.log(`  fleet flake: ${office.fleet.flakeRef}`);
console.log(`  builder signing key: ${office.signingKeyFile} (public: ${office.publicKey})`);
for (const h of office.hosts) console.log(`  ${h.name.padEnd(20)} ${ssh} -A root@${h.address}`);
if (values['write-config']) {
  const file = await writeOfficeConfig(office, values['write-config'], flake ? { flake } : {});
  console.log(`  configuration: ${file} (try: bin/signage --config ${file} status)`);
}
console.log(`  uplink: ${office.uplinkInterface}; Ctrl-C tears the office down`);
const stop = async () => {
  await office.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
