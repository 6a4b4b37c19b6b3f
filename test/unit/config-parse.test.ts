import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/adapters/config/parse.ts';
import { type ConfigProblem, formatConfigError, problemText } from '../../src/adapters/config/problems.ts';
import type { Config } from '../../src/adapters/config/schema.ts';

const MINIMAL = `flake: ./fleet
stateDir: /var/lib/signage
builder:
  signingKeyFile: /etc/signage/cache-key.sec
ssh:
  knownHostsFile: /etc/signage/known_hosts
  identityFile: /etc/signage/id_ed25519
`;

const FULL = `# The office's screens.
flake: github:office/signage-fleet
stateDir: /var/lib/signage
builder:
  signingKeyFile: /etc/signage/cache-key.sec
ssh:
  knownHostsFile: /etc/signage/known_hosts
  agentSocket: /run/signage/agent.sock
  connectTimeoutSeconds: 5
  commandTimeoutSeconds: 1200
defaults:
  user: deploy
  port: 2222
  site: baard
  tags: [screen]
  restartCommand: [systemctl, restart, cage-tty1.service]
hosts:
  baard-entrance:
    address: entrance.tail1234.ts.net
    lanAddress: 192.168.10.21
    tags: [lobby]
  baard-canteen:
    port: 22
    user: root
    site: baard-2
    restartCommand: [systemctl, restart, display-manager.service]
  baard-lobby:
    activation:
      revertSeconds: 600
    health:
      hotCelsius: 70
    screenshotCommand: [sudo, -u, kiosk, grim, "-"]
limits:
  parallelHosts: 8
  parallelPeerCopies: 2
  approvalTimeoutMinutes: 45
uplink:
  transport: nix-copy
  deltas: false
  compressionLevel: 19
  tempSpaceMiB: 256
activation:
  revertSeconds: 240
  checks:
    - name: kiosk
      argv: [systemctl, is-active, --quiet, cage-tty1.service]
  tags:
    lobby:
      checks:
        - name: kiosk page
          argv: [curl, -fsS, http://127.0.0.1:8080/]
          timeoutSeconds: 20
health:
  power: [vcgencmd, get_throttled]
  temperature: false
  hotCelsius: 75
  minFreeMiB: 2048
  tags:
    lobby:
      temperature: [/opt/vc/bin/vcgencmd, measure_temp]
screenshot:
  command: [grim, "-"]
  timeoutSeconds: 10
  maxBytes: 4000000
  afterChange: false
  settleSeconds: 3
  tags:
    portrait: { command: [grim, -t, png, "-"] }
slack:
  mode: http
  port: 8080
  channel: C0SCREENS
  approvers:
    users: [U0ALICE, W0BOB]
    usergroup: S0OPS
  deployers: [U0CAROL]
  viewers: [U0DAVE]
  channels: [C0SCREENS, G0PRIVATE]
schedule:
  status: "0 8 * * 1-5"
  expireApprovals: "*/2 * * * *"
  timezone: Europe/Oslo
refs:
  defaultBranch: main
  nonDefault: approvers
  hostsTagged: [experiment]
sites:
  baard:
    timezone: Europe/Oslo
    windows: ["Mon-Fri 22:00-06:00", "Sat,Sun 00:00-24:00"]
    offHours: ["01:00-06:30"]
  office:
    approvals: {count: 2, requesterMayApprove: false}
tags:
  lobby:
    windows: ["12:00:05-12:00:35"]
    approvals: {count: 1}
  kiosk:
`;

function ok(text: string, env = {}): Config {
  const r = parseConfig(text, 'signage.yml', env);
  if (!r.ok) throw new Error(formatConfigError(r.error));
  return r.value;
}

function problems(text: string, env = {}): ConfigProblem[] {
  const r = parseConfig(text, 'signage.yml', env);
  if (r.ok) throw new Error('expected the configuration to be refused');
  expect(r.error.file).toBe('signage.yml');
  return [...r.error.problems];
}

