// The office drives real system tools (ip, tc, nsenter, sshd, ssh-keygen, nix) with argument arrays only.
import { execa } from 'execa';
import { alive } from './proc.ts';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs argv; throws with the command and its stderr when it fails, unless `allowFailure`. */
export async function run(
  argv: readonly string[],
  opts: { input?: string; env?: Record<string, string>; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const result = await execa(file, args, {
    input: opts.input ?? '',
    env: opts.env,
    extendEnv: opts.env === undefined,
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
  });
  const out = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  if (!opts.allowFailure && out.exitCode !== 0) {
    throw new Error(`${argv.join(' ')} failed (${result.shortMessage}): ${out.stderr.trim().slice(-2000)}`);
  }
  return out;
}

/** Runs argv inside a network namespace. */
export function inNetns(netns: string, argv: readonly string[]): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', netns, ...argv]);
}

/** Ends a process we started, by pid: TERM, then KILL if it lingers. */
export async function endProcess(pid: number, graceMs = 3000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(25);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
