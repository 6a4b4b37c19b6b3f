// The host module's parts that need no nixpkgs (nix/lib/signage-host.nix), checked with the real tools they
// configure: the sudo rules for a bot user that is not root, rendered as NixOS's security.sudo writes them,
// are asked of the real sudo (`sudo -l -U USER COMMAND`, against a sudoers file bind-mounted over
// /etc/sudoers in a private mount namespace) for every command the bot's code builds; the sshd settings are
// read back with `sshd -T`, and Unix-socket forwarding is tried against a real sshd; the key checks behind the assertions take keys made by ssh-keygen and
// nix-store --generate-binary-cache-key. The module itself is evaluated on its own with a stand-in for the
// module system (test/support/nixos-module-stub.nix): its options, what it defines, and its assertions.
//
// Not verified here: the module under the real NixOS module system (that the options it sets exist with
// those types, how its definitions merge with nix.sshServe, security.sudo and the rest), which needs
// nixpkgs; `checks.<system>.host-module` does that.
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_COMMAND } from '../../src/adapters/config/schema.ts';
import { uplinkImportCommand } from '../../src/adapters/nix/uplink-import.ts';
import * as activation from '../../src/core/activation.ts';
import type { StorePath } from '../../src/core/types.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRATCH_PREFIX = join(tmpdir(), 'signage-host-module-');

function onPath(command: string): string | undefined {
  for (const dir of ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(delimiter)]) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

// scripts/setup installs these: without them the tests fail rather than pass.
function tool(name: string): string {
  const path = onPath(name);
  expect(path, `${name} is not installed (run scripts/setup)`).toBeDefined();
  return path!;
}

async function nixEval<T>(body: string, data: unknown = null): Promise<T> {
  const expr = [
    '{ root, data }:',
    'let',
    '  host = import (root + "/nix/lib/signage-host.nix");',
    '  input = builtins.fromJSON data;',
    'in',
    body,
  ].join('\n');
  const out = await execa(
    tool('nix-instantiate'),
    [
      '--eval',
      '--strict',
      '--json',
      '--argstr',
      'root',
      ROOT,
      '--argstr',
      'data',
      JSON.stringify(data),
      '--expr',
      expr,
    ],
    { reject: false, stdin: 'ignore' },
  );
  if (out.exitCode !== 0) throw new Error(`nix-instantiate failed:\n${out.stderr}`);
  return JSON.parse(out.stdout) as T;
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(SCRATCH_PREFIX);
});
afterAll(() => {
  // Only the directory made above.
  if (scratch?.startsWith(SCRATCH_PREFIX)) rmSync(scratch, { recursive: true, force: true });
});

const P =
  '/nix/store/8fzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-baard-entrance-26.05.1.signage' as StorePath;
const PREV =
  '/nix/store/1b8dm0q2jvk6wz4xg9r7c5n3p1l0s8yh-nixos-system-baard-entrance-26.05.0.signage' as StorePath;
const OTHER = '/nix/store/0c9gd1ng2n5zs7p3z0yd8v8r2k1a7qfw-evil' as StorePath;

