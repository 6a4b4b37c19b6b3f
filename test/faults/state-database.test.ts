// Fault matrix: the state database damaged, read-only, locked by another process, and deleted. Each from a
// known state (a host deployed once, the database whole), each checked on the host itself: a state problem
// is reported as one (exit 2, what to do), never blamed on a host, and nothing runs on a host meanwhile.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE } from '../../src/adapters/state/open.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import { SIGNAGE, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('faults: the state database', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let revision = 1;
  const db = () => join(config.stateDir, STATE_FILE);
  beforeAll(async () => {
    office = await startOffice({ hosts: [A], scale: 0.05 });
    config = officeConfig(office);
  });
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });
  // The known state: a whole database that has recorded a deploy, and a new revision waiting to be deployed.
  beforeEach(async () => {
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) rmSync(f, { force: true });
    const first = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
    expectExit(first, 0);
    revision += 1;
    await office.fleet.setRevision(revision);
  });

  /** A deploy of the new revision must not have touched the host. */
  async function untouched(before: { current: string; profile: string }) {
    expect(await systemOf(office, A)).toEqual(before);
  }

  it('a damaged page: found at open, reported as damage with what to do, exit 2, nothing run on the host', async () => {
    const before = await systemOf(office, A);
    const fd = openSync(db(), 'r+');
    try {
      // Page 2 and on: the tables' own pages, overwritten as a failing disk would.
      writeSync(fd, Buffer.alloc(6000, 0xa5), 0, 6000, 4096 + 64);
    } finally {
      closeSync(fd);
    }
    for (const verb of [
      ['status', A],
      ['deploy', A, '--no-restart'],
    ]) {
      const out = await signage(['--config', config.file, ...verb]);
      expectExit(out, 2);
      expect(out.stderr).toContain('the state database is damaged');
      expect(out.stderr).toContain('move the file aside');
      expect(out.all).not.toMatch(/unreachable|host failed/);
    }
    await untouched(before);
  });

  it('a read-only state directory: a clear error, exit 2, nothing run on the host', async () => {
    const before = await systemOf(office, A);
    // Root writes through file modes, so the directory is mounted read-only in a mount namespace of its own.
    const out = await execa(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
        'sh',
        config.stateDir,
        process.execPath,
        SIGNAGE,
        '--config',
        config.file,
        'deploy',
        A,
        '--no-restart',
      ],
      { reject: false, stdin: 'ignore', all: true },
    );
    expectExit(out, 2);
    expect(out.stderr).toMatch(/read-only file system.*nothing was run/);
    expect(out.stderr).toContain('nothing was run');
    await untouched(before);
  });

  it('a database locked by another process: a clear error after the wait, exit 2, nothing run', async () => {
    const before = await systemOf(office, A);
    // Another process holds the write lock and keeps it until it is told to let go.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const { DatabaseSync } = require('node:sqlite');
         const db = new DatabaseSync(process.argv[1]);
         db.exec('BEGIN EXCLUSIVE');
         process.stdout.write('held\\n');
         process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`,
        db(),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 2);
      expect(out.stderr).toContain('locked by another process');
      await untouched(before);
    } finally {
      holder.stdin.write('go\n');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
  });

  it('a deleted database is made anew with a warning that history and open questions were lost', async () => {
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) rmSync(f, { force: true });
    const out = await signage(['--config', config.file, 'status', A]);
    expect(out.stderr).toContain(`the state database ${db()} was missing`);
    expect(out.stderr).toContain('open restart questions were lost');
    expect(existsSync(db())).toBe(true);
    // Said once: the next command finds the new database and says nothing.
    const again = await signage(['--config', config.file, 'status', A]);
    expect(again.stderr).not.toContain('was missing');
  });
});
