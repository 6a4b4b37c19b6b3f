// Fault matrix: the terminal command stopped mid-copy (each signal, a closed output pipe, SIGKILL), two
// deploys of one host from two processes at once, and a target that is unreachable from the start. Each
// scenario starts from a known state (a new fleet revision the target does not hold yet) and checks on the
// host itself that nothing was half-applied, and that the message, the exit code and the state are right.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig, officeEngine } from '../support/office-bot.ts';
import { expectExit, expectRun } from '../support/outcome.ts';
import { lineFrom, rawState, SIGNAGE, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const [A, B] = ['baard-entrance', 'baard-kitchen'];
const quiet = { actor: { kind: 'cli' as const, user: 'tester' }, onEvent: () => {} };

describe.skipIf(unavailable !== null)('faults: stopping a run', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let revision = 1;
  beforeAll(async () => {
    // A slow uplink, so a copy from the builder is surely under way when the stop comes.
    office = await startOffice({ hosts: [A, B], scale: 0.05, uplinkKbit: 1500 });
    config = officeConfig(office);
  });
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  /** A change A does not hold yet: the next deploy has something to copy over the uplink. */
  async function newRevision(): Promise<void> {
    revision += 1;
    await office.fleet.setRevision(revision);
  }

  /** Nothing half-applied: the host runs what its profile says, and that is `before` or a whole new system. */
  async function wholeOn(host: string, before: { current: string; profile: string }) {
    const after = await systemOf(office, host);
    expect(after.current).toBe(after.profile);
    if (after.current !== before.current) {
      const valid = await office.onHost(host, ['nix-store', '-qR', after.current]);
      expect(valid.exitCode).toBe(0);
    }
    return after;
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} mid-copy: the run stops at a safe point, is recorded interrupted, frees ${A}, exits ${code}`, async () => {
      await newRevision();
      const before = await systemOf(office, A);
      const child = signage(['--config', config.file, 'deploy', A, '--no-restart']);
      await lineFrom(child, new RegExp(`^${A}: plan ok`));
      child.kill(signal);
      const out = await child;
      expectExit(out, code);
      const last = out.stderr.trim().split('\n').at(-1) ?? '';
      expect(last).toMatch(
        new RegExp(`^signage deploy: interrupted by ${signal}: run \\S+ stopped at a safe point`),
      );
      expect(last).toContain('is recorded as interrupted');
      expect(out.stderr).not.toMatch(/\n\s+at |statement has been finalized/);
      const state = rawState(config.stateDir);
      expect(state.runs.at(-1)?.status).toBe('interrupted');
      expect(state.locks).toEqual([]);
      // Not switched: the copy was cut short, and the switch never began.
      expect(await wholeOn(A, before)).toEqual(before);
      if (signal === 'SIGINT') {
        // And the next deploy simply finishes the job (over a fast uplink: nothing here is to be stopped).
        await office.setUplinkRate(null);
        try {
          const again = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
          expectExit(again, 0);
        } finally {
          await office.setUplinkRate(1500);
        }
        expect((await systemOf(office, A)).current).not.toBe(before.current);
      }
    }, 300_000);
  }

  it('a closed output pipe (| head -2) ends the run cleanly: no crash, exit 141, nothing half-applied', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    // bash for PIPESTATUS; the command's words reach it as positional parameters.
    const out = await execa(
      'bash',
      [
        '-c',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own expansion, not a template
        '"$@" 2>&1 | head -2; echo "signage exited ${PIPESTATUS[0]}" >&2',
        'bash',
        process.execPath,
        SIGNAGE,
        '--config',
        config.file,
        'deploy',
        A,
        '--no-restart',
      ],
      { reject: false, stdin: 'ignore' },
    );
    expect(out.stdout.split('\n')).toHaveLength(2);
    expect(out.stderr.trim(), out.stdout).toBe('signage exited 141');
    const state = rawState(config.stateDir);
    expect(state.runs.at(-1)?.status).not.toBe('running');
    expect(state.locks).toEqual([]);
    await wholeOn(A, before);
  });

  it('a deploy after the terminal was SIGKILLed mid-copy takes the host over, and status does not say running', async () => {
    await newRevision();
    // The bot has had the state open all along: only taking the lock can notice the dead holder.
    const bot = await officeEngine(office, { stateDir: config.stateDir });
    try {
      const before = await systemOf(office, A);
      const child = signage(['--config', config.file, 'deploy', A, '--no-restart']);
      await lineFrom(child, new RegExp(`^${A}: plan ok`));
      child.kill('SIGKILL');
      await child;
      const dead = rawState(config.stateDir).runs.at(-1)!;
      expect(dead.status).toBe('running');
      await wholeOn(A, before);

      const [row] = await bot.engine.status([A], quiet);
      expect(row?.lastRun?.status).toBe('interrupted');
      const logs: string[] = [];
      const result = await bot.engine.deploy(
        [A],
        { until: 'switch', restart: 'no' },
        { ...quiet, onEvent: (e) => e.type === 'log' && logs.push(e.message) },
      );
      expectRun(result, 'ok', bot.store);
      expect(bot.store.getRun(dead.id)?.status).toBe('interrupted');
      expect((await systemOf(office, A)).current).toBe(result.hosts[0]!.toplevel);
    } finally {
      await bot.close();
    }
  });

  it('the same for a lock whose holder died while the bot held the store: taken over, and said so', async () => {
    await newRevision();
    const bot = await officeEngine(office, { stateDir: config.stateDir });
    try {
      const child = signage(['--config', config.file, 'deploy', A, '--no-restart']);
      await lineFrom(child, new RegExp(`^${A}: plan ok`));
      child.kill('SIGKILL');
      await child;
      const dead = rawState(config.stateDir).runs.at(-1)!;
      const logs: string[] = [];
      const result = await bot.engine.deploy(
        [A],
        { until: 'switch', restart: 'no' },
        { ...quiet, onEvent: (e) => e.type === 'log' && logs.push(e.message) },
      );
      expectRun(result, 'ok', bot.store);
      expect(logs.join('\n')).toMatch(
        new RegExp(`took over ${A} from run ${dead.id} of \\S+ \\(terminal\\) .*its process is gone`),
      );
    } finally {
      await bot.close();
    }
  });

  it('two deploys of one host from two processes at once: one runs, the other is refused with exit 3', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    const [one, two] = await Promise.all([
      signage(['--config', config.file, 'deploy', A, '--no-restart']),
      signage(['--config', config.file, 'deploy', A, '--no-restart']),
    ]);
    const codes = [one.exitCode, two.exitCode].sort();
    expect(codes, `${one.stderr}\n----\n${two.stderr}`).toEqual([0, 3]);
    const refused = one.exitCode === 3 ? one : two;
    expect(refused.stderr).toContain(`${A} is being deployed by`);
    const after = await wholeOn(A, before);
    expect(after.current).not.toBe(before.current);
    expect(rawState(config.stateDir).locks).toEqual([]);
  });

  it('a target unreachable from the start fails alone and fast, with nothing printed after the result', async () => {
    await office.stopHost(A);
    try {
      const out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 1);
      expect(out.all).toMatch(/refused|unreachable/i);
      // Peers still being asked when the target failed are awaited before the state closes.
      expect(out.all).not.toContain('statement has been finalized');
      const last = out.all.trim().split('\n').at(-1) ?? '';
      expect(out.stdout.trim().split('\n').at(-1)).toBe(last);
      expect(rawState(config.stateDir).locks).toEqual([]);
    } finally {
      await office.startHost(A);
    }
  });
});
