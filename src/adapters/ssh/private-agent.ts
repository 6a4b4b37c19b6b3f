// Host-to-host copies need an agent to forward: when the configuration names only a key file, the bot runs
// its own ssh-agent, holding just that key, for as long as it runs, and ends it by pid.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface PrivateAgent {
  readonly socket: string;
  stop(): Promise<void>;
}

export async function startPrivateAgent(dir: string, identityFile: string): Promise<PrivateAgent> {
  const socket = join(dir, `agent-${process.pid}.sock`);
  await rm(socket, { force: true });
  // -D keeps it in the foreground, so the pid we were given is the agent's and ours to end.
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start ssh-agent (is OpenSSH installed?)');
  let lastError = '';
  for (let i = 0; i < 100; i++) {
    const added = await execa('ssh-add', ['-q', identityFile], {
      env: { SSH_AUTH_SOCK: socket },
      extendEnv: true,
      reject: false,
      stdin: 'ignore',
    });
    if (added.exitCode === 0) {
      return {
        socket,
        async stop() {
          child.kill('SIGTERM');
          await rm(socket, { force: true });
        },
      };
    }
    lastError = added.stderr;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`ssh-agent would not take ${identityFile}: ${lastError.trim() || 'it did not start'}`);
}
