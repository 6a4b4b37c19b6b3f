// The adapter's one error type: an Error for stacks and logs, carrying the HostFailure as data so callers
// decide by kind and never parse messages.
import type { HostFailure, HostFailureError } from '../../core/ports/hosts.ts';
import type { HostSpec } from '../../core/types.ts';
import { quoteWord } from './quote.ts';

export class HostError extends Error implements HostFailureError {
  override readonly name = 'HostError';
  readonly failure: HostFailure;
  readonly hint: string;
  constructor(failure: HostFailure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.failure = failure;
    this.hint = failure.hint;
  }
}

export function isHostError(e: unknown): e is HostError {
  return e instanceof HostError;
}

export function endpointOf(host: HostSpec): string {
  return host.address.includes(':') ? `[${host.address}]:${host.port}` : `${host.address}:${host.port}`;
}

/** The fields every failure about this host shares. */
export function about(host: HostSpec): { readonly host: string; readonly endpoint: string } {
  return { host: host.name, endpoint: endpointOf(host) };
}

/** A command as shown to users: its words quoted as a shell would need and joined, long ones shortened. */
export function showCommand(argv: readonly string[]): string {
  const words = argv.map((w) => {
    const cut = w.length > 60 ? `${w.slice(0, 57)}...` : w;
    return quoteWord(cut.replaceAll('\0', '\\0'));
  });
  const text = words.join(' ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

export function invalidRequest(host: HostSpec, message: string, hint: string): HostError {
  return new HostError({ kind: 'InvalidRequest', ...about(host), message: `${host.name}: ${message}`, hint });
}
