// The composition root: the one place that builds the real adapters from the configuration and hands them
// to the engine. Front ends (terminal, Slack, schedule) get an engine and nothing else.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { flakeDirProblem, flakeEvalProblem } from '../adapters/config/flake-dir.ts';
import { resolveHosts } from '../adapters/config/hosts.ts';
import { loadConfig } from '../adapters/config/load.ts';
import type { Env } from '../adapters/config/parse.ts';
import { formatConfigError } from '../adapters/config/problems.ts';
import type { Config } from '../adapters/config/schema.ts';
import { nixBuilder, nixKnowledge } from '../adapters/nix/port.ts';
import { NixError } from '../adapters/nix/run.ts';
import { createSshHosts } from '../adapters/ssh/hosts.ts';
import { peerKnownHostsFrom } from '../adapters/ssh/peer-known-hosts.ts';
import { openStateStore } from '../adapters/state/open.ts';
import type { Actor } from '../core/events.ts';
import type { StateStore } from '../core/ports/state.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineLimits } from '../engine/deps.ts';
import { createEngine, type Engine } from '../engine/engine.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Composed {
  readonly engine: Engine;
  readonly config: Config;
  readonly hosts: readonly HostSpec[];
  readonly store: StateStore;
  /** What start-up found left over by a process that died mid-run, already cleaned up. */
  readonly recovered: { readonly interruptedRuns: number; readonly freedLocks: number };
  /** About the state itself, for a person to read (a database made anew after it was lost). */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export interface ComposeOptions {
  readonly env: Env;
  /** Whether a Slack user may approve restarts (user IDs, and user groups the Slack front end resolves). */
  readonly slackApprover?: (userId: string) => Promise<boolean>;
  readonly now?: () => Date;
}

/** A file the bot needs is checked at start, named by its field, rather than failing in the middle of a deploy. */
async function mustRead(file: string, field: string, what: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read by this user';
    throw new ConfigError(`${field}: ${file} ${why}; it should be ${what}`);
  }
}

export async function loadConfigOrThrow(file: string, env: Env): Promise<Config> {
  const loaded = await loadConfig(file, env);
  if (!loaded.ok) throw new ConfigError(formatConfigError(loaded.error));
  return loaded.value;
}

export async function compose(configFile: string, opts: ComposeOptions): Promise<Composed> {
  const config = await loadConfigOrThrow(configFile, opts.env);
  return composeFromConfig(config, configFile, opts);
}

export async function composeFromConfig(
  config: Config,
  configFile: string,
  opts: ComposeOptions,
): Promise<Composed> {
  const now = opts.now ?? (() => new Date());
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    await mustRead(
      config.ssh.knownHostsFile,
      'ssh.knownHostsFile',
      "the known_hosts file with every host's key",
    );
    await mustRead(config.builder.signingKeyFile, 'builder.signingKeyFile', "the builder's Nix signing key");
    if (config.ssh.identityFile)
      await mustRead(config.ssh.identityFile, 'ssh.identityFile', 'the SSH private key');
    if (config.builder.nixBinDir !== undefined) {
      await mustRead(
        `${config.builder.nixBinDir}/nix`,
        'builder.nixBinDir',
        'the folder holding the Nix the bot runs (nix, nix-store)',
      );
    }
    // The bot's key (a file, or an agent holding it) only ever signs the bot's own logins: nothing is forwarded
    // to a host, and hosts reach their peers with their own host keys.
    const { agentSocket, identityFile } = config.ssh;
    const credentials = agentSocket ? { agentSocket } : { identityFile };
    const builder = nixBuilder({
      flakeRef: config.flake,
      signingKeyFile: config.builder.signingKeyFile,
      ssh: { knownHostsFile: config.ssh.knownHostsFile, ...credentials },
      gcRootsDir: `${config.stateDir}/gcroots`,
      ...(config.builder.nixBinDir === undefined ? {} : { nixBinDir: config.builder.nixBinDir }),
      ...(config.refs.defaultBranch ? { defaultBranch: config.refs.defaultBranch } : {}),
      // No total time limit on copies: a first deploy over a slow uplink can take hours. SSH keepalives end a
      // copy whose host stopped answering.
    });
    const flakeProblem = await flakeDirProblem(config.flake);
    if (flakeProblem) throw new ConfigError(`${configFile}: flake: ${flakeProblem}`);
    let names: readonly string[];
    try {
      names = await builder.listConfigurations();
    } catch (e) {
      // Nix ran and refused the flake: the setting (or the flake it names) needs fixing, not the bot.
      if (!(e instanceof NixError) || e.timedOut || e.aborted || e.exitCode === null) throw e;
      throw new ConfigError(
        `${configFile}: flake: ${flakeEvalProblem(config.flake, e.shortMessage, e.stderrTail)}`,
      );
    }
    const resolved = resolveHosts(config, names, configFile);
    if (!resolved.ok) throw new ConfigError(formatConfigError(resolved.error));
    const hosts = resolved.value;

    const opened = openStateStore({ stateDir: config.stateDir, now: now() });
    if (!opened.ok) throw new ConfigError(`${opened.file}: ${opened.message}`);
    cleanups.push(() => opened.state.close());
    const remote = createSshHosts({
      knownHostsFile: config.ssh.knownHostsFile,
      ...credentials,
      connectTimeoutMs: config.ssh.connectTimeoutSeconds * 1000,
      commandTimeoutMs: config.ssh.commandTimeoutSeconds * 1000,
      // A screen that lost power under a pooled connection is noticed within about 6 s, not 15.
      keepaliveIntervalMs: 2000,
      keepaliveCountMax: 3,
    });
    cleanups.push(() => remote.closeAll());

    const approvers = new Set(config.slack?.approvers.users ?? []);
    const mayApprove = async (actor: Actor) => {
      switch (actor.kind) {
        // Whoever runs the terminal command on the bot's box already holds its keys and configuration.
        case 'cli':
          return true;
        case 'slack':
          return approvers.has(actor.userId) || ((await opts.slackApprover?.(actor.userId)) ?? false);
        case 'schedule':
          return false;
      }
    };
    const limits: EngineLimits = {
      parallelHosts: config.limits.parallelHosts,
      parallelPeerCopies: config.limits.parallelPeerCopies,
      approvalTimeoutMs: config.limits.approvalTimeoutMinutes * 60_000,
    };
    const engine = createEngine({
      hosts,
      builder,
      nix: nixKnowledge(),
      remote,
      store: opened.state.store,
      now,
      limits,
      uplink: {
        transport: config.uplink.transport,
        deltas: config.uplink.deltas,
        compressionLevel: config.uplink.compressionLevel,
        tempSpaceBytes: config.uplink.tempSpaceMiB * 1024 * 1024,
        deltaMaxBaseBytes: config.uplink.deltaMaxBaseMiB * 1024 * 1024,
      },
      peerKnownHosts: peerKnownHostsFrom(config.ssh.knownHostsFile),
      mayApprove,
      refRules: { nonDefault: config.refs.nonDefault, hostsTagged: config.refs.hostsTagged },
      policies: { sites: config.sites, tags: config.tags },
    });
    return {
      engine,
      config,
      hosts,
      store: opened.state.store,
      recovered: {
        interruptedRuns: opened.state.recovered.interruptedRuns.length,
        freedLocks: opened.state.recovered.freedLocks.length,
      },
      warnings: opened.state.warnings,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
