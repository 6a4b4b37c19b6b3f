import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/adapters/config/load.ts';
import { formatConfigError } from '../../src/adapters/config/problems.ts';

const PREFIX = join(tmpdir(), 'signage-config-test-');
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) if (dir.startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
});

function configDir(): string {
  const dir = mkdtempSync(PREFIX);
  made.push(dir);
  return dir;
}

const RELATIVE = `flake: ./fleet
stateDir: state
builder:
  signingKeyFile: keys/cache-key.sec
ssh:
  knownHostsFile: ../shared/known_hosts
  identityFile: keys/id_ed25519
`;

describe('loading the configuration file', () => {
  it("resolves relative paths against the file's directory, whatever the working directory", async () => {
    const dir = configDir();
    mkdirSync(join(dir, 'etc'));
    const file = join(dir, 'etc', 'signage.yml');
    writeFileSync(file, RELATIVE);
    const loaded = await loadConfig(file, {});
    if (!loaded.ok) throw new Error(formatConfigError(loaded.error));
    expect(process.cwd()).not.toBe(join(dir, 'etc'));
    expect(loaded.value.flake).toBe(join(dir, 'etc', 'fleet'));
    expect(loaded.value.stateDir).toBe(join(dir, 'etc', 'state'));
    expect(loaded.value.builder.signingKeyFile).toBe(join(dir, 'etc', 'keys', 'cache-key.sec'));
    expect(loaded.value.ssh.knownHostsFile).toBe(join(dir, 'shared', 'known_hosts'));
    expect(loaded.value.ssh.identityFile).toBe(join(dir, 'etc', 'keys', 'id_ed25519'));
  });

  it.each([
    ['github:office/signage-fleet'],
    ['git+https://git.example/office/fleet?ref=main'],
    ['path:/srv/fleet'],
    ['/srv/fleet'],
    ['fleet'],
  ])('leaves the flake reference %s as it is', async (flake) => {
    const dir = configDir();
    const file = join(dir, 'signage.yml');
    writeFileSync(file, RELATIVE.replace('./fleet', JSON.stringify(flake)));
    const loaded = await loadConfig(file, {});
    expect(loaded.ok && loaded.value.flake).toBe(flake);
  });

  it('resolves an agent socket, and keeps absolute paths from the environment', async () => {
    const dir = configDir();
    const file = join(dir, 'signage.yml');
    writeFileSync(file, 'flake: .\nssh:\n  knownHostsFile: known_hosts\n  agentSocket: run/agent.sock\n');
    const loaded = await loadConfig(file, {
      STATE_DIRECTORY: '/var/lib/signage',
      SIGNAGE_SIGNING_KEY_FILE: '/run/credentials/signage.service/key',
    });
    if (!loaded.ok) throw new Error(formatConfigError(loaded.error));
    expect(loaded.value.flake).toBe(dir);
    expect(loaded.value.ssh.agentSocket).toBe(join(dir, 'run', 'agent.sock'));
    expect(loaded.value.stateDir).toBe('/var/lib/signage');
    expect(loaded.value.builder.signingKeyFile).toBe('/run/credentials/signage.service/key');
  });

  it('names the file it could not read, and the one it could not use', async () => {
    const dir = configDir();
    const missing = join(dir, 'nope.yml');
    const r = await loadConfig(missing, {});
    expect(r.ok ? '' : formatConfigError(r.error)).toBe(
      `${missing}: no such file; write one (docs/configuration.md), or name another with --config or $SIGNAGE_CONFIG`,
    );
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, `${RELATIVE}limits: {parallelHosts: 0}\n`);
    const r2 = await loadConfig(bad, {});
    expect(r2.ok ? '' : formatConfigError(r2.error)).toBe(
      `${bad}:8: limits.parallelHosts: expected an integer from 1 to 64, got 0`,
    );
    expect((await loadConfig(dir, {})).ok).toBe(false);
  });
});
