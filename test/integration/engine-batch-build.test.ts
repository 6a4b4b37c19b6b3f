// A rollout builds all its targets at once (one evaluation, one build on the builder): on an office of four
// screens, one whose system does not build and one whose system does not evaluate fail alone, each with its
// own reason, and the others are deployed (checked on the screens themselves). Mended, the next rollout
// deploys all four, and the one after has nothing to do.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectHosts } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const GOOD = ['kaap-screen-01', 'kaap-screen-02'];
const NO_BUILD = 'kaap-screen-03';
const NO_EVAL = 'kaap-screen-04';
const ALL = [...GOOD, NO_BUILD, NO_EVAL];
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

describe.skipIf(unavailable !== null)('building every target of a rollout at once', () => {
  let office: Office;
  beforeAll(async () => {
    office = await startOffice({ hosts: ALL, scale: 0.05 });
    await office.fleet.setFault(NO_BUILD, 1, 'build');
    await office.fleet.setFault(NO_EVAL, 1, 'eval');
  }, 600_000);
  afterAll(async () => {
    await office?.close();
  });

  const running = async (host: string) =>
    (await office.onHost(host, ['readlink', '/run/current-system'])).stdout.trim();

  it('deploys the screens that build when one does not build and another does not evaluate', async () => {
    const bot = await officeEngine(office);
    try {
      const result = await bot.engine.deploy(['all'], { until: 'switch', restart: 'no' }, quiet);
      expectHosts(result, ['ok', 'ok', 'failed', 'failed'], bot.store);
      const byHost = new Map(result.hosts.map((h) => [h.host, h]));
      // Each failure says why, in the builder's own words: the failed build's last lines, the evaluation's throw.
      expect(byHost.get(NO_BUILD)!.error).toContain('kiosk.conf: no such option');
      expect(byHost.get(NO_EVAL)!.error).toContain(`${NO_EVAL}: kiosk.url is not a URL`);
      for (const h of GOOD) {
        const toplevel = byHost.get(h)!.toplevel!;
        expect(toplevel).toMatch(new RegExp(`-nixos-system-${h}-`));
        expect(await running(h)).toBe(toplevel);
        // The batch left each built host its own GC root on the builder, as a build alone does.
        expect(readlinkSync(join(bot.stateDir, 'gcroots', 'built', h))).toBe(toplevel);
      }
      for (const h of [NO_BUILD, NO_EVAL]) expect(await running(h)).toBe('');
    } finally {
      await bot.dispose();
    }
  }, 900_000);

  it('deploys all four once mended, and then has nothing to do', async () => {
    await office.fleet.setFault(NO_BUILD, 1, null);
    await office.fleet.setFault(NO_EVAL, 1, null);
    const bot = await officeEngine(office);
    try {
      const result = await bot.engine.deploy(['all'], { until: 'switch', restart: 'no' }, quiet);
      expectHosts(result, ['noop', 'noop', 'ok', 'ok'], bot.store);
      for (const h of result.hosts) expect(await running(h.host)).toBe(h.toplevel);
      const again = await bot.engine.deploy(['all'], { until: 'switch', restart: 'no' }, quiet);
      expectHosts(again, ['noop', 'noop', 'noop', 'noop'], bot.store);
      expect(again.hosts.map((h) => h.toplevel)).toEqual(result.hosts.map((h) => h.toplevel));
    } finally {
      await bot.dispose();
    }
  }, 900_000);
});