/** `line: path: message`, the way a user reads them. */
function lines(text: string, env = {}): string[] {
  return problems(text, env).map((p) => `${p.line ?? '-'}: ${problemText(p)}`);
}

describe('a valid configuration', () => {
  it('fills every default around the required fields', () => {
    expect(ok(MINIMAL)).toEqual({
      flake: './fleet',
      stateDir: '/var/lib/signage',
      builder: { signingKeyFile: '/etc/signage/cache-key.sec' },
      ssh: {
        knownHostsFile: '/etc/signage/known_hosts',
        identityFile: '/etc/signage/id_ed25519',
        connectTimeoutSeconds: 10,
        commandTimeoutSeconds: 900,
      },
      defaults: {
        user: 'root',
        port: 22,
        site: 'office',
        tags: [],
        restartCommand: ['systemctl', 'restart', 'display-manager.service'],
      },
      hosts: {},
      limits: { parallelHosts: 4, parallelPeerCopies: 3, approvalTimeoutMinutes: 30 },
      uplink: {
        transport: 'stream',
        deltas: true,
        compressionLevel: 9,
        tempSpaceMiB: 512,
        deltaMaxBaseMiB: 256,
      },
      activation: {
        revertSeconds: 300,
        settleSeconds: 10,
        rebootSeconds: 300,
        checks: [
          {
            name: 'display manager active',
            argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
            timeoutSeconds: 60,
          },
        ],
        tags: {},
      },
      health: {
        power: ['vcgencmd', 'get_throttled'],
        temperature: ['vcgencmd', 'measure_temp'],
        hotCelsius: 80,
        minFreeMiB: 1024,
        tags: {},
      },
      screenshot: { timeoutSeconds: 20, maxBytes: 10_000_000, afterChange: true, settleSeconds: 5, tags: {} },
      schedule: { status: '*/15 * * * *', expireApprovals: '* * * * *', pendingWork: '* * * * *' },
      refs: { nonDefault: 'deployers', hostsTagged: [] },
      sites: {},
      tags: {},
    } satisfies Config);
  });

  it('reads every field', () => {
    expect(ok(FULL)).toEqual({
      flake: 'github:office/signage-fleet',
      stateDir: '/var/lib/signage',
      builder: { signingKeyFile: '/etc/signage/cache-key.sec' },
      ssh: {
        knownHostsFile: '/etc/signage/known_hosts',
        agentSocket: '/run/signage/agent.sock',
        connectTimeoutSeconds: 5,
        commandTimeoutSeconds: 1200,
      },
      defaults: {
        user: 'deploy',
        port: 2222,
        site: 'baard',
        tags: ['screen'],
        restartCommand: ['systemctl', 'restart', 'cage-tty1.service'],
      },
      hosts: {
        'baard-entrance': {
          address: 'entrance.tail1234.ts.net',
          lanAddress: '192.168.10.21',
          tags: ['lobby'],
        },
        'baard-canteen': {
          port: 22,
          user: 'root',
          site: 'baard-2',
          restartCommand: ['systemctl', 'restart', 'display-manager.service'],
        },
        'baard-lobby': {
          activation: { revertSeconds: 600 },
          health: { hotCelsius: 70 },
          screenshotCommand: ['sudo', '-u', 'kiosk', 'grim', '-'],
        },
      },
      limits: { parallelHosts: 8, parallelPeerCopies: 2, approvalTimeoutMinutes: 45 },
      uplink: {
        transport: 'nix-copy',
        deltas: false,
        compressionLevel: 19,
        tempSpaceMiB: 256,
        deltaMaxBaseMiB: 256,
      },
      activation: {
        revertSeconds: 240,
        settleSeconds: 10,
        rebootSeconds: 300,
        checks: [
          {
            name: 'kiosk',
            argv: ['systemctl', 'is-active', '--quiet', 'cage-tty1.service'],
            timeoutSeconds: 60,
          },
        ],
        tags: {
          lobby: {
            checks: [
              { name: 'kiosk page', argv: ['curl', '-fsS', 'http://127.0.0.1:8080/'], timeoutSeconds: 20 },
            ],
          },
        },
      },
      health: {
        power: ['vcgencmd', 'get_throttled'],
        temperature: false,
        hotCelsius: 75,
        minFreeMiB: 2048,
        tags: { lobby: { temperature: ['/opt/vc/bin/vcgencmd', 'measure_temp'] } },
      },
      screenshot: {
        command: ['grim', '-'],
        timeoutSeconds: 10,
        maxBytes: 4_000_000,
        afterChange: false,
        settleSeconds: 3,
        tags: { portrait: { command: ['grim', '-t', 'png', '-'] } },
      },
      slack: {
        mode: 'http',
        port: 8080,
        listenAddress: '127.0.0.1',
        apiUrl: 'https://slack.com/api/',
        channel: 'C0SCREENS',
        approvers: {
          users: ['U0ALICE', 'W0BOB'],
          usergroup: 'S0OPS',
          directMessage: false,
          warnBeforeExpiryMinutes: 5,
        },
        deployers: ['U0CAROL'],
        viewers: ['U0DAVE'],
        channels: ['C0SCREENS', 'G0PRIVATE'],
      },
      schedule: {
        status: '0 8 * * 1-5',
        expireApprovals: '*/2 * * * *',
        pendingWork: '* * * * *',
        timezone: 'Europe/Oslo',
      },
      refs: { defaultBranch: 'main', nonDefault: 'approvers', hostsTagged: ['experiment'] },
      sites: {
        baard: {
          timezone: 'Europe/Oslo',
          windows: ['Mon-Fri 22:00-06:00', 'Sat,Sun 00:00-24:00'],
          offHours: ['01:00-06:30'],
        },
        office: { approvals: { count: 2, requesterMayApprove: false } },
      },
      tags: {
        lobby: { windows: ['12:00:05-12:00:35'], approvals: { count: 1, requesterMayApprove: true } },
        kiosk: {},
      },
    } satisfies Config);
  });

  it('reads the same configuration written as JSON', () => {
    const yaml = ok(FULL);
    const json = JSON.stringify(JSON.parse(JSON.stringify(yaml)), null, '\t');
    expect(ok(json)).toEqual(yaml);
  });

  it('defaults the Slack section, and lets schedule.status be off without a channel', () => {
    const config = ok(`${MINIMAL}slack:\n  approvers: {usergroup: S0OPS}\nschedule:\n  status: false\n`);
    expect(config.slack).toEqual({
      mode: 'socket',
      port: 3000,
      listenAddress: '127.0.0.1',
      apiUrl: 'https://slack.com/api/',
      approvers: { users: [], usergroup: 'S0OPS', directMessage: false, warnBeforeExpiryMinutes: 5 },
      deployers: [],
      viewers: 'everyone',
      channels: [],
    });
    expect(config.schedule.status).toBe(false);
  });
});

