// `npm run office -- --flake PATH --write-config FILE` as a new user runs it: an office for their own flake,
// and a configuration the real `signage` command works with as written, with nothing read from test/office/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { officeUnavailable } from '../office/index.ts';

const unavailable = officeUnavailable();
const ROOT = join(import.meta.dirname, '..', '..');
const HOSTS = ['lobby-screen', 'canteen-screen'];

function signage(args: string[]) {
  return execa(join(ROOT, 'bin', 'signage'), args, { reject: false, stdin: 'ignore' });
}

describe.skipIf(unavailable !== null)('an office for a flake of ones own', () => {
  let scratch: string;
  let office: ResultPromise | undefined;
  let config: string;
  let output = '';
  let ended = false;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'signage-office-config-'));
    const flake = join(scratch, 'my-fleet');
    mkdirSync(flake);
    const system = process.arch === 'arm64' ? 'aarch64-linux' : 'x86_64-linux';
    const host = (name: string) =>
      `${name}.config.system.build.toplevel = derivation { name = "${name}-system"; system = "${system}"; ` +
      `builder = "/bin/sh"; args = [ "-c" "echo ${name} ${process.pid} > $out" ]; };`;
    writeFileSync(
      join(flake, 'flake.nix'),
      `{ outputs = { self }: { nixosConfigurations = { ${HOSTS.map(host).join(' ')} }; }; }\n`,
    );
    config = join(scratch, 'signage.yml');
    office = execa(
      process.execPath,
      [join(ROOT, 'scripts', 'office.ts'), '--flake', flake, '--write-config', config, '--scale', '0.05'],
      { reject: false, stdin: 'ignore', all: true },
    );
    // Up when it says where the configuration is; bounded, and failing with what it printed.
    await new Promise<void>((resolveUp, reject) => {
      const timer = setTimeout(() => reject(new Error(`office not up in 240 s:\n${output}`)), 240_000);
      office!.all!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('configuration: ')) {
          clearTimeout(timer);
          resolveUp();
        }
      });
      void office!.then((r) => {
        ended = true;
        clearTimeout(timer);
        reject(new Error(`office exited ${r.exitCode}:\n${output}`));
      });
    });
  }, 300_000);

  afterAll(async () => {
    // The office tears itself down on Ctrl-C, as a user stops it.
    if (office?.pid !== undefined && !ended) {
      office.kill('SIGINT');
      await office;
    }
    if (scratch?.startsWith(join(tmpdir(), 'signage-office-config-')))
      rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('writes a configuration naming the flake and every host of it at its office address', () => {
    const written = parse(readFileSync(config, 'utf8'));
    expect(written.flake).toBe(join(scratch, 'my-fleet'));
    expect(Object.keys(written.hosts).sort()).toEqual([...HOSTS].sort());
    for (const h of HOSTS)
      expect(output).toMatch(new RegExp(`${h}\\s+ssh .* root@${written.hosts[h].address}`));
  });

  it('works with the real signage command as written', async () => {
    const hosts = await signage(['--config', config, '--json', 'hosts']);
    expect(hosts.exitCode, hosts.stderr).toBe(0);
    expect(hosts.stdout).toContain('lobby-screen');
    expect(hosts.stdout).toContain('canteen-screen');

    const status = await signage(['--config', config, '--json', 'status']);
    const rows = JSON.parse(status.stdout) as { host: string; reachable: boolean; sync: string }[];
    expect(rows.map((r) => [r.host, r.reachable]).sort()).toEqual(HOSTS.map((h) => [h, true]).sort());
    // Nothing deployed yet: out of sync, so status says so with exit 1.
    expect(status.exitCode, status.stderr).toBe(1);

    // The flake is the user's: plan builds its system and asks the hosts what they hold.
    const plan = await signage(['--config', config, '--json', 'plan', 'lobby-screen']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const result = JSON.parse(plan.stdout);
    expect(result.hosts[0].toplevel).toMatch(/-lobby-screen-system$/);
  });

  it('takes everything the configuration names away with it on Ctrl-C', async () => {
    const written = parse(readFileSync(config, 'utf8'));
    expect(existsSync(written.ssh.knownHostsFile)).toBe(true);
    office!.kill('SIGINT');
    const r = await office!;
    ended = true;
    expect(r.exitCode, output).toBe(0);
    expect(existsSync(written.ssh.knownHostsFile)).toBe(false);
    expect(existsSync(written.stateDir)).toBe(false);
  });
});
