// Offices register what they create, so two can run at once (parallel test files) without clashing names
// or addresses, and so an office whose owner died (a crashed test run) is cleaned up by the next one.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readPid } from './host.ts';
import { removeLink, removeNetns } from './net.ts';
import { alive, endProcess, run } from './run.ts';

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

/** Ends what an office started, by pid, and removes what it created. Safe to call twice. */
export async function teardown(record: OfficeRecord): Promise<void> {
  for (const file of record.pidFiles) {
    const pid = await readPid(file);
    if (pid !== null) await endProcess(pid);
  }
  for (const pid of record.pids) await endProcess(pid);
  for (const ns of record.netns) await removeNetns(ns);
  for (const link of record.links) await removeLink(link);
  // Host stores are plain directories here: the bind mounts lived only in the hosts' own mount namespaces,
  // which ended with their sshd. The path check keeps a damaged record from removing anything else.
  if (record.dir.startsWith(`${OFFICES_DIR}/`) && /^[0-9a-f]{6}$/.test(record.id)) {
    await rm(record.dir, { recursive: true, force: true });
  }
  await rmdir(join(REGISTRY, `subnet-${record.subnet}`)).catch(() => {});
  await rm(join(REGISTRY, `office-${record.id}.json`), { force: true });
}

async function reapStale(): Promise<void> {
  for (const name of await readdir(REGISTRY)) {
    if (!name.startsWith('office-')) continue;
    let record: OfficeRecord;
    try {
      record = JSON.parse(await readFile(join(REGISTRY, name), 'utf8')) as OfficeRecord;
    } catch {
      continue;
    }
    if (!alive(record.ownerPid)) await teardown(record);
  }
}

/** Every office this machine holds now, for `npm run office -- --clean`. */
export async function listOffices(): Promise<OfficeRecord[]> {
  await mkdir(REGISTRY, { recursive: true });
  const out: OfficeRecord[] = [];
  for (const name of await readdir(REGISTRY)) {
    if (name.startsWith('office-'))
      out.push(JSON.parse(await readFile(join(REGISTRY, name), 'utf8')) as OfficeRecord);
  }
  return out;
}
