// What the engine needs of the fleet's hosts: run a command, take a look at the host, ask which store paths it
// already holds. The SSH adapter (src/adapters/ssh) implements it over pooled connections with strict host
// keys. Failures to reach or trust a host reject with a HostFailure (data, not text to parse); a command that
// ran and exited non-zero is an ordinary ExecResult.
import type { HostFacts } from '../host-facts.ts';
import type { HostSpec, StorePath } from '../types.ts';

export interface ExecOptions {
  /** Passed as a leading `env -- K=V ...`; names must match `^[A-Z_][A-Z0-9_]*$`. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Written to the command's stdin, which is then closed; without it the command reads end-of-file. A stream
   * is written as it comes, at the pace the channel takes it; if it throws, the channel is closed.
   */
  readonly stdin?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Overrides the adapter's default command timeout; 0 for none. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called for each complete line (without its newline), and for a last unterminated line at the end. */
  readonly onStdout?: (line: string) => void;
  readonly onStderr?: (line: string) => void;
  /** How much of stdout to keep when the whole of it is the answer (a closure as JSON); the adapter's default otherwise. */
  readonly keepStdoutBytes?: number;
  /** stdout is binary (an image): kept as bytes in `stdoutBytes`, `stdout` left empty. */
  readonly binaryStdout?: boolean;
}

export interface ExecResult {
  /** null when the command was ended by a signal. */
  readonly exitCode: number | null;
  /** e.g. `TERM` when the remote command was killed by a signal, else null. */
  readonly signal: string | null;
  /** The output, or its last part when longer than the adapter keeps (see `stdoutTruncated`). */
  readonly stdout: string;
  readonly stderr: string;
  /** With `binaryStdout`: the output as bytes (its last part when truncated). */
  readonly stdoutBytes?: Uint8Array;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly durationMs: number;
}

export interface HostConnection {
  readonly host: HostSpec;
  /** Runs argv on the host; each word reaches the command verbatim (never interpreted by a shell). */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * One round trip: what the host runs and holds (see HostFacts); with `health`, the host's power and
   * temperature commands (HostSpec.health) run in the same round trip.
   */
  probe(opts?: { readonly signal?: AbortSignal; readonly health?: boolean }): Promise<HostFacts>;
  /** One round trip whatever the batch size: the subset of `paths` valid in the host's store. */
  validPaths(paths: Iterable<StorePath>, opts?: { readonly signal?: AbortSignal }): Promise<Set<StorePath>>;
}

export interface HostsPort {
  /**
   * A host's connection, opened lazily and shared: one per host. No SSH agent is ever forwarded over it: the
   * bot's credentials never leave the bot's box (hosts reach their peers with their own keys).
   */
  connection(host: HostSpec): HostConnection;
  /**
   * A connection of its own, opened anew and never shared with or taken from the pool: what confirms that a
   * host still accepts new SSH logins after an activation (a pooled connection would outlive a dead sshd).
   */
  fresh(host: HostSpec): FreshConnection;
  closeAll(): Promise<void>;
}

export interface FreshConnection extends HostConnection {
  /** Closes it; the caller always does, whatever happened. */
  close(): Promise<void>;
}

// ---- failures ------------------------------------------------------------------------------------------

export type HostFailureKind =
  | 'HostUnreachable'
  | 'HostKeyUnknown'
  | 'HostKeyMismatch'
  | 'HostKeyRevoked'
  | 'AuthFailed'
  | 'ConnectionLost'
  | 'CommandTimeout'
  | 'CommandAborted'
  | 'RemoteCommandFailed'
  | 'InvalidRequest';

interface FailureBase<K extends HostFailureKind> {
  readonly kind: K;
  /** The host's name. */
  readonly host: string;
  /** `address:port` as dialled. */
  readonly endpoint: string;
  /** One sentence saying what happened, naming the host. */
  readonly message: string;
  /** What to do next. */
  readonly hint: string;
}

export type HostFailure =
  | (FailureBase<'HostUnreachable'> & {
      readonly reason: 'refused' | 'timeout' | 'no-route' | 'dns' | 'reset' | 'closed' | 'other';
      readonly timeoutMs: number;
    })
  | (FailureBase<'HostKeyUnknown'> & { readonly received: string; readonly knownHostsFile: string })
  | (FailureBase<'HostKeyMismatch'> & {
      readonly expected: readonly string[];
      readonly received: string;
      readonly knownHostsFile: string;
    })
  | (FailureBase<'HostKeyRevoked'> & { readonly received: string; readonly knownHostsFile: string })
  | (FailureBase<'AuthFailed'> & { readonly user: string })
  | FailureBase<'ConnectionLost'>
  | (FailureBase<'CommandTimeout'> & CommandContext & { readonly timeoutMs: number })
  | (FailureBase<'CommandAborted'> & CommandContext)
  | (FailureBase<'RemoteCommandFailed'> & CommandContext & { readonly exitCode: number | null })
  | FailureBase<'InvalidRequest'>;

interface CommandContext {
  /** The command as shown to users (argv joined, shortened). */
  readonly command: string;
  /** Last lines of its output before it was stopped or failed. */
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

/** What the adapter rejects with: an Error (for stacks and logs) carrying the failure as data. */
export interface HostFailureError extends Error {
  readonly failure: HostFailure;
}
