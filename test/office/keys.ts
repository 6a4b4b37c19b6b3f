// The builder's credentials for one office: a binary-cache signing key every host trusts, and an SSH key held
// by an ssh-agent on the builder (never forwarded: hosts reach each other with their own host keys).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { alive } from './proc.ts';
import { OFFICES_DIR } from './registry.ts';
import { run, sleep } from './run.ts';

export interface BuilderKeys {
  readonly signingKeyFile: string;
  readonly publicKey: string;
  readonly sshKeyFile: string;
  readonly sshPublicKey: string;
}

/**
 * The builder's binary-cache key: one for this machine, as a real builder has, kept beside the offices and
 * shared by all of them. A key per office would add a signature to every path of the builder's store with each
 * office, and every copy carries them all: the uplink would count signatures, not store paths.
 */
async function builderCacheKey(): Promise<{ signingKeyFile: string; publicKeyFile: string }> {
  const signingKeyFile = join(OFFICES_DIR, 'builder-cache-key.sec');
  const publicKeyFile = join(OFFICES_DIR, 'builder-cache-key.pub');
  if (existsSync(signingKeyFile) && existsSync(publicKeyFile)) return { signingKeyFile, publicKeyFile };
  // Made aside and renamed into place, so two offices starting at once both end up with the same whole key.
  await mkdir(OFFICES_DIR, { recursive: true });
  const staging = await mkdtemp(join(OFFICES_DIR, 'key-'));
  try {
    await run([
      'nix-store',
      '--generate-binary-cache-key',
      'signage-office-builder',
      join(staging, 'sec'),
      join(staging, 'pub'),
    ]);
    await rename(join(staging, 'pub'), publicKeyFile);
    await rename(join(staging, 'sec'), signingKeyFile);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { signingKeyFile, publicKeyFile };
}

export async function makeBuilderKeys(dir: string, officeId: string): Promise<BuilderKeys> {
  const { signingKeyFile, publicKeyFile } = await builderCacheKey();
  const sshKeyFile = join(dir, 'id_ed25519');
  await run([
    'ssh-keygen',
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    `signage-builder-${officeId}`,
    '-f',
    sshKeyFile,
  ]);
  return {
    signingKeyFile,
    publicKey: (await readFile(publicKeyFile, 'utf8')).trim(),
    sshKeyFile,
    sshPublicKey: (await readFile(`${sshKeyFile}.pub`, 'utf8')).trim(),
  };
}

export interface Agent {
  readonly pid: number;
  readonly socket: string;
}

/** Starts an ssh-agent in the foreground (-D) so its pid is ours to end, and loads the builder's key into it. */
export async function startAgent(dir: string, keyFile: string): Promise<Agent> {
  const socket = join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', detached: true });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('ssh-agent did not start');
  for (let i = 0; i < 200; i++) {
    const added = await run(['ssh-add', '-q', keyFile], {
      env: { SSH_AUTH_SOCK: socket, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      allowFailure: true,
    });
    if (added.exitCode === 0) return { pid, socket };
    if (!alive(pid)) break;
    await sleep(25);
  }
  throw new Error(`ssh-agent at ${socket} did not take the key`);
}
