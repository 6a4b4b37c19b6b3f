// Runs the real `signage` terminal command as a child process, the way a user or a script would, and reads
// its `--json` account of a run.
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';

const BIN = join(import.meta.dirname, '..', 'bin', 'signage.ts');

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliOptions {
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export async function signage(
  configFile: string,
  args: readonly string[],
  opts: CliOptions = {},
): Promise<CliRun> {
  const started = performance.now();
  const child = execa(process.execPath, [BIN, '--config', configFile, ...args], {
    reject: false,
    stdin: 'ignore',
    timeout: opts.timeoutMs ?? 600_000,
    // SIGINT, as Ctrl-C would: the command then aborts its run and ends its own ssh and nix children.
    killSignal: 'SIGINT',
    forceKillAfterDelay: 15_000,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  if (opts.onStdout) child.stdout.on('data', (b: Buffer) => opts.onStdout?.(b.toString()));
  if (opts.onStderr) child.stderr.on('data', (b: Buffer) => opts.onStderr?.(b.toString()));
  const r = await child;
  return {
    exitCode: r.exitCode ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    ms: performance.now() - started,
  };
}

const hostOutcome = z.looseObject({
  host: z.string(),
  status: z.string(),
  error: z.string().optional(),
  toplevel: z.string().optional(),
  copy: z
    .looseObject({ lanBytes: z.number(), uplinkBytes: z.number(), fellBack: z.array(z.string()).optional() })
    .optional(),
});

const runJson = z.looseObject({
  runId: z.string(),
  verb: z.string(),
  status: z.string(),
  hosts: z.array(hostOutcome),
  canaries: z.array(z.string()),
  lanBytes: z.number().int().nonnegative(),
  uplinkBytes: z.number().int().nonnegative(),
});

export type RunJson = z.infer<typeof runJson>;

/** The run as `signage --json` printed it; throws with the start of the output when it is not one. */
export function parseRunJson(stdout: string): RunJson {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new Error(`signage printed no JSON: ${stdout.slice(0, 300)}`);
  }
  const parsed = runJson.safeParse(value);
  if (!parsed.success) {
    const error = (value as { error?: unknown })?.error;
    throw new Error(
      typeof error === 'string' ? `signage: ${error}` : `not a run result: ${stdout.slice(0, 300)}`,
    );
  }
  return parsed.data;
}