describe('a bad configuration', () => {
  it.each([
    [
      'a port that is not a number',
      `${MINIMAL}hosts:\n  baard-entrance:\n    port: "x"\n`,
      ['10: hosts.baard-entrance.port: expected an integer from 1 to 65535, got "x"'],
    ],
    [
      'a port out of range',
      `${MINIMAL}defaults:\n  port: 70000\n`,
      ['9: defaults.port: expected an integer from 1 to 65535, got 70000'],
    ],
    [
      'a misspelt field',
      `${MINIMAL}hosts:\n  baard-entrance:\n    adress: x\n`,
      [
        '10: hosts.baard-entrance.adress: unknown field; did you mean address? (known fields here: address, lanAddress, port, user, site, tags, restartCommand, activation, health, screenshotCommand)',
      ],
    ],
    [
      'a field given by its beginning',
      `${MINIMAL}hosts:\n  baard-entrance:\n    restart: [systemctl, restart, cage]\n`,
      [
        '10: hosts.baard-entrance.restart: unknown field; did you mean restartCommand? (known fields here: address, lanAddress, port, user, site, tags, restartCommand, activation, health, screenshotCommand)',
      ],
    ],
    [
      'an unknown top-level field',
      `${MINIMAL}verbose: true\n`,
      [
        '8: verbose: unknown field (known fields here: flake, stateDir, builder, ssh, defaults, hosts, limits, uplink, activation, health, screenshot, slack, schedule, refs, sites, tags)',
      ],
    ],
    [
      'a host name with capitals',
      `${MINIMAL}hosts:\n  Baard_Entrance: {}\n`,
      [
        '9: hosts.Baard_Entrance: expected a host name: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters, got "Baard_Entrance"',
      ],
    ],
    [
      'a tag that is not a name',
      `${MINIMAL}defaults:\n  tags: [lobby, "Front Desk"]\n`,
      [
        '9: defaults.tags[1]: expected a tag name: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters, got "Front Desk"',
      ],
    ],
    [
      'a site starting with a dash',
      `${MINIMAL}defaults:\n  site: -hq\n`,
      [
        '9: defaults.site: expected a site name: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters, got "-hq"',
      ],
    ],
    [
      'an address that ssh would read as an option',
      `${MINIMAL}hosts:\n  lobby:\n    address: -oProxyCommand=x\n`,
      [
        '10: hosts.lobby.address: expected a host name or IPv4 address (letters, digits, "." and "-"; Nix store URLs cannot carry IPv6 addresses, so use a name), got "-oProxyCommand=x"',
      ],
    ],
    [
      'an address with a space',
      `${MINIMAL}hosts:\n  lobby:\n    lanAddress: "10.0.0.1 x"\n`,
      [
        '10: hosts.lobby.lanAddress: expected a host name or IPv4 address (letters, digits, "." and "-"; Nix store URLs cannot carry IPv6 addresses, so use a name), got "10.0.0.1 x"',
      ],
    ],
    [
      'an IPv6 address, which a Nix store URL cannot carry',
      `${MINIMAL}hosts:\n  lobby:\n    address: "fd7a:115c:a1e0::1"\n`,
      [
        '10: hosts.lobby.address: expected a host name or IPv4 address (letters, digits, "." and "-"; Nix store URLs cannot carry IPv6 addresses, so use a name), got "fd7a:115c:a1e0::1"',
      ],
    ],
    [
      'an empty restart command',
      `${MINIMAL}defaults:\n  restartCommand: []\n`,
      [
        '9: defaults.restartCommand: expected a non-empty list of non-empty strings, e.g. [systemctl, restart, display-manager.service], got the list []',
      ],
    ],
    [
      'a restart command as one shell string',
      `${MINIMAL}defaults:\n  restartCommand: systemctl restart display-manager\n`,
      [
        '9: defaults.restartCommand: expected a non-empty list of non-empty strings, e.g. [systemctl, restart, display-manager.service], got "systemctl restart display-manager"',
      ],
    ],
    [
      'a restart command with a number in it',
      `${MINIMAL}hosts:\n  lobby:\n    restartCommand: [sleep, 5]\n`,
      [
        '10: hosts.lobby.restartCommand: expected a non-empty list of non-empty strings, e.g. [systemctl, restart, display-manager.service], got the list ["sleep",5]',
      ],
    ],
    [
      'a file path with a space',
      MINIMAL.replace('/etc/signage/known_hosts', '"/etc/signage/known hosts"'),
      [
        '6: ssh.knownHostsFile: expected a file path without spaces (relative to this file, or absolute; ~ is not expanded), got "/etc/signage/known hosts"',
      ],
    ],
    [
      'a file path under ~',
      MINIMAL.replace('/etc/signage/id_ed25519', '~/.ssh/id_ed25519'),
      [
        '7: ssh.identityFile: expected a file path without spaces (relative to this file, or absolute; ~ is not expanded), got "~/.ssh/id_ed25519"',
      ],
    ],
    [
      'a flake with an attribute',
      MINIMAL.replace('./fleet', '"./fleet#nixosConfigurations"'),
      [
        '1: flake: expected a flake reference without "#" or spaces, e.g. "github:office/signage-fleet" or "./fleet", got "./fleet#nixosConfigurations"',
      ],
    ],
    [
      'both an identity file and an agent',
      `${MINIMAL}  agentSocket: /run/agent\n`,
      ['5: ssh: set identityFile or agentSocket, not both'],
    ],
    [
      'neither an identity file nor an agent',
      MINIMAL.replace('  identityFile: /etc/signage/id_ed25519\n', ''),
      [
        "5: ssh: set identityFile (a private key file) or agentSocket (an SSH agent socket holding the bot's key only; the agent of whoever runs the command is never used, so that no other key of theirs signs the bot's logins)",
      ],
    ],
    [
      'a timeout of zero',
      `${MINIMAL}  connectTimeoutSeconds: 0\n`,
      ['8: ssh.connectTimeoutSeconds: expected an integer from 1 to 600, got 0'],
    ],
    [
      'a fractional limit',
      `${MINIMAL}limits:\n  parallelHosts: 2.5\n`,
      ['9: limits.parallelHosts: expected an integer from 1 to 64, got 2.5'],
    ],
    [
      'a Slack section without approvers',
      `${MINIMAL}slack:\n  channel: C0SCREENS\n`,
      [
        '8: slack.approvers: name at least one approver: users (Slack user IDs) or a usergroup, who may approve display restarts',
      ],
    ],
    [
      'a Slack section without a channel for the fleet report',
      `${MINIMAL}slack:\n  approvers: {users: [U0ALICE]}\n`,
      [
        '8: slack.channel: required while schedule.status is on: the fleet report is posted there (or set schedule.status: false)',
      ],
    ],
    [
      'a user name where a Slack ID belongs',
      `${MINIMAL}slack:\n  channel: C0SCREENS\n  approvers:\n    users: ["@alice"]\n`,
      [
        '11: slack.approvers.users[0]: expected a Slack user ID like U0123ABCD (profile → ⋯ → Copy member ID), got "@alice"',
      ],
    ],
    [
      'a channel name where a channel ID belongs',
      `${MINIMAL}slack:\n  channel: "#screens"\n  approvers: {users: [U0ALICE]}\n`,
      [
        '9: slack.channel: expected a Slack channel ID like C0123ABCD (channel details → About, at the bottom), got "#screens"',
      ],
    ],
    [
      'viewers that are neither everyone nor a list',
      `${MINIMAL}slack:\n  channel: C0SCREENS\n  approvers: {users: [U0ALICE]}\n  viewers: all\n`,
      ['11: slack.viewers: expected "everyone" or a list of Slack user IDs, got "all"'],
    ],
    [
      'an unknown Slack mode',
      `${MINIMAL}slack:\n  mode: websocket\n  channel: C0SCREENS\n  approvers: {users: [U0ALICE]}\n`,
      ['9: slack.mode: expected "socket" or "http", got "websocket"'],
    ],
    [
      'a cron expression with four fields',
      `${MINIMAL}schedule:\n  status: "*/15 * * *"\n`,
      [
        '9: schedule.status: expected a cron expression like "*/15 * * * *" or false, got "*/15 * * *" (expected 5 or 6 fields but got 4)',
      ],
    ],
    [
      'a cron expression out of range',
      `${MINIMAL}schedule:\n  expireApprovals: "61 * * * *"\n`,
      [
        '9: schedule.expireApprovals: expected a cron expression like "*/15 * * * *", got "61 * * * *" (its minute field "61" is not valid)',
      ],
    ],
    [
      'schedule.status: true',
      `${MINIMAL}schedule:\n  status: true\n`,
      ['9: schedule.status: expected a cron expression like "*/15 * * * *" or false, got true'],
    ],
    [
      'an unknown time zone',
      `${MINIMAL}schedule:\n  timezone: Europe/Atlantis\n`,
      ['9: schedule.timezone: expected an IANA time zone like "Europe/Oslo", got "Europe/Atlantis"'],
    ],
    [
      'a section that is a list',
      `${MINIMAL}limits: [4]\n`,
      ['8: limits: expected a mapping, got the list [4]'],
    ],
    [
      'tags that are not a list',
      `${MINIMAL}defaults:\n  tags: lobby\n`,
      ['9: defaults.tags: expected a list, got "lobby"'],
    ],
    [
      'a token pasted in the wrong place',
      `${MINIMAL}defaults:\n  port: xoxb-1234-5678-abcdefghijkl\n`,
      ['9: defaults.port: expected an integer from 1 to 65535, got a token-shaped value (not shown)'],
    ],
  ])('%s', (_what, text, expected) => {
    expect(lines(text)).toEqual(expected);
  });

  it('names every missing required field at once', () => {
    expect(lines('schedule: {status: false}\n')).toEqual([
      '-: flake: required: the flake that defines nixosConfigurations for the screens, e.g. "./fleet"',
      '-: stateDir: required: a directory for the state database (or set $STATE_DIRECTORY)',
      '-: builder.signingKeyFile: required: the secret key file the builder signs store paths with (or set $SIGNAGE_SIGNING_KEY_FILE)',
      "-: ssh.knownHostsFile: required: a known_hosts file with every host's key (host keys are always checked)",
      "-: ssh: set identityFile (a private key file) or agentSocket (an SSH agent socket holding the bot's key only; the agent of whoever runs the command is never used, so that no other key of theirs signs the bot's logins)",
    ]);
  });

  it('reports every problem in the file at once, in line order', () => {
    const text = `flake: ./fleet
stateDir: /var/lib/signage
builder: {}
ssh:
  knownHostsFile: /etc/known_hosts
  identityFile: id
hosts:
  lobby:
    port: 0
    colour: blue
limits:
  parallelHosts: many
`;
    expect(lines(text)).toEqual([
      '3: builder.signingKeyFile: required: the secret key file the builder signs store paths with (or set $SIGNAGE_SIGNING_KEY_FILE)',
      '9: hosts.lobby.port: expected an integer from 1 to 65535, got 0',
      '10: hosts.lobby.colour: unknown field (known fields here: address, lanAddress, port, user, site, tags, restartCommand, activation, health, screenshotCommand)',
      '12: limits.parallelHosts: expected an integer from 1 to 64, got "many"',
    ]);
    const r = parseConfig(text, '/etc/signage/signage.yml');
    expect(r.ok ? '' : formatConfigError(r.error)).toBe(
      [
        '/etc/signage/signage.yml: 4 problems in the configuration:',
        '  /etc/signage/signage.yml:3: builder.signingKeyFile: required: the secret key file the builder signs store paths with (or set $SIGNAGE_SIGNING_KEY_FILE)',
        '  /etc/signage/signage.yml:9: hosts.lobby.port: expected an integer from 1 to 65535, got 0',
        '  /etc/signage/signage.yml:10: hosts.lobby.colour: unknown field (known fields here: address, lanAddress, port, user, site, tags, restartCommand, activation, health, screenshotCommand)',
        '  /etc/signage/signage.yml:12: limits.parallelHosts: expected an integer from 1 to 64, got "many"',
      ].join('\n'),
    );
  });

  it('gives the line of a YAML syntax error', () => {
    const r = parseConfig(`${MINIMAL}hosts:\n  lobby: {port: 22\n  canteen: {}\n`, 'signage.yml');
    expect(r.ok).toBe(false);
    const first = r.ok ? undefined : r.error.problems[0];
    expect(first?.path).toBe('');
    expect(first?.line).toBe(10);
    expect(first?.message).toMatch(/^not valid YAML: /);
    expect(r.ok ? '' : formatConfigError(r.error)).toMatch(/^signage\.yml:10: not valid YAML: /);
  });

  it('says a file of several YAML documents must hold one, without naming the YAML library', () => {
    const out = lines(`${MINIMAL}---\nstateDir: /srv/signage\n`);
    expect(out).toEqual([
      '8: the configuration file must hold one YAML document; this one has a second after a `---` line',
    ]);
  });

  it('refuses a field given twice', () => {
    expect(lines(`${MINIMAL}stateDir: /srv/signage\n`)).toEqual([
      '8: not valid YAML: Map keys must be unique',
    ]);
  });

  it('refuses an empty file and one that is not a mapping', () => {
    expect(lines('# nothing yet\n')).toEqual([
      '-: the file is empty; it needs at least flake, stateDir, builder and ssh (docs/configuration.md)',
    ]);
    expect(lines('- flake\n- stateDir\n')).toEqual([
      '1: expected a mapping of settings (flake: …, stateDir: …), got the list ["flake","stateDir"]',
    ]);
  });
});

