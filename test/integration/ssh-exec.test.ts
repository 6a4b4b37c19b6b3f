// Running commands on a real sshd in the simulated office: words arrive verbatim, environment and stdin get
// through, output streams while the command runs and is kept bounded, and a command that times out or is
// cancelled is ended on the host with everything it started (checked on the host itself, not over SSH).
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../src/adapters/ssh/errors.ts';
import { createSshHosts, type SshHosts } from '../../src/adapters/ssh/hosts.ts';
import type { HostConnection } from '../../src/core/ports/hosts.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { eventually, hostSpec, officeSettings, onHostOk } from '../support/ssh-office.ts';

const H = 'exec-host';

describe.skipIf(officeUnavailable() !== null)('SSH exec on a real host', () => {
  let office: Office;
  let hosts: SshHosts;
  let conn: HostConnection;

  beforeAll(async () => {
    office = await startOffice({ hosts: [H] });
    hosts = createSshHosts(officeSettings(office, { keepOutputBytes: 4096 }));
    conn = hosts.connection(hostSpec(office, H));
  });

  afterAll(async () => {
    await hosts?.closeAll();
    await office?.close();
  });

  it('hands hostile words to the command exactly, and runs none of them as shell', async () => {
    const words = [
      "it's",
      '"double"',
      '$(touch /run/pwned)',
      '`touch /run/pwned2`',
      'a; touch /run/pwned3',
      'line\nbreak',
      'tab\there',
      '\\back\\slash',
      '*',
      '~',
      '$HOME',
      '-n',
      '--',
      '',
      'é日本😀',
      "'\\''",
      '|| true &',
    ];
    const r = await conn.exec(['printf', '%s\\0', ...words]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(words);
    expect(r.stderr).toBe('');
    const left = await office.onHost(H, ['ls', '/run/pwned', '/run/pwned2', '/run/pwned3']);
    expect(left.stdout).toBe('');
    expect(left.exitCode).not.toBe(0);
  });

  it('sets environment variables that sshd would drop (no AcceptEnv on the host)', async () => {
    const value = 'it\'s "$(not run)"\nsecond line é';
    const r = await conn.exec(['sh', '-c', 'printf "%s|%s" "$SIGNAGE_A" "$B"'], {
      env: { SIGNAGE_A: value, B: '' },
    });
    expect(r.stdout).toBe(`${value}|`);
    const config = await onHostOk(office, H, ['cat', `${office.host(H).dir}/etc/sshd_config`]);
    expect(config).not.toMatch(/AcceptEnv/);
  });

  it('uploads stdin byte for byte, and gives commands end-of-file without it', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const r = await conn.exec(['sh', '-c', 'cat > /run/upload && sha256sum < /run/upload'], { stdin: data });
    const sum = createHash('sha256').update(data).digest('hex');
    expect(r.stdout.split(' ')[0]).toBe(sum);
    expect((await onHostOk(office, H, ['sha256sum', '/run/upload'])).split(' ')[0]).toBe(sum);
    // Without stdin, a command that reads it sees the end at once rather than waiting forever.
    expect((await conn.exec(['wc', '-c'])).stdout.trim()).toBe('0');
  });

  it('streams output line by line while the command still runs', async () => {
    // The command finishes only after the test has seen its first line and reacted on the host: were output
    // held back until the end, this would never finish.
    const seen: string[] = [];
    const errs: string[] = [];
    const r = await conn.exec(
      ['sh', '-c', 'echo ready; echo warming >&2; while [ ! -e /run/go ]; do sleep 0.05; done; printf done'],
      {
        timeoutMs: 60_000,
        onStdout: (line) => {
          seen.push(line);
          if (line === 'ready') void office.onHost(H, ['touch', '/run/go']);
        },
        onStderr: (line) => errs.push(line),
      },
    );
    expect(seen).toEqual(['ready', 'done']);
    expect(errs).toEqual(['warming']);
    expect(r.stdout).toBe('ready\ndone');
    expect(r.stderr).toBe('warming\n');
  });

  it('keeps the last part of long output, says so, and still hands on every line', async () => {
    let lines = 0;
    const r = await conn.exec(['sh', '-c', 'seq 1 100000; seq 1 50000 >&2'], { onStdout: () => lines++ });
    expect(lines).toBe(100_000);
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stderrTruncated).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(4096);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
    expect(r.stderr.endsWith('49999\n50000\n')).toBe(true);
    const short = await conn.exec(['echo', 'short']);
    expect(short).toMatchObject({ stdout: 'short\n', stdoutTruncated: false, stderrTruncated: false });
  });

  it('returns a non-zero exit or a signal as data', async () => {
    const failed = await conn.exec(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(failed).toMatchObject({ exitCode: 3, signal: null, stderr: 'oops\n' });
    const killed = await conn.exec(['sh', '-c', 'kill -s KILL $$']);
    expect(killed).toMatchObject({ exitCode: null, signal: 'KILL' });
    const missing = await conn.exec(['no-such-program-here']);
    expect(missing.exitCode).toBe(127);
  });

  /** Pids the command wrote to a file on the host that still run there (zombies count as ended). */
  async function survivors(file: string): Promise<string[]> {
    const pids = (await onHostOk(office, H, ['cat', file])).split('\n').filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    const ps = await office.onHost(H, ['ps', '-o', 'pid=,stat=', '-p', pids.join(',')]);
    return ps.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/\sZ/.test(l))
      .map((l) => l.split(/\s+/)[0] ?? '');
  }

  /** Expects every process the command started to be gone; ends any left so a failure leaves nothing behind. */
  async function expectTreeEnded(file: string): Promise<void> {
    try {
      await eventually(
        async () => (await survivors(file)).length === 0,
        `the processes listed in ${file} are gone`,
      );
    } finally {
      const left = await survivors(file);
      if (left.length > 0) await office.onHost(H, ['kill', '-s', 'KILL', ...left]);
    }
  }

  const TREE =
    'sleep 1000 & echo $! >> "$1"; (sleep 1001; true) & echo $! >> "$1"; echo $$ >> "$1"; echo started; wait';

  it('ends the command and everything it started when it times out', async () => {
    const started = Date.now();
    const error = await conn
      .exec(['sh', '-c', TREE, 'sh', '/run/timeout.pids'], { timeoutMs: 1500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostError);
    const failure = (error as HostError).failure;
    expect(failure).toMatchObject({
      kind: 'CommandTimeout',
      host: H,
      timeoutMs: 1500,
      stdoutTail: 'started',
    });
    expect(failure.message).toContain('timed out after 1.5 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    await expectTreeEnded('/run/timeout.pids');
  });

  it('kills a command that ignores TERM', async () => {
    const error = await conn
      .exec(['sh', '-c', `trap "" TERM; ${TREE}`, 'sh', '/run/stubborn.pids'], { timeoutMs: 1000 })
      .catch((e: unknown) => e);
    expect((error as HostError).failure.kind).toBe('CommandTimeout');
    await expectTreeEnded('/run/stubborn.pids');
  });

  it('ends the command and everything it started when cancelled', async () => {
    const controller = new AbortController();
    const error = await conn
      .exec(['sh', '-c', TREE, 'sh', '/run/cancel.pids'], {
        signal: controller.signal,
        onStdout: (line) => {
          if (line === 'started') controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((error as HostError).failure).toMatchObject({
      kind: 'CommandAborted',
      host: H,
      stdoutTail: 'started',
    });
    await expectTreeEnded('/run/cancel.pids');
  });

  it('refuses a cancelled request and a bad one before opening anything', async () => {
    const fresh = createSshHosts(officeSettings(office));
    try {
      const c = fresh.connection(hostSpec(office, H));
      const controller = new AbortController();
      controller.abort();
      const aborted = await c
        .exec(['touch', '/run/ran'], { signal: controller.signal })
        .catch((e: unknown) => e);
      expect((aborted as HostError).failure.kind).toBe('CommandAborted');
      const nul = await c.exec(['echo', 'a\0b']).catch((e: unknown) => e);
      expect((nul as HostError).failure).toMatchObject({ kind: 'InvalidRequest', host: H });
      const env = await c.exec(['true'], { env: { 'bad name': 'x' } }).catch((e: unknown) => e);
      expect((env as HostError).failure.kind).toBe('InvalidRequest');
      const empty = await c.exec([]).catch((e: unknown) => e);
      expect((empty as HostError).failure.kind).toBe('InvalidRequest');
      const badPort = await fresh
        .connection(hostSpec(office, H, { port: 70000 }))
        .exec(['true'])
        .catch((e: unknown) => e);
      expect((badPort as HostError).failure.kind).toBe('InvalidRequest');
      expect(fresh.stats()).toEqual({ connectionsOpened: 0, channelsOpened: 0, open: 0 });
      expect((await office.onHost(H, ['ls', '/run/ran'])).exitCode).not.toBe(0);
    } finally {
      await fresh.closeAll();
    }
  });
});
