// The terminal front end as a user runs it: `node bin/signage.ts ...` as a child process against the simulated
// office, checking what it prints and the exit codes scripts rely on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/adapters/state/open.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const ROOT = join(import.meta.dirname, '..', '..');
const [A, B] = ['baard-entrance', 'baard-kitchen'];

function signage(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [join(ROOT, 'bin', 'signage.ts'), ...args], {
    reject: false,
    stdin: 'ignore',
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
  });
}

/** The environment of a shell with no Node 24 on PATH: only the system's own programs. */
function systemEnv(): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
}

describe('signage without a configuration', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'signage-cli-'));
  });
  afterAll(() => {
    // Only the directory made above.
    if (scratch?.startsWith(join(tmpdir(), 'signage-cli-')))
      rmSync(scratch, { recursive: true, force: true });
  });

  it('lists the verbs with --help', async () => {
    const out = await signage(['--help']);
    expectExit(out, 0);
    for (const verb of ['deploy', 'status', 'plan', 'overlap', 'rollback', 'restart'])
      expect(out.stdout).toContain(verb);
  });

  it('suggests the verb meant, and exits 2', async () => {
    const out = await signage(['deplyo', 'baard-entrance']);
    expectExit(out, 2);
    expect(out.stderr).toContain('unknown verb "deplyo" (did you mean deploy?)');
  });

  it('refuses host names that are not host names before reading anything', async () => {
    const out = await signage(['deploy', 'baard-entrance;reboot']);
    expectExit(out, 2);
    expect(out.stderr).toContain('expected a host name, @tag or all');
    expect(out.stderr).toContain('usage: signage deploy');
  });

  it('runs from a checkout with bin/signage whatever Node the system has', async () => {
    const out = await execa(join(ROOT, 'bin', 'signage'), ['--version'], {
      reject: false,
      env: systemEnv(),
      extendEnv: false,
      cwd: scratch,
    });
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^signage \d+\.\d+\.\d+$/);
  });

  it('names the configuration file it tried, and how to choose another', async () => {
    const out = await signage(['status'], { cwd: scratch, env: systemEnv() });
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain(`${join(scratch, 'signage.yml')}: no such file`);
    expect(out.stderr).toContain('--config');
    expect(out.stderr).toContain('$SIGNAGE_CONFIG');
    expect(out.stderr).toContain('the default (./signage.yml in the current directory)');
    const named = await signage(['status'], {
      cwd: scratch,
      env: { ...systemEnv(), SIGNAGE_CONFIG: 'elsewhere.yml' },
    });
    expect(named.stderr).toContain(`${join(scratch, 'elsewhere.yml')}: no such file`);
    expect(named.stderr).toContain('named by $SIGNAGE_CONFIG');
  });

  it('looks for signage.yml where `npm run signage` was typed, not in the checkout', async () => {
    const out = await execa('npm', ['--prefix', ROOT, 'run', '--silent', 'signage', '--', 'status'], {
      reject: false,
      cwd: scratch,
      env: systemEnv(),
      extendEnv: false,
    });
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain(`${join(scratch, 'signage.yml')}: no such file`);
  });

  it('reports a bad flake setting as a configuration problem, exit 2, without a stack trace', async () => {
    writeFileSync(join(scratch, 'known_hosts'), '');
    writeFileSync(join(scratch, 'signing.key'), 'builder-1:AAAA\n');
    mkdirSync(join(scratch, 'no-flake'), { recursive: true });
    mkdirSync(join(scratch, 'broken'), { recursive: true });
    writeFileSync(
      join(scratch, 'broken', 'flake.nix'),
      '{\n  outputs = { self }: {\n    nixosConfigurations = { a = 1;; };\n  };\n}\n',
    );
    const cases: [string, string][] = [
      ['./missing', `${join(scratch, 'missing')} does not exist`],
      ['./no-flake', `${join(scratch, 'no-flake')} holds no flake.nix`],
      ['./signing.key', `${join(scratch, 'signing.key')} is a file`],
      ['./broken', `${join(scratch, 'broken', 'flake.nix')}:3:`],
    ];
    for (const [flake, says] of cases) {
      const file = join(scratch, 'flake-case.yml');
      writeFileSync(
        file,
        `flake: ${flake}\nstateDir: ./state\nbuilder: { signingKeyFile: ./signing.key }\n` +
          'ssh: { knownHostsFile: ./known_hosts, agentSocket: ./agent.sock }\nhosts: {}\n',
      );
      const out = await signage(['--config', file, 'hosts']);
      expect(out.exitCode, out.stderr).toBe(2);
      expect(out.stderr).toContain(`${file}: flake: `);
      expect(out.stderr).toContain(says);
      expect(out.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('shows the last lines of a failed build and how to read its whole log', async () => {
    writeFileSync(join(scratch, 'known_hosts'), '');
    writeFileSync(join(scratch, 'signing.key'), 'builder-1:AAAA\n');
    mkdirSync(join(scratch, 'failing'), { recursive: true });
    const nonce = `${process.pid}-${Date.now()}`;
    writeFileSync(
      join(scratch, 'failing', 'flake.nix'),
      `{ outputs = { self }: { nixosConfigurations.pi.config.system.build.toplevel = derivation {
          name = "toplevel"; system = "${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux"; builder = "/bin/sh";
          args = [ "-c" "echo run ${nonce}; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo step $i; done; echo 'kiosk.conf: no such option' >&2; exit 1" ];
        }; }; }\n`,
    );
    const file = join(scratch, 'failing.yml');
    writeFileSync(
      file,
      'flake: ./failing\nstateDir: ./state\nbuilder: { signingKeyFile: ./signing.key }\n' +
        'ssh: { knownHostsFile: ./known_hosts, agentSocket: ./agent.sock }\nhosts: { pi: { address: 127.0.0.1 } }\n',
    );
    const out = await signage(['--config', file, 'build', 'pi']);
    expect(out.exitCode, out.stderr).toBe(1);
    const drv = /builder for '(\/nix\/store\/[^']+\.drv)' failed/.exec(out.stdout)?.[1];
    expect(drv, out.stdout).toBeDefined();
    expect(out.stdout).toContain('its last 10 lines:');
    expect(out.stdout).toContain('step 12');
    expect(out.stdout).toContain('kiosk.conf: no such option');
    expect(out.stdout).not.toContain(`run ${nonce}`);
    expect(out.stdout).toContain(`the whole log: nix log ${drv}`);
    // And that command does give the whole log.
    const log = await execa('nix', ['--extra-experimental-features', 'nix-command', 'log', drv!], {
      reject: false,
    });
    expect(log.stdout).toContain(`run ${nonce}`);
  });

  it('names every bad field of a bad configuration, and exits 2', async () => {
    const file = join(scratch, 'signage.yml');
    writeFileSync(
      file,
      'flake: /srv/fleet\nstateDir: /tmp/x\nlimits: { parallelHosts: 0 }\nhosts: { Bad_Name: {} }\n',
    );
    const out = await signage(['--config', file, 'status']);
    expectExit(out, 2);
    expect(out.stderr).toContain('limits.parallelHosts');
    expect(out.stderr).toContain('Bad_Name');
    expect(out.stderr).toContain('ssh.knownHostsFile');
  });
});