describe('the sudo rules for a bot user that is not root, asked of the real sudo', () => {
  // `nobody` exists on every Debian system, so sudo can look the user up without touching /etc/passwd.
  const USER = 'nobody';
  const PROGRAMS = ['nix-env', 'nix-store', 'systemd-run', 'systemctl', 'sh', 'rm', 'reboot'];
  const target: activation.ActivationTarget = { sudo: true, systemd: true };
  let binDir: string;
  let sudoers: string;

  /** The sudoers file NixOS would write for these rules, with the programs in binDir instead of /run/current-system/sw/bin. */
  async function render(restartCommand: readonly string[]): Promise<string> {
    const text = await nixEval<string>(
      'host.sudoersLines (host.sudoRules { inherit (input) user restartCommand binDir; })',
      { user: USER, restartCommand, binDir },
    );
    const file = join(scratch, `sudoers-${restartCommand.join('-')}`);
    writeFileSync(file, `root ALL=(ALL:ALL) SETENV: ALL\n${text}`, { mode: 0o440 });
    return file;
  }

  beforeAll(async () => {
    binDir = join(scratch, 'bin');
    await execa('mkdir', ['-p', binDir]);
    // Stand-ins that would fail if run: sudo -l only needs them to exist where the rules say.
    for (const p of PROGRAMS) writeFileSync(join(binDir, p), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    sudoers = await render(DEFAULT_RESTART_COMMAND);
  });

  /** Whether sudo would let USER run argv as root (`sudo -l -U USER -- argv` exits 0 and names the program). */
  async function allowed(file: string, argv: readonly string[]): Promise<boolean> {
    // PATH is where sudo looks the program up, as the bot's login shell does on NixOS.
    const script = 'mount --bind "$1" /etc/sudoers && shift && PATH=$BIN exec "$@"';
    const out = await execa(
      tool('unshare'),
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'probe',
        file,
        tool('sudo'),
        '-l',
        '-U',
        USER,
        '--',
        ...argv,
      ],
      { reject: false, stdin: 'ignore', env: { BIN: binDir, LC_ALL: 'C' } },
    );
    if (out.exitCode === 0) {
      expect(out.stdout.trim().startsWith(join(binDir, argv[0]!)), out.stdout).toBe(true);
      return true;
    }
    // sudo -l says nothing and exits 1 for a command it would refuse; anything else is a broken probe.
    expect({ exitCode: out.exitCode, stderr: out.stderr }, out.message).toEqual({ exitCode: 1, stderr: '' });
    return false;
  }

  /** What runs after `sudo --non-interactive --`, which every builder puts first for a user that is not root. */
  function underSudo(argv: readonly string[]): readonly string[] {
    expect(argv.slice(0, 3)).toEqual(['sudo', '--non-interactive', '--']);
    return argv.slice(3);
  }

  // Every argv builder of src/core/activation.ts, called as the bot calls it for a non-root user on NixOS.
  // A builder added there must be added here: the test below fails until it is.
  const fromTheCode: Record<string, () => (readonly string[])[]> = {
    checkSystemCommand: () => [],
    setProfileCommand: () => [activation.setProfileCommand(target, P)],
    rollbackProfileCommand: () => [activation.rollbackProfileCommand(target)],
    switchCommand: () => [
      ...(['switch', 'boot', 'test', 'dry-activate'] as const).map((a) =>
        activation.switchCommand(target, P, a),
      ),
      activation.switchCommand(target, activation.SYSTEM_PROFILE),
    ],
    keepStagedCommand: () => [activation.keepStagedCommand(target, P)],
    dropStagedCommand: () => [activation.dropStagedCommand(target)],
    restartCommand: () => [activation.restartCommand(target, DEFAULT_RESTART_COMMAND)],
  };

  it('covers every command builder in src/core/activation.ts', () => {
    const builders = Object.entries(activation)
      .filter(([, v]) => typeof v === 'function')
      .map(([name]) => name)
      .sort();
    expect(builders).toEqual(Object.keys(fromTheCode).sort());
  });

  it('is valid sudoers syntax (visudo -c)', async () => {
    const out = await execa(tool('visudo'), ['-c', '-f', sudoers], { reject: false, stdin: 'ignore' });
    expect(out.exitCode, out.stderr + out.stdout).toBe(0);
  });

  it("allows every command the bot's code runs under sudo", async () => {
    expect(activation.checkSystemCommand(P)[0], 'the system check runs without sudo').toBe('test');
    const refused: string[] = [];
    for (const [name, build] of Object.entries(fromTheCode)) {
      for (const argv of build()) {
        if (!(await allowed(sudoers, underSudo(argv)))) refused.push(`${name}: ${argv.join(' ')}`);
      }
    }
    expect(refused).toEqual([]);
  });

  // The confirm-or-revert sequence's commands (src/core/activation-sequence.ts): their shape, with fixed
  // scripts that span lines and carry quotes, `$` and `=` as the real ones do; and, where that file is in the
  // tree, what its builders really return. Every `*Command` it exports must be in the table.
  const SCRIPT = 'd=/run/signage-activation\nmkdir -p "$d" || exit 1\nprintf "%s\\n" "$2" > "$d/armed"';
  const shapes: (readonly string[])[] = [
    ['sh', '-c', SCRIPT, 'signage-arm', '300', PREV, P, SCRIPT],
    ['sh', '-c', SCRIPT, 'signage-arm', '300', '', P, SCRIPT],
    [
      'systemd-run',
      '--unit=signage-confirm',
      '--collect',
      '--no-ask-password',
      '--pipe',
      '--wait',
      '--quiet',
      '--service-type=exec',
      'sh',
      '-c',
      SCRIPT,
      'signage-confirm',
      P,
      '42',
    ],
    [
      'systemd-run',
      '--unit=signage-revert-now',
      '--collect',
      '--no-ask-password',
      '--pipe',
      '--wait',
      '--quiet',
      '--service-type=exec',
      'sh',
      '-c',
      SCRIPT,
      'signage-revert',
      PREV,
      'force',
    ],
    ['systemctl', 'stop', 'signage-revert.timer'],
  ];
  type Build = (...args: unknown[]) => readonly string[];
  const sequenceCalls: Record<string, (f: Build) => (readonly string[])[]> = {
    armCommand: (f) => [f(target, 300, PREV, P), f(target, 300, null, P)],
    activateCommand: (f) => [f(target, P)],
    confirmCommand: (f) => [f(target, P), f(target, P, 42)],
    revertCommand: (f) => [f(target, PREV), f(target, PREV, true)],
    disarmCommand: (f) => [f(target)],
    // The boot path: staging behind the guard, releasing it, its revert at once, the reboot.
    stageCommand: (f) => [f(target, PREV, P, 300), f(target, null, P, 300)],
    releaseCommand: (f) => [f(target, P)],
    unstageCommand: (f) => [f(target)],
    rebootCommand: (f) => [f(target, '0mc1x2k9qabcde')],
    // Read what the host recorded; run as the bot's user.
    rebootTokenCommand: (f) => {
      expect(f()[0]).not.toBe('sudo');
      return [];
    },
    pendingBootCommand: (f) => {
      expect(f()[0]).not.toBe('sudo');
      return [];
    },
    // Reads what the host recorded; runs as the bot's user.
    outcomeCommand: (f) => {
      expect(f()[0]).not.toBe('sudo');
      return [];
    },
  };
  const SEQUENCE = join(ROOT, 'src', 'core', 'activation-sequence.ts');

  it("allows the confirm-or-revert sequence's commands: arm, activate, confirm, revert at once, disarm", async () => {
    const argvs = [...shapes];
    if (existsSync(SEQUENCE)) {
      const sequence = (await import(SEQUENCE)) as Record<string, unknown>;
      const builders = Object.keys(sequence).filter(
        (name) => name.endsWith('Command') && typeof sequence[name] === 'function',
      );
      expect(builders.sort()).toEqual(Object.keys(sequenceCalls).sort());
      for (const [name, call] of Object.entries(sequenceCalls))
        argvs.push(...call(sequence[name] as Build).map(underSudo));
    }
    const refused: string[] = [];
    for (const argv of argvs) if (!(await allowed(sudoers, argv))) refused.push(argv.join(' '));
    expect(refused).toEqual([]);
  });

  it("allows the uplink stream's importer as the bot runs it, and nothing else under its name", async () => {
    const argv = underSudo(uplinkImportCommand(target, 536_870_912, 1_234_567_890));
    expect(await allowed(sudoers, argv)).toBe(true);
    // With deltas: the zstd of the host's store that rebuilds them.
    const zstd = `${P.slice(0, P.lastIndexOf('/') + 1)}00000000000000000000000000000000-zstd-1.5.4/bin/zstd`;
    expect(await allowed(sudoers, underSudo(uplinkImportCommand(target, 1, 2, zstd)))).toBe(true);
    const script = argv[2]!;
    for (const wrong of [
      ['sh', '-c', script, 'signage-import', '1', '2', '3'],
      ['sh', '-c', script, 'signage-import', '1', '2'],
      ['sh', '-c', script, 'signage-import', '1', '2', '/usr/bin/zstd'],
      ['sh', '-c', script, 'signage-import', '1', '2', `${zstd} --rm`],
      ['sh', '-c', script, 'signage-import', '1', '2', `${zstd.slice(0, -4)}sh`],
      ['sh', '-c', script, 'signage-import', '-1', '2'],
      ['sh', '-c', script, 'signage-import', '1'],
      ['sh', '-c', script, 'signage-import', '1', '2;reboot'],
    ]) {
      expect(await allowed(sudoers, wrong), wrong.slice(3).join(' ')).toBe(false);
    }
  });

  it('refuses what the bot does not run: other paths, other units, extra arguments', async () => {
    const refused = [
      ['nix-env', '-p', activation.SYSTEM_PROFILE, '--set', '/tmp/evil'],
      ['nix-env', '-p', activation.SYSTEM_PROFILE, '--set', P, '--delete-generations', 'old'],
      ['nix-env', '-p', '/nix/var/nix/profiles/per-user/root/profile', '--set', P],
      ['nix-env', '-i', OTHER],
      ['nix-env', '-p', activation.SYSTEM_PROFILE, '--rollback', '--dry-run'],
      [...activation.switchCommand({ sudo: false, systemd: true }, P).slice(0, -1), 'unknown-action'],
      [
        'systemd-run',
        ...activation
          .switchCommand({ sudo: false, systemd: true }, P)
          .slice(1)
          .map((a) => (a === `--unit=${activation.SWITCH_UNIT}` ? '--unit=other' : a)),
      ],
      ['systemd-run', '--unit=nixos-rebuild-switch-to-configuration', '/bin/sh', '-c', 'id'],
      ['systemd-run', '--unit=signage-revert-2', '/bin/sh'],
      ['systemd-run', '--unit=signage-revert'],
      ['systemd-run', '--unit=signage-confirm', '/bin/sh', '-c', 'id'],
      [
        'systemd-run',
        '--unit=signage-revert-now',
        '--collect',
        'sh',
        '-c',
        'id',
        'signage-revert',
        '/tmp/evil',
      ],
      ['sh', '-c', 'id'],
      ['sh', '-c', 'id', 'signage-arm', '300', '/tmp/evil', P, 'x'],
      ['sh', '-c', 'id', 'signage-reboot', 'x; rm -rf /'],
      ['sh', '-c', 'id', 'signage-reboot'],
      [
        'systemd-run',
        '--unit=signage-stage',
        '--collect',
        '--no-ask-password',
        '--pipe',
        '--wait',
        '--quiet',
        '--service-type=exec',
        'sh',
        '-c',
        'id',
        'signage-stage',
        PREV,
        '/tmp/evil',
        '300',
      ],
      [
        'systemd-run',
        '--unit=signage-boot-guard-now',
        '--collect',
        '--no-ask-password',
        '--pipe',
        '--wait',
        '--quiet',
        '--service-type=exec',
        'sh',
        '-c',
        'id',
        'signage-boot-guard-now',
        'later',
      ],
      ['systemd-run', '--unit=signage-release', '/bin/sh', '-c', 'id'],
      ['systemctl', 'reboot'],
      ['sh', '-i'],
      ['systemctl', 'stop', 'sshd.service'],
      ['systemctl', 'stop', 'signage-revert.timer', 'sshd.service'],
      ['systemctl', 'stop', 'signage-revertXtimer'],
      ['systemctl', 'restart', 'sshd.service'],
      ['systemctl', 'restart', 'display-manager.service', 'sshd.service'],
      ['nix-store', '--realise', P, '--add-root', '/etc/passwd'],
      ['nix-store', '--delete', P],
      ['rm', '-f', '/etc/passwd'],
      ['rm', '-rf', '/nix/var/nix/gcroots/signage-bot-staged', '/'],
      ['reboot'],
    ];
    const allowedWrongly: string[] = [];
    for (const argv of refused) if (await allowed(sudoers, argv)) allowedWrongly.push(argv.join(' '));
    expect(allowedWrongly).toEqual([]);
  });

  it('allows a restart command without arguments exactly, not with arguments added', async () => {
    const file = await render(['reboot']);
    expect(await allowed(file, ['reboot'])).toBe(true);
    expect(await allowed(file, ['reboot', '--force'])).toBe(false);
  });

  it('renders the rules with the programs of the running NixOS system, as the module passes them', async () => {
    const rules = await nixEval<
      { users: string[]; runAs: string; commands: { command: string; options: string[] }[] }[]
    >(
      'host.sudoRules { user = "signage"; restartCommand = [ "systemctl" "restart" "display-manager.service" ]; }',
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]!.users).toEqual(['signage']);
    expect(rules[0]!.runAs).toBe('root');
    for (const c of rules[0]!.commands) {
      expect(c.options).toEqual(['NOPASSWD']);
      expect(c.command).toMatch(/^\/run\/current-system\/sw\/bin\/[a-z-]+ /);
    }
    expect(rules[0]!.commands.map((c) => c.command)).toContain(
      '/run/current-system/sw/bin/systemctl restart display-manager.service',
    );
  });
});

