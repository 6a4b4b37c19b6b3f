// Offices register what they create, so two can run at once (parallel test files) without clashing names
// or addresses, and so an office whose owner died (a crashed test run) is cleaned up by the next one.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endHost, readPid } from './host.ts';
import { netnsName, removeLink, removeNetns, uplinkName } from './net.ts';
import { endDaemon } from './nix-serve.ts';
import { alive, isOfficeProcess, isOfficeScript } from './proc.ts';
import { endProcess, run } from './run.ts';

/** The delay relays' script (test/office/delay.ts starts it): teardown ends only Node running it. */
const DELAY_RELAY = join(import.meta.dirname, 'delay-relay.ts');

const REGISTRY = '/run/signage-office';
/** Where offices keep their files; teardown refuses to remove anything outside it. */
export const OFFICES_DIR = '/var/lib/signage-office';

export interface OfficeRecord {
  readonly id: string;
  readonly ownerPid: number;
  readonly subnet: number;
  readonly dir: string;
  netns: string[];
  links: string[];
  pidFiles: string[];
  pids: number[];
}

export async function allocate(): Promise<OfficeRecord> {
  await mkdir(REGISTRY, { recursive: true });
  await reapStale();
  const id = randomBytes(3).toString('hex');
  const routed = (await run(['ip', '-4', 'route', 'show'])).stdout;
  for (let attempt = 0; attempt < 500; attempt++) {
    const subnet = 1 + Math.floor(Math.random() * 254);
    if (routed.includes(`10.231.${subnet}.`)) continue;
    try {
      // mkdir is atomic: of two offices picking the same subnet, one gets it.
      await mkdir(join(REGISTRY, `subnet-${subnet}`));
    } catch {
      continue;
    }
    const record: OfficeRecord = {
      id,
      ownerPid: process.pid,
      subnet,
      dir: join(OFFICES_DIR, id),
      netns: [],
      links: [],
      pidFiles: [],
      pids: [],
    };
    await save(record);
    return record;
  }
  throw new Error('no free 10.231.X.0/24 subnet for a new office');
}

export async function save(record: OfficeRecord): Promise<void> {
  await writeFile(join(REGISTRY, `office-${record.id}.json`), JSON.stringify(record));
}

/**
 * Ends what an office started, by pid, and removes what it created. Safe to call twice. A record is read back
 * from a file another run left: it is trusted only for what its id names, and a pid only while that pid is
 * still the program the office started (pids are reused).
 */
export async function teardown(record: OfficeRecord): Promise<void> {
  const problem = recordProblem(record);
  if (problem !== null) throw new Error(`${problem}: left alone`);
  for (const file of record.pidFiles) {
    if (!file.startsWith(`${record.dir}/`)) continue;
    const pid = await readPid(file);
    if (pid !== null && isOfficeProcess(pid, 'sshd', record.dir)) await endHost(pid);
    // A host's nix-daemon outlives its sshd when the host crashed and was not started again.
    else await endDaemon(file, record.dir);
  }
  for (const pid of record.pids) {
    // The agent, and the delay relays (test/office/delay.ts), whose ready files are under the office's dir.
    if (isOfficeProcess(pid, 'ssh-agent', record.dir) || isOfficeScript(pid, DELAY_RELAY, record.dir))
      await endProcess(pid);
  }
  for (const ns of record.netns) {
    if (ns.startsWith(netnsName(record.id, ''))) await removeNetns(ns);
  }
  for (const link of record.links) {
    if (link === uplinkName(record.id)) await removeLink(link);
  }
  // Host stores are plain directories here: the bind mounts lived only in the hosts' own mount namespaces,
  // which ended with the last of their processes above.
  await rm(record.dir, { recursive: true, force: true });
  await rmdir(join(REGISTRY, `subnet-${record.subnet}`)).catch(() => {});
  await rm(join(REGISTRY, `office-${record.id}.json`), { force: true });
}

/** Why a record read back from the registry is not one that teardown may act on, or null when it is. */
export function recordProblem(record: OfficeRecord): string | null {
  const { id, dir, ownerPid, subnet, netns, links, pidFiles, pids } = record;
  if (typeof id !== 'string' || !/^[0-9a-f]{6}$/.test(id)) return `office record with a bad id ${id}`;
  if (dir !== join(OFFICES_DIR, id)) return `office record ${id} names the directory ${dir}`;
  const ints = [ownerPid, subnet, ...(Array.isArray(pids) ? pids : [Number.NaN])];
  if (!ints.every((n) => Number.isInteger(n) && n > 0)) return `office record ${id} has a bad pid or subnet`;
  const lists = [netns, links, pidFiles];
  if (!lists.every((l) => Array.isArray(l) && l.every((x) => typeof x === 'string')))
    return `office record ${id} is damaged`;
  return null;
}

/**
 * Tears down every office whose owner process has ended (a crashed run), skipping damaged records; returns
 * those it removed.
 */
export async function reapStale(): Promise<OfficeRecord[]> {
  const reaped: OfficeRecord[] = [];
  for (const record of await listOffices()) {
    if (recordProblem(record) !== null || alive(record.ownerPid)) continue;
    await teardown(record);
    reaped.push(record);
  }
  return reaped;
}

/** Every office this machine holds now; a record that cannot be read is skipped. */
export async function listOffices(): Promise<OfficeRecord[]> {
  await mkdir(REGISTRY, { recursive: true });
  const out: OfficeRecord[] = [];
  for (const name of await readdir(REGISTRY)) {
    if (!name.startsWith('office-')) continue;
    try {
      out.push(JSON.parse(await readFile(join(REGISTRY, name), 'utf8')) as OfficeRecord);
    } catch {
      // being written, or removed, by its owner
    }
  }
  return out;
}
