import { describe, expect, it } from 'vitest';
import { resolveHosts } from '../../src/adapters/config/hosts.ts';
import { parseConfig } from '../../src/adapters/config/parse.ts';
import { formatConfigError } from '../../src/adapters/config/problems.ts';
import type { Config } from '../../src/adapters/config/schema.ts';
import { DEFAULT_ACTIVATION } from '../../src/core/activation-sequence.ts';
import { DEFAULT_HEALTH } from '../../src/core/health.ts';

function config(extra: string): Config {
  const r = parseConfig(
    `flake: ./fleet
stateDir: /var/lib/signage
builder: {signingKeyFile: /k}
ssh: {knownHostsFile: /kh, identityFile: /id}
${extra}`,
    'signage.yml',
  );
  if (!r.ok) throw new Error(formatConfigError(r.error));
  return r.value;
}

/** No site or tag policy: any time, never off, in the bot's zone. */
const OPEN = { timezone: expect.any(String), windows: null, offHours: null };

const FLAKE_HOSTS = ['baard-lobby', 'baard-entrance', 'oslo-canteen'];

describe('the fleet from the flake and the configuration', () => {
  it('is every host of the flake, sorted, with the defaults filled in', () => {
    const r = resolveHosts(config(''), FLAKE_HOSTS);
    expect(r).toEqual({
      ok: true,
      value: ['baard-entrance', 'baard-lobby', 'oslo-canteen'].map((name) => ({
        name,
        address: name,
        lanAddress: name,
        port: 22,
        user: 'root',
        site: 'office',
        tags: [],
        restartCommand: ['systemctl', 'restart', 'display-manager.service'],
        activation: DEFAULT_ACTIVATION,
        policy: OPEN,
        health: DEFAULT_HEALTH,
      })),
    });
  });

  it("takes a host's screenshot command from itself, then its first tag that sets one, then the default", () => {
    const r = resolveHosts(
      config(`screenshot:
  command: [grim, "-"]
  timeoutSeconds: 7
  maxBytes: 5000
  tags:
    portrait: {command: [grim, -t, png, "-"]}
    lobby: {command: [lobby-shot]}
hosts:
  baard-entrance: {tags: [portrait, lobby]}
  baard-lobby: {tags: [lobby], screenshotCommand: [sudo, -u, kiosk, grim, "-"]}
`),
      FLAKE_HOSTS,
    );
    if (!r.ok) throw new Error('refused');
    const shot = (name: string) => r.value.find((h) => h.name === name)?.screenshot;
    expect(shot('baard-entrance')).toEqual({
      argv: ['grim', '-t', 'png', '-'],
      timeoutMs: 7000,
      maxBytes: 5000,
    });
    expect(shot('baard-lobby')?.argv).toEqual(['sudo', '-u', 'kiosk', 'grim', '-']);
    expect(shot('oslo-canteen')?.argv).toEqual(['grim', '-']);
    // Without any command, screenshots are off.
    const off = resolveHosts(config(''), FLAKE_HOSTS);
    expect(off.ok && off.value.every((h) => h.screenshot === undefined)).toBe(true);
  });

  it('applies per-host overrides over the defaults; tags add to the default ones', () => {
    const r = resolveHosts(
      config(`defaults:
  site: baard
  tags: [screen, lobby]
  user: deploy
hosts:
  baard-entrance:
    address: entrance.tail.ts.net
    tags: [door, screen]
  oslo-canteen:
    address: 100.64.0.7
    lanAddress: 10.1.0.7
    port: 2222
    user: root
    site: oslo
    restartCommand: [systemctl, restart, cage.service]
  baard-lobby:
`),
      FLAKE_HOSTS,
    );
    if (!r.ok) throw new Error(formatConfigError(r.error));
    expect(r.value).toEqual([
      {
        name: 'baard-entrance',
        address: 'entrance.tail.ts.net',
        lanAddress: 'entrance.tail.ts.net',
        port: 22,
        user: 'deploy',
        site: 'baard',
        tags: ['screen', 'lobby', 'door'],
        restartCommand: ['systemctl', 'restart', 'display-manager.service'],
        activation: DEFAULT_ACTIVATION,
        policy: OPEN,
        health: DEFAULT_HEALTH,
      },
      {
        name: 'baard-lobby',
        address: 'baard-lobby',
        lanAddress: 'baard-lobby',
        port: 22,
        user: 'deploy',
        site: 'baard',
        tags: ['screen', 'lobby'],
        restartCommand: ['systemctl', 'restart', 'display-manager.service'],
        activation: DEFAULT_ACTIVATION,
        policy: OPEN,
        health: DEFAULT_HEALTH,
      },
      {
        name: 'oslo-canteen',
        address: '100.64.0.7',
        lanAddress: '10.1.0.7',
        port: 2222,
        user: 'root',
        site: 'oslo',
        tags: ['screen', 'lobby'],
        restartCommand: ['systemctl', 'restart', 'cage.service'],
        activation: DEFAULT_ACTIVATION,
        policy: OPEN,
        health: DEFAULT_HEALTH,
      },
    ]);
  });

  it("gives each host the most specific activation settings: its own, its tags', the defaults", () => {
    const r = resolveHosts(
      config(`activation:
  revertSeconds: 120
  tags:
    lobby:
      revertSeconds: 200
      settleSeconds: 30
      rebootSeconds: 600
      checks:
        - {name: page, argv: [curl, -fsS, http://127.0.0.1/], timeoutSeconds: 10}
    door:
      revertSeconds: 90
      checks:
        - {name: lock, argv: [systemctl, is-active, door.service]}
hosts:
  baard-entrance:
    tags: [lobby, door]
  baard-lobby:
    tags: [lobby]
    activation:
      checks: []
`),
      FLAKE_HOSTS,
    );
    if (!r.ok) throw new Error(formatConfigError(r.error));
    const by = new Map(r.value.map((h) => [h.name, h.activation]));
    expect(by.get('baard-entrance')).toEqual({
      revertSeconds: 200,
      settleSeconds: 30,
      rebootSeconds: 600,
      checks: [
        { name: 'page', argv: ['curl', '-fsS', 'http://127.0.0.1/'], timeoutSeconds: 10 },
        { name: 'lock', argv: ['systemctl', 'is-active', 'door.service'], timeoutSeconds: 60 },
      ],
    });
    expect(by.get('baard-lobby')).toEqual({
      revertSeconds: 200,
      settleSeconds: 30,
      rebootSeconds: 600,
      checks: [],
    });
    expect(by.get('oslo-canteen')).toEqual({
      revertSeconds: 120,
      settleSeconds: DEFAULT_ACTIVATION.settleSeconds,
      rebootSeconds: DEFAULT_ACTIVATION.rebootSeconds,
      checks: DEFAULT_ACTIVATION.checks,
    });
  });

  it('refuses an override for a host the flake lacks, listing the ones it has', () => {
    const r = resolveHosts(
      config('hosts:\n  baard-entrence: {port: 22}\n  baard-lobby: {}\n'),
      FLAKE_HOSTS,
      '/etc/signage.yml',
    );
    expect(r.ok ? '' : formatConfigError(r.error)).toBe(
      '/etc/signage.yml: hosts.baard-entrence: the flake has no nixosConfigurations.baard-entrence; its hosts are: baard-entrance, baard-lobby, oslo-canteen',
    );
  });

  it("gives each host its health commands and limits field by field: its own, its first tag's, the defaults", () => {
    const r = resolveHosts(
      config(`defaults:
  tags: [pi]
health:
  hotCelsius: 75
  tags:
    pi: {minFreeMiB: 512}
    x86: {power: false, temperature: [/opt/vc/bin/vcgencmd, measure_temp], hotCelsius: 90}
    hot-room: {hotCelsius: 85}
hosts:
  baard-entrance: {tags: [x86, hot-room]}
  oslo-canteen: {tags: [hot-room], health: {power: [/opt/vc/bin/vcgencmd, get_throttled], minFreeMiB: 0}}
`),
      FLAKE_HOSTS,
    );
    if (!r.ok) throw new Error(formatConfigError(r.error));
    const by = new Map(r.value.map((h) => [h.name, h.health]));
    const MiB = 1024 * 1024;
    expect(by.get('baard-lobby')).toEqual({ ...DEFAULT_HEALTH, hotCelsius: 75, minFreeBytes: 512 * MiB });
    expect(by.get('baard-entrance')).toEqual({
      power: null,
      temperature: ['/opt/vc/bin/vcgencmd', 'measure_temp'],
      hotCelsius: 90,
      minFreeBytes: 512 * MiB,
    });
    expect(by.get('oslo-canteen')).toEqual({
      ...DEFAULT_HEALTH,
      power: ['/opt/vc/bin/vcgencmd', 'get_throttled'],
      hotCelsius: 85,
      minFreeBytes: 0,
    });
  });

  it('refuses a health command that is not a list of words', () => {
    const r = parseConfig(
      'flake: ./fleet\nstateDir: /s\nbuilder: {signingKeyFile: /k}\nssh: {knownHostsFile: /kh, identityFile: /id}\nhealth: {power: "vcgencmd get_throttled", hotCelsius: 500}\n',
      'signage.yml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatConfigError(r.error);
    expect(text).toContain(
      'health.power: expected a non-empty list of non-empty strings, e.g. [vcgencmd, get_throttled], or false, got "vcgencmd get_throttled"',
    );
    expect(text).toContain('health.hotCelsius: expected an integer from 30 to 120, got 500');
  });

  it('refuses a flake without hosts, and a flake host whose name cannot be typed safely', () => {
    const empty = resolveHosts(config(''), [], 'signage.yml');
    expect(empty.ok ? '' : formatConfigError(empty.error)).toBe(
      'signage.yml: flake: ./fleet defines no nixosConfigurations, so there are no hosts to manage',
    );
    const odd = resolveHosts(config(''), ['baard-lobby', 'Build VM'], 'signage.yml');
    expect(odd.ok ? [] : odd.error.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'flake: nixosConfigurations."Build VM" is not a usable host name (lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters); rename it in the flake',
    ]);
  });
});
