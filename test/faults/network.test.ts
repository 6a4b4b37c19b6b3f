// Fault matrix: the uplink cut in the middle of a copy and restored, and a host whose SSH key changed. Each from
// a known state (a new fleet revision the target does not hold), checked on the host itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import { lineFrom, rawState, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('faults: the network', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let revision = 1;
  beforeAll(async () => {
    office = await startOffice({ hosts: [A], scale: 0.05, uplinkKbit: 1500 });
    config = officeConfig(office);
  });
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  async function newRevision(): Promise<void> {
    revision += 1;
    await office.fleet.setRevision(revision);
  }

  it('the uplink cut mid-copy: the deploy fails naming the lost connection, nothing half-applied; restored, it finishes', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    const child = signage(['--config', config.file, 'deploy', A, '--no-restart']);
    await lineFrom(child, new RegExp(`^${A}: plan ok`));
    await run(['ip', 'link', 'set', office.uplinkInterface, 'down']);
    let out: Awaited<typeof child>;
    try {
      out = await child;
    } finally {
      await run(['ip', 'link', 'set', office.uplinkInterface, 'up']);
    }
    expectExit(out, 1);
    expect(out.all).toMatch(/stopped answering|could not be reached|lost the connection|unreachable/);
    expect(await systemOf(office, A)).toEqual(before);
    expect(rawState(config.stateDir).locks).toEqual([]);
    // Restored (and fast: the slow uplink was only to cut it mid-copy), the next deploy finishes.
    await office.setUplinkRate(null);
    try {
      expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart']), 0);
    } finally {
      await office.setUplinkRate(1500);
    }
    const after = await systemOf(office, A);
    expect(after.current).not.toBe(before.current);
    expect(after.current).toBe(after.profile);
    expect((await office.onHost(A, ['nix-store', '--verify-path', after.current])).exitCode).toBe(0);
  }, 300_000);

  it('a changed host key: refused before anything runs, with the fingerprints, exit 1, host untouched', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    await office.changeHostKey(A);
    const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
    expectExit(out, 1);
    expect(out.all).toMatch(/host key/i);
    expect(await systemOf(office, A)).toEqual(before);
    expect(rawState(config.stateDir).locks).toEqual([]);
  }, 300_000);
});
