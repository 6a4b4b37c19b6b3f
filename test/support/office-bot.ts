// The bot's own configuration for a simulated office, and the engine composed from it exactly as the
// terminal command and the Slack bot compose theirs: real config file, real Nix, real SSH, real state.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
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
    schedule: opts.schedule ?? (opts.slack ? {} : { status: false }),
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
