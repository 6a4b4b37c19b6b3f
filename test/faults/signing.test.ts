// Fault matrix: a closure the builder cannot vouch for. The builder's signing key is gone, or the file holds
// something that is not a secret key (a public key, as a slip in the configuration would have it), or the key
// vanishes from under a bot that is already running. Each deploy must stop at the build, saying what is
// wrong and what to do, before anything reaches the host: checked on the host, whose system, profile and store
// are as before.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { compose } from '../../src/main/compose.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit, expectRun } from '../support/outcome.ts';
import { rawState, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const A = 'baard-vestibule';

describe.skipIf(unavailable !== null)('faults: a builder closure without the builder signature', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let keyFile: string;
  let revision = 1;
  const scratch = mkdtempSync(join(tmpdir(), 'signage-faults-'));

  beforeAll(async () => {
    office = await startOffice({ hosts: [A], scale: 0.05 });
    config = officeConfig(office);
    // The bot's own copy of the key, so a test can take it away without touching the office's.
    keyFile = join(scratch, 'signing-key');
    copyFileSync(office.signingKeyFile, keyFile);
    const yaml = parse(readFileSync(config.file, 'utf8')) as { builder: Record<string, unknown> };
    writeFileSync(config.file, stringify({ ...yaml, builder: { ...yaml.builder, signingKeyFile: keyFile } }));
    expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart']), 0);
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
    await office?.close();
  });

  /** A new revision, built independently: its paths the host does not hold yet. */
  async function newRevision(): Promise<{ before: Awaited<ReturnType<typeof systemOf>>; fresh: string[] }> {
    revision += 1;
    await office.fleet.setRevision(revision);
    const system = await office.fleet.build(A);
    const closure = (await run(['nix-store', '-qR', system])).stdout.trim().split('\n');
    const fresh = (
      await office.onHost(A, ['nix-store', '--check-validity', '--print-invalid', ...closure])
    ).stdout
      .trim()
      .split('\n')
      .filter((p) => p !== '');
    expect(fresh).toContain(system);
    return { before: await systemOf(office, A), fresh };
  }

  /** Nothing reached the host: same system and profile, and none of the new paths in its store. */
  async function untouched(before: Awaited<ReturnType<typeof systemOf>>, fresh: readonly string[]) {
    expect(await systemOf(office, A)).toEqual(before);
    const stillMissing = (
      await office.onHost(A, ['nix-store', '--check-validity', '--print-invalid', ...fresh])
    ).stdout
      .trim()
      .split('\n');
    expect(stillMissing).toEqual([...fresh]);
    expect(rawState(config.stateDir).locks).toEqual([]);
  }

  it('refuses to start without the signing key: exit 2 naming the setting, nothing run', async () => {
    const { before, fresh } = await newRevision();
    rmSync(keyFile);
    try {
      const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 2);
      expect(out.stderr).toMatch(/builder\.signingKeyFile/);
      await untouched(before, fresh);
    } finally {
      copyFileSync(office.signingKeyFile, keyFile);
    }
  }, 300_000);

  it('fails the build when the key file holds no secret key (a public key): exit 1, host untouched', async () => {
    const { before, fresh } = await newRevision();
    const runsBefore = rawState(config.stateDir).runs.length;
    writeFileSync(keyFile, `${office.publicKey}\n`);
    try {
      const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 1);
      expect(out.all).toMatch(/secret key is not valid/);
      expect(out.all).toMatch(/builder\.signingKeyFile/);
      const runs = rawState(config.stateDir).runs.slice(runsBefore);
      expect(runs.map((r) => r.status)).toEqual(['failed']);
      await untouched(before, fresh);
    } finally {
      copyFileSync(office.signingKeyFile, keyFile);
    }
  }, 300_000);

  it('fails the build when the key vanishes under a running bot: the run says so, host untouched', async () => {
    const { before, fresh } = await newRevision();
    const composed = await compose(config.file, { env: {} });
    try {
      rmSync(keyFile);
      const result = await composed.engine.deploy(
        [A],
        { until: 'switch', restart: 'no' },
        { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} },
      );
      expectRun(result, 'failed', composed.store);
      expect(result.hosts[0]?.error).toMatch(/signing key file .* cannot be read/);
      expect(result.hosts[0]?.hint).toMatch(/builder\.signingKeyFile/);
      expect(composed.store.stagesOf(result.runId).map((s) => `${s.stage} ${s.status}`)).toEqual([
        'build failed',
      ]);
      await untouched(before, fresh);
    } finally {
      copyFileSync(office.signingKeyFile, keyFile);
      await composed.close();
    }
  }, 300_000);
});
