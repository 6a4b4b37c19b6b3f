// Activation with confirm-or-revert against today's plain switch, side by side on one office host that runs
// the office's systemd stand-ins. The plain switch is what `nixos-rebuild switch --target-host` runs once the
// closure is there (`test -f`, `nix-env --set`, `switch-to-configuration switch` in the fixed unit), over
// plain OpenSSH; the sequence is the engine's switch stage (arm, test, fresh connection, the default kiosk
// check, confirm unit, record). Each round copies a new revision first, so only activation is timed.
import { execa } from 'execa';
import { quoteArgv } from '../src/adapters/ssh/quote.ts';
import type { EngineEvent } from '../src/core/events.ts';
import { startOffice } from '../test/office/index.ts';
import { officeEngine } from '../test/support/office-bot.ts';

export interface ActivationBench {
  readonly rounds: number;
  /** Median wall time of the plain switch's three commands. */
  readonly plainMs: number;
  /** Median time from the start of `switch-to-configuration test` to the confirm unit's end. */
  readonly activationToConfirmedMs: number;
  /** Median length of the whole switch stage with the sequence (probe, arm, ..., confirm, record). */
  readonly sequenceMs: number;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function benchActivation(opts: {
  rounds: number;
  log: (l: string) => void;
}): Promise<ActivationBench> {
  const name = 'bench-screen';
  const office = await startOffice({ hosts: [{ name, systemd: true }], scale: 0.05 });
  const events: { at: number; e: EngineEvent }[] = [];
  const asker = {
    actor: { kind: 'cli' as const, user: 'bench' },
    onEvent: (e: EngineEvent) => events.push({ at: performance.now(), e }),
  };
  const bot = await officeEngine(office);
  try {
    const host = office.host(name);
    const target = `${host.user}@${host.address}`;
    const env = { SSH_AUTH_SOCK: office.agentSocket };
    const ssh = async (argv: readonly string[]) => {
      const r = await execa('ssh', [...office.sshOptions, target, quoteArgv(argv)], { env, reject: false });
      if (r.exitCode !== 0) throw new Error(`${argv[0]} failed: ${r.stderr.slice(-500)}`);
    };
    const first = await bot.engine.deploy([name], { until: 'switch', restart: 'no' }, asker);
    if (first.status === 'failed') throw new Error(`first deploy failed: ${first.hosts[0]?.error}`);
    const plain: number[] = [];
    const toConfirmed: number[] = [];
    const sequence: number[] = [];
    let revision = 1;
    for (let round = 0; round < opts.rounds; round++) {
      // Today's plain switch.
      await office.fleet.setRevision(++revision);
      const copied = await bot.engine.deploy([name], { until: 'copy', restart: 'no' }, asker);
      const p = copied.hosts[0]!.toplevel!;
      const t0 = performance.now();
      await ssh(['test', '-f', `${p}/nixos-version`]);
      await ssh(['nix-env', '-p', '/nix/var/nix/profiles/system', '--set', p]);
      await ssh([
        'systemd-run',
        '--unit=nixos-rebuild-switch-to-configuration',
        '--pipe',
        '--quiet',
        `${p}/bin/switch-to-configuration`,
        'switch',
      ]);
      plain.push(performance.now() - t0);
      // The sequence.
      await office.fleet.setRevision(++revision);
      await bot.engine.deploy([name], { until: 'copy', restart: 'no' }, asker);
      events.length = 0;
      const r = await bot.engine.deploy([name], { until: 'switch', restart: 'no' }, asker);
      if (r.status === 'failed') throw new Error(`the sequence failed: ${r.hosts[0]?.error}`);
      const at = (pred: (e: EngineEvent) => boolean) => events.find((x) => pred(x.e))?.at ?? Number.NaN;
      const stageStart = at((e) => e.type === 'stage.started' && e.stage === 'switch');
      const activateAt = at((e) => e.type === 'log' && e.message === 'activation: activate');
      const stageEnd = at((e) => e.type === 'stage.finished' && e.stage === 'switch');
      // The stage ends with recording the deployment and one more probe: counted in the stage, not here.
      const confirmedAt = at((e) => e.type === 'log' && e.message === 'activation: confirm');
      const audit = bot.store.auditLog({ runId: r.runId, limit: 50 });
      const confirm = audit.find((a) => a.argv.includes('--unit=signage-confirm'));
      toConfirmed.push(confirmedAt - activateAt + (confirm?.durationMs ?? 0));
      sequence.push(stageEnd - stageStart);
      opts.log(
        `round ${round + 1}: plain switch ${Math.round(plain.at(-1)!)} ms; sequence: activation to confirmed ${Math.round(toConfirmed.at(-1)!)} ms, switch stage ${Math.round(sequence.at(-1)!)} ms`,
      );
    }
    return {
      rounds: opts.rounds,
      plainMs: median(plain),
      activationToConfirmedMs: median(toConfirmed),
      sequenceMs: median(sequence),
    };
  } finally {
    await bot.dispose();
    await office.close();
  }
}