describe('the environment', () => {
  const BARE = `flake: ./fleet
ssh:
  knownHostsFile: /etc/signage/known_hosts
`;
  const env = {
    STATE_DIRECTORY: '/var/lib/signage:/var/lib/other',
    SIGNAGE_SIGNING_KEY_FILE: '/run/credentials/signage/key',
    SSH_AUTH_SOCK: '/run/user/0/agent.sock',
  };

  it('fills what the file leaves out', () => {
    const config = ok(`${BARE}  agentSocket: /run/signage/agent.sock\n`, env);
    expect(config.stateDir).toBe('/var/lib/signage');
    expect(config.builder.signingKeyFile).toBe('/run/credentials/signage/key');
    expect(config.ssh.agentSocket).toBe('/run/signage/agent.sock');
  });

  it('never uses the agent of whoever runs it: that agent may hold keys to far more than the screens', () => {
    expect(lines(BARE, env)).toEqual([
      "2: ssh: set identityFile (a private key file) or agentSocket (an SSH agent socket holding the bot's key only; the agent of whoever runs the command is never used, so that no other key of theirs signs the bot's logins)",
    ]);
  });

  it('never overrides the file', () => {
    const config = ok(MINIMAL, env);
    expect(config.stateDir).toBe('/var/lib/signage');
    expect(config.builder.signingKeyFile).toBe('/etc/signage/cache-key.sec');
    // The file chose a key file: the shell's agent does not replace it.
    expect(config.ssh).toMatchObject({ identityFile: '/etc/signage/id_ed25519' });
    expect(config.ssh.agentSocket).toBeUndefined();
  });

  it('says which variable a bad value came from', () => {
    expect(
      lines(`${BARE}  agentSocket: /run/signage/agent.sock\n`, { ...env, STATE_DIRECTORY: 'relative/state' }),
    ).toEqual(['-: stateDir: $STATE_DIRECTORY must be an absolute path, got "relative/state"']);
  });

  it('ignores empty variables', () => {
    expect(lines(BARE, { STATE_DIRECTORY: '', SSH_AUTH_SOCK: '' })).toEqual([
      "2: ssh: set identityFile (a private key file) or agentSocket (an SSH agent socket holding the bot's key only; the agent of whoever runs the command is never used, so that no other key of theirs signs the bot's logins)",
      '-: stateDir: required: a directory for the state database (or set $STATE_DIRECTORY)',
      '-: builder.signingKeyFile: required: the secret key file the builder signs store paths with (or set $SIGNAGE_SIGNING_KEY_FILE)',
    ]);
  });

  it('keeps the configuration free of anything else from the environment', () => {
    const config = ok(MINIMAL, { SLACK_BOT_TOKEN: 'xoxb-1-2-secret', ...env });
    expect(JSON.stringify(config)).not.toContain('xoxb-');
    expect(stringify(config)).not.toContain('secret');
  });
});