// The Match block nixos/modules/services/misc/nix-ssh-serve.nix writes, for the forced command's context;
// the module adds its own block after it and turns agent forwarding off for everyone.
const SSH_SERVE_BLOCK = [
  'Match User nix-ssh',
  '  AllowAgentForwarding no',
  '  AllowTcpForwarding no',
  '  PermitTTY no',
  '  PermitTunnel no',
  '  X11Forwarding no',
  '  ForceCommand /nix/store/0000000000000000000000000000000-nix/bin/nix-store --serve ',
  'Match All',
].join('\n');

describe("the nix-ssh account's sshd settings, read back with sshd -T", () => {
  let config: string;

  beforeAll(async () => {
    const key = join(scratch, 'ssh_host_ed25519_key');
    await execa(tool('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdin: 'ignore' });
    const block = await nixEval<string>('host.nixSshMatchBlock');
    config = join(scratch, 'sshd_config');
    // services.openssh.settings come first, extraConfig (the Match blocks) last, as NixOS writes sshd_config.
    writeFileSync(
      config,
      [`HostKey ${key}`, 'AllowAgentForwarding no', 'PasswordAuthentication no', SSH_SERVE_BLOCK, block].join(
        '\n',
      ),
    );
  });

  async function effective(user: string): Promise<Map<string, string>> {
    // sshd wants its privilege separation directory, which only a running sshd needs: a private /run.
    const out = await execa(
      tool('unshare'),
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs signage-test /run && mkdir /run/sshd && exec "$@"',
        'sshd-check',
        tool('sshd'),
        '-T',
        '-f',
        config,
        '-C',
        `user=${user},host=peer.lan,addr=10.0.4.22,laddr=10.0.4.21,lport=22`,
      ],
      { reject: false, stdin: 'ignore' },
    );
    expect(out.exitCode, out.stderr).toBe(0);
    const settings = new Map<string, string>();
    for (const line of out.stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) settings.set(line.slice(0, space), line.slice(space + 1));
    }
    return settings;
  }

  it('gives nix-ssh no forwarding of any kind (Unix sockets too), no TTY, no rc, only the store protocol', async () => {
    const s = await effective('nix-ssh');
    expect(s.get('disableforwarding')).toBe('yes');
    expect(s.get('allowagentforwarding')).toBe('no');
    expect(s.get('allowtcpforwarding')).toBe('no');
    expect(s.get('permittty')).toBe('no');
    expect(s.get('permituserrc')).toBe('no');
    expect(s.get('forcecommand')).toMatch(/\/bin\/nix-store --serve\s*$/);
  });

  it('forwards no agent to anyone else either, and leaves other accounts otherwise alone', async () => {
    const s = await effective('root');
    expect(s.get('allowagentforwarding')).toBe('no');
    expect(s.get('disableforwarding')).toBe('no');
    expect(s.get('forcecommand')).toBe('none');
  });

  it('authorises peer keys with restrict', async () => {
    expect(await nixEval<string>('host.peerAuthorizedKey "ssh-ed25519 AAAA peer"')).toBe(
      'restrict ssh-ed25519 AAAA peer',
    );
  });
});

