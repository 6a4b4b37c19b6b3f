// Failures the engine reports to people: each says what went wrong and, where it can, what to do next.

export class EngineError extends Error {
  override readonly name: string = 'EngineError';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** A second deploy to a host that one is already deploying. */
export class HostBusy extends EngineError {
  override readonly name = 'HostBusy';
}

/** A command on a host exited non-zero. */
export class HostCommandFailed extends EngineError {
  override readonly name = 'HostCommandFailed';
  readonly host: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  constructor(host: string, argv: readonly string[], exitCode: number | null, stderr: string) {
    const tail = stderr.trim().split('\n').slice(-3).join(' / ');
    super(
      `${host}: ${argv.slice(0, 3).join(' ')}… exited ${exitCode ?? 'abnormally'}${tail ? `: ${tail}` : ''}`,
    );
    this.host = host;
    this.argv = argv;
    this.exitCode = exitCode;
  }
}

/**
 * The state database cannot record what the bot does (damaged, read-only, gone): nothing more is run on any
 * host, because the audit log could not say so. Never a host's fault.
 */
export class StateError extends EngineError {
  override readonly name = 'StateError';
  /** From SQLite's error, or (a string) the message of a StateError reported earlier. */
  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      typeof cause === 'string' || cause instanceof StateError
        ? why
        : `the state database cannot record commands (SQLite: ${why}), so nothing more is run on any host`,
      'this is not a host problem: stop the bot and every signage command, check the state file (it may be damaged, read-only or full), then run again',
    );
  }
}

/** The run was asked to stop (a signal, a closed output, the bot stopping) and stopped at a safe point. */
export class Interrupted extends EngineError {
  override readonly name = 'Interrupted';
}

/** Why a run was asked to stop, from its signal's reason: `SIGINT`, `EPIPE`, ... or a plain "stop". */
export function stopReason(signal: AbortSignal): string {
  const r = signal.reason as unknown;
  if (typeof r === 'string') return r;
  if (r instanceof Error && r.message && r.name !== 'AbortError') return r.message;
  return 'a request to stop';
}

export class NotApprover extends EngineError {
  override readonly name: string = 'NotApprover';
}

/** A rule of the configuration forbids this request (e.g. a branch off the default one on this host). */
export class NotAllowed extends NotApprover {
  override readonly name = 'NotAllowed';
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What to do next, from an engine error or from a host failure (the SSH adapter's errors carry one). */
export function hintOf(e: unknown): string | undefined {
  if (e instanceof EngineError) return e.hint;
  const failure = (e as { failure?: { hint?: unknown } } | null)?.failure;
  return typeof failure?.hint === 'string' ? failure.hint : undefined;
}
