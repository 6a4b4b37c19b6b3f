// runNix with the real Nix of this machine: errors as data, timeouts, aborts, streamed stderr, and an
// environment that holds only what Nix needs plus what the caller passes.
import { afterEach, describe, expect, it } from 'vitest';
import { NixError, runNix } from '../../src/adapters/nix/run.ts';
import { officeUnavailable } from '../office/index.ts';

const unavailable = officeUnavailable();
// Evaluation that takes far longer than any test waits for, in one process.
const SLOW = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 500000000)";
const getEnv = (name: string) => ['nix-instantiate', '--eval', '--json', '-E', `builtins.getEnv "${name}"`];

describe.skipIf(unavailable !== null)('runNix', () => {
  afterEach(() => {
    delete process.env.SIGNAGE_TEST_SECRET;
  });

  it("returns stdout, and on failure Nix's own error line with the exit code", async () => {
    expect((await runNix(['nix-instantiate', '--eval', '-E', '1 + 1'])).stdout).toBe('2');
    const argv = ['nix-instantiate', '--eval', '-E', 'throw "the kiosk is missing"'];
    const err = await runNix(argv).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NixError);
    expect(err).toMatchObject({
      exitCode: 1,
      shortMessage: 'the kiosk is missing',
      timedOut: false,
      aborted: false,
      argv,
    });
    expect((err as NixError).message).toBe('nix-instantiate failed: the kiosk is missing');
  });

  it('streams stderr line by line', async () => {
    const lines: string[] = [];
    await runNix(['nix-instantiate', '--eval', '-E', 'builtins.trace "one" (builtins.trace "two" 3)'], {
      onStderrLine: (l) => lines.push(l),
    });
    expect(lines).toEqual(['trace: one', 'trace: two']);
  });

  it('gives up after its timeout and says so', async () => {
    const started = Date.now();
    const err = await runNix(['nix-instantiate', '--eval', '-E', SLOW], { timeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ timedOut: true, aborted: false, shortMessage: 'timed out after 500 ms' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops when its signal aborts, and refuses to start when already aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const err = await runNix(['nix-instantiate', '--eval', '-E', SLOW], { signal: ac.signal }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ aborted: true, timedOut: false, shortMessage: 'aborted' });
    const again = await runNix(['nix', '--version'], { signal: ac.signal }).catch((e: unknown) => e);
    expect(again).toMatchObject({ aborted: true, exitCode: null });
  });

  it('passes the variables it is given and none of the bot’s other secrets', async () => {
    process.env.SIGNAGE_TEST_SECRET = 'xoxb-not-for-nix';
    expect((await runNix(getEnv('SIGNAGE_TEST_SECRET'))).stdout).toBe('""');
    expect((await runNix(getEnv('NIX_SSHOPTS'), { env: { NIX_SSHOPTS: '-p 2222' } })).stdout).toBe(
      '"-p 2222"',
    );
    expect((await runNix(getEnv('PATH'))).stdout).toBe(JSON.stringify(process.env.PATH ?? ''));
  });

  it('says when the program is missing', async () => {
    const err = await runNix(['nix-no-such-program', '--version']).catch((e: unknown) => e);
    expect(err).toMatchObject({ shortMessage: 'nix-no-such-program was not found on PATH', exitCode: null });
  });
});
