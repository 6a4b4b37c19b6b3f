// The bot's own configuration for a simulated office, and the engine composed from it exactly as the
// terminal command and the Slack bot compose theirs: real config file, real Nix, real SSH, real state.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nixBuilder, nixKnowledge } from '../../src/adapters/nix/port.ts';
import { createSshHosts } from '../../src/adapters/ssh/hosts.ts';
import { peerKnownHostsFrom } from '../../src/adapters/ssh/peer-known-hosts.ts';
import { openStateStore } from '../../src/adapters/state/open.ts';
import type { HostConnection, HostsPort } from '../../src/core/ports/hosts.ts';
import type { HostSpec } from '../../src/core/types.ts';
import type { EngineDeps, EngineLimits } from '../../src/engine/deps.ts';
import { type Composed, compose } from '../../src/main/compose.ts';
import type { Office } from '../office/index.ts';

export interface OfficeBotOptions {
  readonly site?: (host: string) => string;
  readonly tags?: (host: string) => string[];
  readonly slack?: Record<string, unknown>;
  readonly limits?: Record<string, unknown>;
  readonly activation?: Record<string, unknown>;
  /** Per host, its own `activation` settings. */
  readonly hostActivation?: (host: string) => Record<string, unknown> | undefined;
  readonly schedule?: Record<string, unknown>;
  /** The configuration's `health` section. */
  readonly health?: Record<string, unknown>;
  /** The `screenshot` section (the office's own command is test/office/screenshot.ts). */
  readonly screenshot?: Record<string, unknown>;
  /** Per host, its own screenshot command. */
  readonly hostScreenshot?: (host: string) => string[] | undefined;
  readonly stateDir?: string;
  /** The fleet flake to configure instead of the office's plain directory (a git repository's URL). */
  readonly flake?: string;
  readonly refs?: Record<string, unknown>;
  /** The engine's clock, for tests that move time on (question expiry). */
  readonly now?: () => Date;
  /** More top-level sections (`sites`, `tags`). */
  readonly sections?: Record<string, unknown>;
}

/** Writes a configuration file for the office and returns its path (in a state directory of its own). */
export function officeConfig(
  office: Office,
  opts: OfficeBotOptions = {},
): { file: string; stateDir: string; cleanup: () => void } {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'signage-bot-'));
  const config = {
    flake: opts.flake ?? office.fleet.flakeRef,
    stateDir,
    // The builder's Nix as the office chose it (2.24 where installed): the setting a user with a newer Nix sets.
    builder: {
      signingKeyFile: office.signingKeyFile,
      ...(office.builderNix.release === '2.8' ? {} : { nixBinDir: office.builderNix.binDir }),
    },
    ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket, connectTimeoutSeconds: 3 },
    hosts: Object.fromEntries(
      office.hosts.map((h) => [
        h.name,
        {
          address: h.address,
          site: opts.site?.(h.name) ?? 'baard',
          tags: opts.tags?.(h.name) ?? [],
          ...(opts.hostActivation?.(h.name) ? { activation: opts.hostActivation(h.name) } : {}),
          ...(opts.hostScreenshot?.(h.name) ? { screenshotCommand: opts.hostScreenshot(h.name) } : {}),
        },
      ]),
    ),
    ...(opts.limits ? { limits: opts.limits } : {}),
    // No second look after the checks unless a test asks for one: it would add its wait to every deploy.
    activation: { settleSeconds: 0, ...opts.activation },
    ...(opts.screenshot ? { screenshot: opts.screenshot } : {}),
    ...(opts.slack ? { slack: opts.slack } : {}),
    ...(opts.refs ? { refs: opts.refs } : {}),
    ...(opts.health ? { health: opts.health } : {}),
    schedule: opts.schedule ?? (opts.slack ? {} : { status: false }),
    ...opts.sections,
  };
  const file = join(stateDir, 'signage.yml');
  writeFileSync(file, stringify(config));
  return {
    file,
    stateDir,
    // Only ever the directory made above, a fresh one under the system's temporary directory.
    cleanup: () => {
      if (stateDir.startsWith(join(tmpdir(), 'signage-bot-')))
        rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export async function officeEngine(
  office: Office,
  opts: OfficeBotOptions = {},
): Promise<Composed & { file: string; stateDir: string; dispose: () => Promise<void> }> {
  const cfg = officeConfig(office, opts);
  const composed = await compose(cfg.file, { env: {}, ...(opts.now ? { now: opts.now } : {}) });
  return {
    ...composed,
    file: cfg.file,
    stateDir: cfg.stateDir,
    dispose: async () => {
      await composed.close();
      if (!opts.stateDir) cfg.cleanup();
    },
  };
}

export interface OfficeDepsOptions {
  /** The hosts the engine knows (see ssh-office.ts `hostSpec`). */
  readonly hosts: readonly HostSpec[];
  /** Where the state database and the builder's GC roots go. */
  readonly stateDir: string;
  /** Wraps every pooled connection: to count, or slow down, what the engine runs on a host. */
  readonly connection?: (conn: HostConnection, host: HostSpec) => HostConnection;
  readonly limits?: Partial<EngineLimits>;
}

/**
 * The engine's dependencies on this office, built from the real adapters as compose.ts builds them, for tests
 * that drive engine stages directly (a copy stage alone) with hosts of their own making. The builder runs the
 * Nix the office chose for it, as the configuration's `builder.nixBinDir` would say.
 */
export function officeEngineDeps(
  office: Office,
  opts: OfficeDepsOptions,
): EngineDeps & { close(): Promise<void> } {
  const real = createSshHosts({ knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket });
  const wrap = opts.connection;
  const remote: HostsPort = {
    connection: (host) => (wrap ? wrap(real.connection(host), host) : real.connection(host)),
    fresh: (host) => real.fresh(host),
    closeAll: () => real.closeAll(),
  };
  const opened = openStateStore({ stateDir: opts.stateDir, now: new Date() });
  if (!opened.ok) throw new Error(opened.message);
  return {
    hosts: opts.hosts,
    builder: nixBuilder({
      flakeRef: office.fleet.flakeRef,
      signingKeyFile: office.signingKeyFile,
      ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
      gcRootsDir: join(opts.stateDir, 'gcroots'),
      ...(office.builderNix.release === '2.8' ? {} : { nixBinDir: office.builderNix.binDir }),
    }),
    nix: nixKnowledge(),
    remote,
    store: opened.state.store,
    now: () => new Date(),
    limits: { parallelHosts: 3, parallelPeerCopies: 3, approvalTimeoutMs: 60_000, ...opts.limits },
    peerKnownHosts: peerKnownHostsFrom(office.knownHostsFile),
    mayApprove: async () => true,
    refRules: { nonDefault: 'deployers', hostsTagged: [] },
    async close() {
      await real.closeAll();
      opened.state.close();
    },
  };
}
