// `signage cancel` from one terminal stops a run another terminal started: the two processes share only the
// state database. Mid-copy the run stops at once (the copy cut short, the host as it was); mid-activation it
// stops only once the activation ended (the host whole on its new system, confirmed, never half switched).
// Checked on the host itself, not through the bot.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { STATE_FILE } from '../../src/adapters/state/open.ts';
import { lineFrom, rawState, signage, systemOf } from '../faults/support.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const [A, B] = ['baard-entrance', 'baard-kitchen'];

/** The newest run's stages as the file holds them. */
function stagesOfLastRun(stateDir: string): { stage: string; status: string }[] {
  const db = new DatabaseSync(join(stateDir, STATE_FILE), { readOnly: true });
  try {
    return db
      .prepare(
        `SELECT stage, status FROM stages WHERE run_id = (SELECT id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1)
         ORDER BY started_at, id`,
      )
      .all() as { stage: string; status: string }[];
  } finally {
    db.close();
  }
}

async function until(pred: () => boolean, what: string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(unavailable !== null)('signage cancel from another terminal', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let revision = 1;
  /** Changes the configuration file the terminals read (each reads it when it starts). */
  function editConfig(
    edit: (file: { ssh: Record<string, unknown>; activation: Record<string, unknown> }) => void,
  ) {
    const file = parse(readFileSync(config.file, 'utf8')) as {
      ssh: Record<string, unknown>;
      activation: Record<string, unknown>;
    };
    edit(file);
    writeFileSync(config.file, stringify(file));
  }
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.05, uplinkKbit: 1200 });
    // New connections get more time than the office's default, as the machine may be busy.
    config = officeConfig(office);
    editConfig((file) => {
      file.ssh.connectTimeoutSeconds = 10;
    });
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  it('mid-copy: the run stops at once, ends cancelled (exit 6), the host as it was', async () => {
    revision += 1;
    await office.fleet.setRevision(revision);
    const before = await systemOf(office, A);
    const deploy = signage(['--config', config.file, 'deploy', A, '--no-restart']);
    await lineFrom(deploy, new RegExp(`^${A}: plan ok`));
    const cancel = await signage(['--config', config.file, 'cancel', A]);
    expectExit(cancel, 0);
    const out = await deploy;
    expectExit(out, 6);
    const runId = rawState(config.stateDir).runs.at(-1)!.id;
    expect(out.stdout).toContain(`deploy cancelled by `);
    expect(out.stdout).toContain(`: stopped at a safe point (run ${runId})`);
    expect(cancel.stdout).toMatch(new RegExp(`^cancel: run ${runId} \\(deploy by .*\\) cancelled by `));
    expect(cancel.stdout).toMatch(new RegExp(`${A}\\s+done: build, plan; not done: copy: stopped`));
    expect(rawState(config.stateDir).runs.at(-1)?.status).toBe('cancelled');
    expect(rawState(config.stateDir).locks).toEqual([]);
    expect(await systemOf(office, A)).toEqual(before);
    // Cancelling it again: it ended.
    const again = await signage(['--config', config.file, 'cancel', runId]);
    expectExit(again, 1);
    expect(again.stderr).toContain(`already ended: cancelled`);
  }, 400_000);

  it('mid-activation: the activation ends (confirmed, host whole) before the run stops', async () => {
    await office.setUplinkRate(null);
    try {
      // B gets a system first: the activation cancelled below replaces one, as on a screen in service.
      revision += 1;
      await office.fleet.setRevision(revision);
      expectExit(await signage(['--config', config.file, 'deploy', B, '--no-restart']), 0);
      revision += 1;
      await office.fleet.setRevision(revision);
      const before = await systemOf(office, B);
      // A second look of several seconds after the checks: an activation long enough to cancel in.
      editConfig((file) => {
        file.activation.settleSeconds = 30;
      });
      const deploy = signage(['--config', config.file, 'deploy', B, '--no-restart']);
      await until(
        () => stagesOfLastRun(config.stateDir).some((s) => s.stage === 'switch' && s.status === 'running'),
        'the switch of B to begin',
      );
      const cancel = await signage(['--config', config.file, 'cancel', B]);
      const out = await deploy;
      expectExit(out, 6);
      expectExit(cancel, 0);
      const stages = stagesOfLastRun(config.stateDir);
      // The switch was not cut short: it ended ok (confirmed), and the host runs the new system, whole.
      expect(stages.find((s) => s.stage === 'switch')?.status).toBe('ok');
      const after = await systemOf(office, B);
      expect(after.current).not.toBe(before.current);
      expect(after.current).toBe(after.profile);
      expect((await office.onHost(B, ['nix-store', '--verify-path', after.current])).exitCode).toBe(0);
      expect(rawState(config.stateDir).runs.at(-1)?.status).toBe('cancelled');
      expect(cancel.stdout).toMatch(new RegExp(`${B}\\s+done: build, plan, copy, switch`));
    } finally {
      editConfig((file) => {
        file.activation.settleSeconds = 0;
      });
      await office.setUplinkRate(1200);
    }
  }, 400_000);
});
