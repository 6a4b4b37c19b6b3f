// runNix with the real Nix of this machine: errors as data, timeouts, aborts, streamed stderr, and an
// environment that holds only what Nix needs plus what the caller passes.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NixError, runNix } from '../../src/adapters/nix/run.ts';
import { officeUnavailable } from '../office/index.ts';
import { mixedOfficeUnavailable, NIX_BIN_DIRS } from '../office/nix-versions.ts';

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

  it.skipIf(mixedOfficeUnavailable() !== null)(
    'runs the Nix of builder.nixBinDir instead of the one on PATH',
    async () => {
      expect((await runNix(['nix', '--version'])).stdout).toBe('nix (Nix) 2.8.0');
      const out = await runNix(['nix', '--version'], { nixBinDir: NIX_BIN_DIRS['2.24'] });
      expect(out.stdout).toBe('nix (Nix) 2.24.15');
    },
  );

  it("puts nixBinDir first on the command's PATH, and reads fd 3 as stderr for ssh's own messages", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signage-nixbin-'));
    try {
      // A stand-in `nix`: only the bin dir can provide it, since no real Nix runs a script like this.
      await writeFile(
        join(dir, 'nix'),
        '#!/bin/sh\necho "$PATH"\necho "from nix" >&2\necho "from ssh" >&3\n',
      );
      await chmod(join(dir, 'nix'), 0o755);
      const lines: string[] = [];
      const out = await runNix(['nix'], {
        nixBinDir: dir,
        sshLogFd: true,
        onStderrLine: (l) => lines.push(l),
      });
      expect(out.stdout.split(':')[0]).toBe(dir);
      expect(lines.sort()).toEqual(['from nix', 'from ssh']);
      const missing = await runNix(['nix-store', '--version'], { nixBinDir: dir }).catch((e: unknown) => e);
      expect((missing as NixError).shortMessage).toBe(`${join(dir, 'nix-store')} was not found on PATH`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
