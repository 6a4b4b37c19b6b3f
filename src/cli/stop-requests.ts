// Requests to stop a terminal command: SIGINT (Ctrl-C), SIGTERM, SIGHUP (the terminal went away) and a closed
// output (EPIPE: `signage deploy x | head -2`). The first one aborts the run's signal, so the engine stops at
// its next safe point (never in the middle of a host's switch) and records the run as interrupted; the
// command then exits with the conventional status, 128 + the signal's number.
import type { Writable } from 'node:stream';

export type StopCause = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'EPIPE';

/** 128 + the signal's number; a closed pipe counts as SIGPIPE (13). */
export const STOP_EXIT_CODES: Readonly<Record<StopCause, number>> = {
  SIGHUP: 129,
  SIGINT: 130,
  EPIPE: 141,
  SIGTERM: 143,
};

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface StopRequests {
  readonly signal: AbortSignal;
  /** What asked to stop first, or null while nothing has. */
  cause(): StopCause | null;
  dispose(): void;
}

export interface Signals {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Watches the process's signals and its output streams until disposed. Later requests change nothing: the
 * run is already stopping, and a second Ctrl-C must not cut a host's switch in half.
 */
export function watchStopRequests(proc: Signals, outputs: readonly Writable[]): StopRequests {
  const controller = new AbortController();
  let first: StopCause | null = null;
  const stop = (cause: StopCause) => {
    if (first !== null) return;
    first = cause;
    controller.abort(cause);
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal as StopCause);
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') stop('EPIPE');
  };
  for (const s of SIGNALS) proc.on(s, onSignal);
  for (const o of outputs) o.on('error', onError);
  return {
    signal: controller.signal,
    cause: () => first,
    dispose() {
      for (const s of SIGNALS) proc.removeListener(s, onSignal);
      // The error listeners stay: a write that fails after the command ended must not crash the process.
    },
  };
}

/**
 * A writer that drops what it cannot write: once its stream failed (a closed pipe) nothing more is written,
 * and the failure never becomes an uncaught exception.
 */
export function guardedWrite(stream: Writable): (text: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (text) => {
    if (broken || stream.destroyed || stream.writableEnded) return;
    try {
      stream.write(text);
    } catch {
      broken = true;
    }
  };
}
