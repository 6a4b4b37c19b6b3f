// The builder's credentials for one office: a binary-cache signing key every host trusts, and an SSH key held
// only by an ssh-agent, which the builder forwards so that hosts can reach each other without stored keys.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alive } from './proc.ts';
import { run, sleep } from './run.ts';

export interface BuilderKeys {
  readonly signingKeyFile: string;
  readonly publicKey: string;
  readonly sshKeyFile: string;
  readonly sshPublicKey: string;
}

export async function makeBuilderKeys(dir: string, officeId: string): Promise<BuilderKeys> {
  const signingKeyFile = join(dir, 'cache-key.sec');
  const publicKeyFile = join(dir, 'cache-key.pub');
  await run([
    'nix-store',
    '--generate-binary-cache-key',
    `signage-office-${officeId}`,
    signingKeyFile,
    publicKeyFile,
  ]);
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
