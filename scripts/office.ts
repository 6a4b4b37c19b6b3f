// Brings up a simulated office by hand for exploring: `npm run office -- [--hosts a,b,c] [--scale 0.1]
// [--uplink-kbit 16000]`; prints how to reach each host, and tears everything down on Ctrl-C.
// `npm run office -- --clean` removes offices left by processes that died; offices still in use are kept.
import { parseArgs } from 'node:util';
import { startOffice } from '../test/office/index.ts';
import { alive } from '../test/office/proc.ts';
import { listOffices, reapStale, recordProblem } from '../test/office/registry.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string' },
    scale: { type: 'string', default: '0.1' },
    'uplink-kbit': { type: 'string' },
    clean: { type: 'boolean', default: false },
  },
  strict: true,
});

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

const office = await startOffice({
  ...(values.hosts ? { hosts: values.hosts.split(',') } : {}),
  scale: Number(values.scale),
  ...(values['uplink-kbit'] ? { uplinkKbit: Number(values['uplink-kbit']) } : {}),
});
const ssh = ['ssh', ...office.sshOptions].join(' ');
console.log(`office ${office.id} is up in ${office.dir}`);
console.log(`  export SSH_AUTH_SOCK=${office.agentSocket}`);
console.log(`  fleet flake: ${office.fleet.flakeRef}`);
console.log(`  builder signing key: ${office.signingKeyFile} (public: ${office.publicKey})`);
for (const h of office.hosts) console.log(`  ${h.name.padEnd(20)} ${ssh} -A root@${h.address}`);
console.log(`  uplink: ${office.uplinkInterface}; Ctrl-C tears the office down`);
const stop = async () => {
  await office.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