describe('Unix-socket forwarding through the nix-ssh account, tried against a real sshd', () => {
  // A peer's key must not reach the host's sockets (the nix-daemon's above all) nor leave a socket of its
  // own on the host. Each case runs an sshd on loopback in its own network, mount and PID namespaces, for
  // `nobody` standing in for nix-ssh (the user must exist), and tries a local (-L) and a remote (-R)
  // Unix-socket forward with a plain ssh client, host key checked strictly.
  const PROBE = [
    'set -u',
    'd=$1',
    'mount -t tmpfs signage-test /run && mkdir /run/sshd && ip link set lo up || exit 90',
    '"$SSHD" -D -e -f "$2" 2>"$d/sshd.log" & sshd=$!',
    '"$NODE" -e "require(\'net\').createServer(s => s.end(\'reached\')).listen(process.argv[1])" "$d/host.sock" & server=$!',
    'i=0; while [ ! -S "$d/host.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'chmod 777 "$d/host.sock"',
    'i=0; while ! ssh-keyscan -T 1 127.0.0.1 >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'ssh() { command ssh -i "$d/client" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/known_hosts" -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -N "$@" nobody@127.0.0.1; }',
    'ssh -L "$d/local.sock:$d/host.sock" 2>"$d/local.log" & local=$!',
    'i=0; while [ ! -S "$d/local.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    "got=$(\"$NODE\" -e \"const s = require('net').connect(process.argv[1]); s.on('data', (b) => process.stdout.write(b)); s.on('error', () => {}); s.on('close', () => process.exit(0)); setTimeout(() => process.exit(0), 10000)\" \"$d/local.sock\")",
    'if [ -n "$got" ]; then echo "local: $got"; else echo "local: refused"; fi',
    'ssh -o ExitOnForwardFailure=yes -R "$d/open/peer.sock:$d/elsewhere.sock" 2>"$d/remote.log" & remote=$!',
    'i=0; while [ ! -S "$d/open/peer.sock" ] && kill -0 $remote 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'if [ -S "$d/open/peer.sock" ]; then echo "remote: created"; else echo "remote: refused"; fi',
    'kill $local $remote $server $sshd 2>/dev/null',
    'wait',
  ].join('\n');

  let dir: string;
  let clientKey: string;
  let moduleBlock: string;
  let n = 0;

  beforeAll(async () => {
    // sshd drops to `nobody` to reach the sockets, which must see the way there.
    dir = join(scratch, 'forwarding');
    await execa('mkdir', ['-p', join(dir, 'keys')]);
    await execa('chmod', ['755', scratch, dir, join(dir, 'keys')]);
    const keygen = (file: string) =>
      execa(tool('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-C', 'probe', '-f', join(dir, file)], {
        stdin: 'ignore',
      });
    await keygen('ssh_host_ed25519_key');
    await keygen('client');
    const hostKey = readFileSync(join(dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
    writeFileSync(join(dir, 'known_hosts'), `127.0.0.1 ${hostKey[0]} ${hostKey[1]}\n`);
    clientKey = readFileSync(join(dir, 'client.pub'), 'utf8').trim();
    moduleBlock = await nixEval<string>('host.nixSshMatchBlock');
  });

  async function attempt(matchBlocks: string, authorizedKey: string): Promise<string[]> {
    n += 1;
    const config = join(dir, `sshd_config.${n}`);
    writeFileSync(
      config,
      [
        `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
        'ListenAddress 127.0.0.1',
        `AuthorizedKeysFile ${join(dir, 'keys', '%u')}`,
        'UsePAM no',
        'PasswordAuthentication no',
        // The scratch directory is under /tmp, which StrictModes refuses for authorized_keys; where the
        // keys file lives is not what is tried here.
        'StrictModes no',
        matchBlocks
          .replaceAll('Match User nix-ssh', 'Match User nobody')
          .replace(/ForceCommand .*/, 'ForceCommand /bin/false'),
      ].join('\n'),
    );
    writeFileSync(join(dir, 'keys', 'nobody'), `${authorizedKey}\n`, { mode: 0o644 });
    await execa('rm', ['-rf', join(dir, 'open'), join(dir, 'local.sock'), join(dir, 'host.sock')]);
    await execa('mkdir', ['-m', '777', join(dir, 'open')]);
    const out = await execa(
      tool('unshare'),
      ['--net', '--mount', '--pid', '--fork', '--kill-child', 'sh', '-c', PROBE, 'probe', dir, config],
      {
        reject: false,
        stdin: 'ignore',
        timeout: 90_000,
        env: { NODE: process.execPath, SSHD: tool('sshd') },
      },
    );
    expect(out.exitCode, `${out.stderr}\n${readFileSync(join(dir, 'sshd.log'), 'utf8')}`).toBe(0);
    return out.stdout.split('\n').filter((l) => l !== '');
  }

  it('would show a forward that gets through (an account without restrictions)', async () => {
    expect(await attempt('', clientKey)).toEqual(['local: reached', 'remote: created']);
  });

  it('refuses both for the nix-ssh account as the module leaves it (NixOS block, module block, restrict)', async () => {
    expect(await attempt(`${SSH_SERVE_BLOCK}\n${moduleBlock}`, `restrict ${clientKey}`)).toEqual([
      'local: refused',
      'remote: refused',
    ]);
  });

  it("refuses both with each of the module's two measures alone, so neither depends on NixOS's block", async () => {
    expect(await attempt(moduleBlock, clientKey)).toEqual(['local: refused', 'remote: refused']);
    expect(await attempt('', `restrict ${clientKey}`)).toEqual(['local: refused', 'remote: refused']);
  });
});

describe("the checks behind the module's assertions, with real keys", () => {
  async function sshKey(type: string, bits?: string): Promise<string> {
    const file = join(scratch, `key-${type}-${Math.random().toString(36).slice(2)}`);
    await execa(
      tool('ssh-keygen'),
      ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', 'x', '-f', file],
      {
        stdin: 'ignore',
      },
    );
    return readFileSync(`${file}.pub`, 'utf8').trim();
  }

  it('accepts a key from nix-store --generate-binary-cache-key and refuses anything else', async () => {
    const secret = join(scratch, 'builder.secret');
    const pub = join(scratch, 'builder.public');
    await execa(tool('nix-store'), ['--generate-binary-cache-key', 'signage-builder-1', secret, pub], {
      stdin: 'ignore',
    });
    const key = readFileSync(pub, 'utf8').trim();
    const got = await nixEval<(string | null)[]>('map (host.builderKeyProblem "opt") input', [
      key,
      key.replace(/=$/, ''),
      `${key} extra`,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5',
      readFileSync(secret, 'utf8').trim(),
    ]);
    expect(got[0]).toBeNull();
    for (const problem of got.slice(1)) expect(problem).toMatch(/^opt: .* is not a Nix public signing key/);
  });

  it('takes only ed25519 host keys as peer keys, and any usual key type for the bot', async () => {
    const ed25519 = await sshKey('ed25519');
    const rsa = await sshKey('rsa', '2048');
    const ecdsa = await sshKey('ecdsa');
    const got = await nixEval<Record<string, string | null>>(
      `{
        peer = host.peerKeyProblem "peers" input.ed25519;
        peerRsa = host.peerKeyProblem "peers" input.rsa;
        peerWithOptions = host.peerKeyProblem "peers" ("restrict " + input.ed25519);
        peerBare = host.peerKeyProblem "peers" "ssh-ed25519";
        bot = host.botKeyProblem "bot" input.ecdsa;
        botRsa = host.botKeyProblem "bot" input.rsa;
        botGarbage = host.botKeyProblem "bot" "not a key at all";
      }`,
      { ed25519, rsa, ecdsa },
    );
    expect(got.peer).toBeNull();
    expect(got.peerRsa).toMatch(/^peers: .* is of type ssh-rsa; expected ssh-ed25519\. Peers authenticate/);
    expect(got.peerWithOptions).toMatch(/is not an SSH public key/);
    expect(got.peerBare).toMatch(/is not an SSH public key/);
    expect(got.bot).toBeNull();
    expect(got.botRsa).toBeNull();
    expect(got.botGarbage).toMatch(/is not an SSH public key/);
  });

  it('refuses restart commands a sudo rule cannot match exactly', async () => {
    const got = await nixEval<(string | null)[]>('map (host.restartCommandProblem "opt") input', [
      ['systemctl', 'restart', 'display-manager.service'],
      ['systemctl', 'restart', 'cage-tty1.service'],
      [],
      ['systemctl', 'restart', 'kiosk*'],
      ['sh', '-c', 'systemctl restart x'],
      ['systemctl', 'restart', 'a=b'],
    ]);
    expect(got.slice(0, 2)).toEqual([null, null]);
    expect(got[2]).toBe('opt is empty');
    expect(got[3]).toContain('"kiosk*" cannot be matched exactly');
    expect(got[4]).toContain('"systemctl restart x" cannot be matched exactly');
    expect(got[5]).toContain('"a=b" cannot be matched exactly');
  });
});

describe('the module on its own, evaluated with a stand-in for the NixOS module system (test/support/nixos-module-stub.nix)', () => {
  const BUILDER = 'signage-builder-1:70LfcL9ngpxazxkpKPZRvZR+8KGwd+yXN0WIn/n7Pd0=';
  const PEER =
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlH0TLj9vX3r8bq8m1tE2cXbN5Yw7Qe4sPjUuV0dK1a baard-kitchen';
  const BOT = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq9dZkq1m7YwT0c3sE2bN5Yw7Qe4sPjUuV0dK1aGlH0 signage-bot';
  const good = { enable: true, builderKeys: [BUILDER], peerKeys: [PEER], bot: { keys: [BOT] } };
  const kiosk = { systemd: { services: { 'display-manager': {} } } };

  /** What the module defines, mkDefault kept as { _default: VALUE }. */
  interface Definitions {
    nix: { settings: Record<string, unknown>; sshServe: Record<string, unknown> };
    services: { openssh: { settings: Record<string, unknown>; extraConfig: string } };
    users: { users: Record<string, unknown>; groups?: Record<string, unknown> };
    security?: { sudo?: { extraRules?: unknown } };
    systemd?: { services?: Record<string, unknown> };
  }
  interface Evaluated {
    options: { path: string; type: string; description: string | null; hasDefault: boolean }[];
    definitions: Definitions;
    failedAssertions: string[];
  }

  async function evaluate(settings: unknown, system: unknown = kiosk): Promise<Evaluated> {
    return nixEval<Evaluated>(
      `let
        r = import (root + "/test/support/nixos-module-stub.nix") {
          module = import (root + "/nix/host-module.nix");
          inherit (input) settings system;
        };
      in { inherit (r) options failedAssertions; definitions = removeAttrs r.definitions [ "assertions" ]; }`,
      { settings, system },
    );
  }

  it('declares every option with a type and a description', async () => {
    const { options } = await evaluate({});
    expect(options.map((o) => o.path).sort()).toEqual(
      [
        'enable',
        'builderKeys',
        'peerKeys',
        'bot.keys',
        'bot.user',
        'bot.createUser',
        'restartCommand',
        'kioskUnit',
        'healthCheckPackages',
      ]
        .map((p) => `services.signage-host.${p}`)
        .sort(),
    );
    for (const o of options) {
      expect(o.description, o.path).toMatch(/\w{3,}/);
      expect(o.hasDefault, o.path).toBe(true);
    }
  });

  it('has every option in the table of docs/nixos.md', async () => {
    const { options } = await evaluate({});
    const docs = readFileSync(join(ROOT, 'docs', 'nixos.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## The signage hosts'), docs.indexOf('## A complete fleet'));
    const missing = options
      .map((o) => o.path.replace('services.signage-host.', ''))
      .filter((name) => !section.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });

  it("defaults to the bot's own defaults: root, and the bot's restart command", async () => {
    const got = await nixEval<{ user: string; restartCommand: string[] }>(
      `let
        r = import (root + "/test/support/nixos-module-stub.nix") {
          module = import (root + "/nix/host-module.nix");
          settings = { };
        };
      in { inherit (r.config.services.signage-host) restartCommand; user = r.config.services.signage-host.bot.user; }`,
    );
    expect(got).toEqual({ user: 'root', restartCommand: [...DEFAULT_RESTART_COMMAND] });
  });

  it('does nothing unless enabled', async () => {
    const { definitions, failedAssertions } = await evaluate({ ...good, enable: false });
    expect(definitions).toEqual({});
    expect(failedAssertions).toEqual([]);
  });

  it('with the bot as root: serves the store read-only to the peers, trusts the builder, authorises the bot, no agent forwarding', async () => {
    const { definitions: d, failedAssertions } = await evaluate(good);
    expect(failedAssertions).toEqual([]);
    expect(d.nix.settings['trusted-public-keys']).toEqual([BUILDER]);
    expect(d.nix.sshServe).toEqual({ enable: true, protocol: 'ssh', keys: [`restrict ${PEER}`] });
    expect(d.nix.sshServe.write, 'write is left at its default (off) and asserted').toBeUndefined();
    expect(d.services.openssh.settings.AllowAgentForwarding).toBe(false);
    expect(d.services.openssh.settings.PasswordAuthentication).toEqual({ _default: false });
    expect(d.services.openssh.extraConfig).toBe(await nixEval<string>('host.nixSshMatchBlock'));
    expect(d.users.users).toEqual({ root: { openssh: { authorizedKeys: { keys: [`restrict ${BOT}`] } } } });
    expect(d.users.groups).toBeUndefined();
    expect(d.security?.sudo?.extraRules).toBeUndefined();
    // The boot guard runs at every boot, once, the same script the bot's own revert runs.
    const guard = d.systemd?.services?.['signage-boot-guard'] as
      | { wantedBy: string[]; restartIfChanged: boolean; serviceConfig: Record<string, unknown> }
      | undefined;
    expect(guard?.wantedBy).toEqual(['multi-user.target']);
    expect(guard?.restartIfChanged).toBe(false);
    expect(guard?.serviceConfig.RemainAfterExit).toBe(true);
    const exec = String(guard?.serviceConfig.ExecStart).split(' ');
    expect(exec[0]).toBe('/bin/sh');
    // nix/lib/boot-guard.sh, whose text test/unit/boot-path.test.ts checks against the bot's BOOT_GUARD_SCRIPT.
    expect(exec[1]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-boot-guard\.sh$/);
  });

  it('with another user: creates it and gives it exactly the rules the sudo test above checked', async () => {
    const { definitions: d, failedAssertions } = await evaluate(
      {
        ...good,
        bot: { keys: [BOT], user: 'signage' },
        kioskUnit: 'cage-tty1.service',
      },
      { systemd: { services: { 'cage-tty1': {} } } },
    );
    expect(failedAssertions).toEqual([]);
    expect(d.users.users.signage).toMatchObject({
      isSystemUser: true,
      group: 'signage',
      useDefaultShell: true,
      openssh: { authorizedKeys: { keys: [`restrict ${BOT}`] } },
    });
    expect(d.users.users.root).toBeUndefined();
    expect(d.users.groups).toEqual({ signage: {} });
    const expected = await nixEval<unknown>(
      'host.sudoRules { user = "signage"; restartCommand = [ "systemctl" "restart" "cage-tty1.service" ]; }',
    );
    expect(d.security?.sudo?.extraRules).toEqual(expected);
  });

  // Each misconfiguration, and words its assertion must contain.
  const refused: { name: string; settings: unknown; system?: unknown; says: string }[] = [
    {
      name: 'no builder key',
      settings: { ...good, builderKeys: [] },
      says: 'services.signage-host.builderKeys is empty',
    },
    {
      name: 'a secret key as builder key',
      settings: { ...good, builderKeys: ['signage-builder-1:c2VjcmV0'] },
      says: 'is not a Nix public signing key',
    },
    {
      name: 'no bot key',
      settings: { ...good, bot: { keys: [] } },
      says: 'services.signage-host.bot.keys is empty',
    },
    {
      name: 'an RSA peer key',
      settings: { ...good, peerKeys: ['ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ peer'] },
      says: 'is of type ssh-rsa; expected ssh-ed25519',
    },
    {
      name: 'Nix turned off',
      settings: good,
      system: { ...kiosk, nix: { enable: false } },
      says: 'nix.enable is off',
    },
    {
      name: 'signatures not required',
      settings: good,
      system: { ...kiosk, nix: { settings: { 'require-sigs': false } } },
      says: 'nix.settings.require-sigs is off',
    },
    {
      name: 'no ed25519 host key',
      settings: good,
      system: {
        ...kiosk,
        services: { openssh: { hostKeys: [{ type: 'rsa', bits: 4096, path: '/etc/ssh/ssh_host_rsa_key' }] } },
      },
      says: 'services.openssh.hostKeys has no ed25519 key at /etc/ssh/ssh_host_ed25519_key',
    },
    {
      name: 'writable serving',
      settings: good,
      system: { ...kiosk, nix: { sshServe: { write: true } } },
      says: 'nix.sshServe.write is on',
    },
    {
      name: 'nix-ssh trusted',
      settings: good,
      system: { ...kiosk, nix: { settings: { 'trusted-users': ['root', 'nix-ssh'] } } },
      says: 'nix-ssh is a trusted Nix user',
    },
    {
      name: 'nix-ssh not allowed by the daemon',
      settings: good,
      system: { ...kiosk, nix: { settings: { 'allowed-users': ['@wheel'] } } },
      says: 'does not let nix-ssh use the Nix daemon',
    },
    {
      name: 'the bot user not allowed by the daemon',
      settings: { ...good, bot: { keys: [BOT], user: 'signage' } },
      system: { ...kiosk, nix: { settings: { 'allowed-users': ['@wheel', 'nix-ssh'] } } },
      says: 'does not let services.signage-host.bot.user "signage" use the Nix daemon',
    },
    {
      name: 'root login refused while the bot is root',
      settings: good,
      system: { ...kiosk, services: { openssh: { settings: { PermitRootLogin: 'no' } } } },
      says: 'PermitRootLogin is "no" but services.signage-host.bot.user is root',
    },
    {
      name: 'no sudo for a user that is not root',
      settings: { ...good, bot: { keys: [BOT], user: 'signage' } },
      system: { ...kiosk, security: { sudo: { enable: false } } },
      says: 'is not root, so the bot needs sudo',
    },
    {
      name: 'sudo for wheel only',
      settings: { ...good, bot: { keys: [BOT], user: 'signage' } },
      system: { ...kiosk, security: { sudo: { execWheelOnly: true } } },
      says: 'security.sudo.execWheelOnly is on and services.signage-host.bot.user "signage" is not in wheel',
    },
    {
      name: 'a restart command sudo cannot match',
      settings: {
        ...good,
        bot: { keys: [BOT], user: 'signage' },
        restartCommand: ['systemctl', 'restart', 'kiosk*'],
      },
      says: 'services.signage-host.restartCommand: "kiosk*" cannot be matched exactly',
    },
    {
      name: 'a kiosk unit the system does not have',
      settings: good,
      system: {},
      says: 'services.signage-host.kioskUnit is display-manager.service, which this system does not define',
    },
  ];

  it('refuses each misconfiguration with an assertion naming the option', async () => {
    const wrong: string[] = [];
    for (const c of refused) {
      const { failedAssertions } = await evaluate(c.settings, c.system ?? kiosk);
      if (!failedAssertions.some((m) => m.includes(c.says)))
        wrong.push(`${c.name}: expected "${c.says}", got ${JSON.stringify(failedAssertions)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses a value of the wrong type for its own options', async () => {
    await expect(evaluate({ ...good, peerKeys: PEER })).rejects.toThrow(
      /services\.signage-host\.peerKeys: .* is not a listOf str/,
    );
  });
});
