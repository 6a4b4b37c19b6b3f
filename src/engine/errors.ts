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
