// Fault matrix: /nix full on the target. The host's /nix gets an overlay whose writable layer is a small tmpfs,
// filled to leave less room than the new system needs: the copy is refused before anything is sent,
// and taking the overlay away afterwards puts the host's store back exactly as it was. Run with the terminal
// `signage`, checked on the host itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import { rawState, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
/** Room left on the full /nix: less than the revision's new paths (about 1 MiB at this scale). */
const LEFT_BYTES = 128 * 1024;

// Fixed script text; the room to leave is its one parameter. The database files are copied up to the writable
// layer first, so the filler leaves the room for the store paths alone.
const FILL = [
  'set -e',
  'd=/run/signage-full',
  'mkdir -p "$d"',
  'mount -t tmpfs -o size=256m signage-full "$d"',
  'mkdir "$d/upper" "$d/work"',
  'mount -t overlay signage-full -o "lowerdir=/nix,upperdir=$d/upper,workdir=$d/work" /nix',
  'for f in /nix/var/nix/db/db.sqlite /nix/var/nix/db/db.sqlite-wal /nix/var/nix/db/db.sqlite-shm; do',
  '  if [ -e "$f" ]; then : >> "$f"; fi',
  'done',
  'avail=$(df --output=avail -B1 "$d" | tail -n 1)',
  'head -c "$((avail - $1))" /dev/zero > "$d/filler"',
].join('\n');
const EMPTY = ['d=/run/signage-full', 'umount /nix', 'umount "$d"', 'rmdir "$d"'].join('\n');

describe.skipIf(unavailable !== null)('faults: the disk', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [A], scale: 0.05 });
    config = officeConfig(office);
    expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart']), 0);
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  it('/nix full on the target: the deploy fails naming disk space, the host keeps its system and profile', async () => {
    const before = await systemOf(office, A);
    expect(before.current).toBe(before.profile);
    await office.fleet.setRevision(2);
    const full = await office.onHost(A, ['sh', '-c', FILL, 'sh', String(LEFT_BYTES)]);
    expect(full.exitCode, full.stderr).toBe(0);
    try {
      const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 1);
      // The stream asks the host's free space before it sends a byte, and refuses there.
      expect(out.all).toContain(`${A} has not the space for the copy`);
      expect(out.all).toContain('Nothing was sent or imported');
      expect(out.all).not.toMatch(/\n\s+at /);
      // Nothing switched, nothing half-applied: the old system whole, the profile where it was.
      expect(await systemOf(office, A)).toEqual(before);
      const valid = await office.onHost(A, ['nix-store', '--verify-path', before.current]);
      expect(valid.exitCode, valid.stderr).toBe(0);
      expect(rawState(config.stateDir).locks).toEqual([]);
    } finally {
      const emptied = await office.onHost(A, ['sh', '-c', EMPTY]);
      expect(emptied.exitCode, emptied.stderr).toBe(0);
    }
    // Room again: the same deploy goes through, and the host runs the whole new system.
    expect(await systemOf(office, A)).toEqual(before);
    const again = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
    expectExit(again, 0);
    const after = await systemOf(office, A);
    expect(after.current).not.toBe(before.current);
    expect(after.current).toBe(after.profile);
    expect((await office.onHost(A, ['nix-store', '--verify-path', after.current])).exitCode).toBe(0);
  }, 300_000);
});