describe.skipIf(unavailable !== null)('signage on the simulated office', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.05 });
    config = officeConfig(office);
  });
  afterAll(async () => {
    await office?.close();
    config?.cleanup();
  });

  it('suggests the nearest host for a typo', async () => {
    const out = await signage(['--config', config.file, 'deploy', 'baard-entrnace']);
    expectExit(out, 2);
    expect(out.stderr).toContain('unknown host baard-entrnace (did you mean baard-entrance?)');
  });

  it('deploys with --json for scripts, and leaves the screen alone when nobody can be asked', async () => {
    const out = await signage(['--config', config.file, 'deploy', A, '--json']);
    expect(out.exitCode, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.status).toBe('ok');
    expect(result.hosts[0].host).toBe(A);
    expect(result.uplinkBytes).toBeGreaterThan(0);
    expect(await office.systemctlLog(A)).toEqual([]);
    const current = await office.onHost(A, ['readlink', '/run/current-system']);
    expect(current.stdout.trim()).toBe(result.hosts[0].toplevel);
  });

  it('refuses to restart without anyone to ask unless told --yes', async () => {
    const refused = await signage(['--config', config.file, 'restart', A]);
    expectExit(refused, 2);
    expect(refused.stderr).toContain('pass --yes');
    const done = await signage(['--config', config.file, 'restart', A, '--yes']);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
  });

  it('reports status with an exit code: 1 while a host runs no system', async () => {
    const out = await signage(['--config', config.file, '--json', 'status']);
    expectExit(out, 1);
    const rows = JSON.parse(out.stdout) as { host: string; sync: string; reachable: boolean }[];
    expect(rows.map((r) => [r.host, r.reachable, r.sync])).toEqual([
      [A, true, 'in-sync'],
      [B, true, 'no-system'],
    ]);
    const text = await signage(['--config', config.file, 'status', A]);
    expectExit(text, 0);
    expect(text.stdout).toContain('in sync');
  });

  it('asks at an interactive terminal, and restarts only on yes', async () => {
    // `script` gives the command a real terminal; the answers wait in its input until the prompt reads them.
    const inTerminal = (args: string[], answer: string) =>
      execa(
        'script',
        ['-qfec', [process.execPath, join(ROOT, 'bin', 'signage.ts'), ...args].join(' '), '/dev/null'],
        {
          input: `${answer}\n`,
          reject: false,
        },
      );
    await office.fleet.setRevision(2);
    const no = await inTerminal(['--config', config.file, 'deploy', B], 'n');
    expect(no.stdout).toContain(`Restart the display manager on ${B}? [y/N]`);
    expectExit(no, 0);
    expect(no.stdout).toMatch(new RegExp(`${B}.*restart declined by ${userInfo().username}`));
    expect(await office.systemctlLog(B)).toEqual([]);
    // Ctrl-D at the prompt is a no, not a hang.
    await office.fleet.setRevision(4);
    const eof = await inTerminal(['--config', config.file, 'deploy', B], '\x04');
    expectExit(eof, 0);
    expect(await office.systemctlLog(B)).toEqual([]);
    await office.fleet.setRevision(3);
    const yes = await inTerminal(['--config', config.file, 'deploy', B], 'y');
    expectExit(yes, 0);
    expect(yes.stdout).toContain('display manager restarted');
    // Before the question, what the restart would put on screen: revision 4 back to 3, a downgrade.
    const asked = yes.stdout.indexOf(`Restart the display manager on ${B}? [y/N]`);
    const shown = yes.stdout.indexOf('[D] chromium: 131.0.6778.88 → 131.0.6778.87');
    expect(shown, yes.stdout).toBeGreaterThan(-1);
    expect(shown).toBeLessThan(asked);
    expect(await office.systemctlLog(B)).toEqual(['restart display-manager.service']);
    await office.fleet.setRevision(1);
  });

  it('exits 3 when another run holds the host, naming it', async () => {
    const opened = openStateStore({ stateDir: config.stateDir, now: new Date() });
    if (!opened.ok) throw new Error(opened.message);
    const { store } = opened.state;
    const holder = { kind: 'slack' as const, userId: 'U0ALICE' };
    const run = store.createRun({ verb: 'deploy', hosts: [B], actor: holder, now: new Date() });
    store.acquireLocks([B], run.id, holder, new Date());
    try {
      const out = await signage(['--config', config.file, 'switch', B]);
      expectExit(out, 3);
      expect(out.stderr).toContain(`${B} is being deployed by <@U0ALICE>`);
    } finally {
      store.finishRun(run.id, { status: 'ok', now: new Date() });
      opened.state.close();
    }
  });

  it('makes the host that changes the canary, not one with nothing to do', async () => {
    // A still runs revision 1 (deployed above); B runs revision 3, so only B changes on going back to 1.
    expect(office.fleet.revision()).toBe(1);
    const out = await signage(['--config', config.file, 'deploy', `${A},${B}`, '--no-restart', '--json']);
    expect(out.exitCode, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout) as {
      canaries: string[];
      hosts: { host: string; toplevel: string }[];
    };
    expect(result.canaries).toEqual([B]);
    const b = result.hosts.find((h) => h.host === B)!;
    const current = await office.onHost(B, ['readlink', '/run/current-system']);
    expect(current.stdout.trim()).toBe(b.toplevel);
    // For A, which had nothing to do, the last deploy is still the run that did something to it.
    const status = await signage(['--config', config.file, '--json', 'status', A, B]);
    const rows = JSON.parse(status.stdout) as { host: string; lastRun: { id: string } | null }[];
    const runId = (JSON.parse(out.stdout) as { runId: string }).runId;
    expect(rows.find((r) => r.host === B)?.lastRun?.id).toBe(runId);
    expect(rows.find((r) => r.host === A)?.lastRun?.id).not.toBe(runId);
    expect(rows.find((r) => r.host === A)?.lastRun).not.toBeNull();
  });
});
