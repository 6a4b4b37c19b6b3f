// The two questions the engine asks of a host, each answered in one round trip: what it runs and holds
// (the probe), and which of a batch of store paths its store already has.
import { DEFAULT_HEALTH } from '../../core/health.ts';
import { healthProbeArgs } from '../../core/health-probe.ts';
import { type HostFacts, PROBE_SCRIPT, parseProbeOutput } from '../../core/host-facts.ts';
import { parseStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
import { about, HostError, invalidRequest } from './errors.ts';
import { type ExecTarget, execOn } from './exec.ts';
import {
  baseNameOf,
  decodeAnswer,
  hashOf,
  PREFIX_CHARS,
  packHashes,
  type QuestionDigits,
  VALIDITY_SCRIPT,
  WHOLE_HASH_CHARS,
} from './validity-wire.ts';

/** The probe's output is small; a generous limit of its own keeps a wedged host from holding a deploy. */
const PROBE_TIMEOUT_MS = 60_000;

export async function probe(
  target: ExecTarget,
  opts: { readonly signal?: AbortSignal; readonly health?: boolean } = {},
): Promise<HostFacts> {
  // The host's health commands ride along in the same round trip when asked for (status and the report).
  const health = opts.health ? healthProbeArgs(target.host.health ?? DEFAULT_HEALTH) : [];
  const argv = ['/bin/sh', '-c', PROBE_SCRIPT, 'signage-probe', ...health];
  const result = await execOn(target, argv, {
    timeoutMs: Math.min(PROBE_TIMEOUT_MS, target.settings.commandTimeoutMs || PROBE_TIMEOUT_MS),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const failed = (why: string) =>
    new HostError({
      kind: 'RemoteCommandFailed',
      ...about(target.host),
      command: '(probe: current and booted system, generations, free space)',
      stdoutTail: result.stdout.slice(-2000),
      stderrTail: result.stderr.slice(-2000),
      exitCode: result.exitCode,
      message: `${target.host.name}: the probe ${why}`,
      hint: `check that ${target.host.name} has a POSIX sh at /bin/sh and coreutils on its PATH`,
    });
  if (result.exitCode !== 0) throw failed(`exited ${result.exitCode ?? `on signal ${result.signal}`}`);
  if (result.stdoutTruncated) throw failed('printed more than the adapter keeps');
  const parsed = parseProbeOutput(result.stdout);
  if (!parsed.ok) throw failed(`answered something unreadable: ${parsed.error}`);
  return parsed.facts;
}

/**
 * The subset of `paths` valid in the host's store, in one round trip: the paths' hash prefixes go packed on
 * stdin to a fixed script, which answers with a bitmap in the order asked and a digest of the held names (see
 * validity-wire.ts). Where a prefix is shared (by two paths asked, or, as the digest shows, by a path the host
 * holds), the question is asked once more with whole hashes: a prefix never makes a path count as held. An
 * answer of the wrong length, garbage, or one that does not match the names asked is a HostError, never "not
 * held".
 */
export async function validPaths(
  target: ExecTarget,
  paths: Iterable<StorePath>,
  opts: { readonly signal?: AbortSignal; readonly digits?: QuestionDigits } = {},
): Promise<Set<StorePath>> {
  const given = new Set<StorePath>();
  const byHash = new Map<string, StorePath>();
  for (const p of paths) {
    const parsed = parseStorePath(p);
    if (!parsed.ok)
      throw invalidRequest(target.host, `not a store path: ${parsed.error}`, 'pass only store paths');
    const other = byHash.get(parsed.hash);
    if (other !== undefined && other !== parsed.path) {
      throw invalidRequest(
        target.host,
        `${other} and ${parsed.path} share a hash, so at most one of them is a real store path`,
        'pass only store paths Nix made',
      );
    }
    byHash.set(parsed.hash, parsed.path);
    given.add(parsed.path);
  }
  if (given.size === 0) return new Set();
  const asked = [...given];
  const hashes = asked.map(hashOf);
  const prefixes = new Set(hashes.map((h) => h.slice(0, PREFIX_CHARS)));
  const first = opts.digits ?? (prefixes.size === hashes.length ? PREFIX_CHARS : WHOLE_HASH_CHARS);
  const once = await askValidity(target, asked, hashes, first, opts.signal);
  if (once.ok) return once.held;
  if (!once.digestMismatch || first === WHOLE_HASH_CHARS) throw once.error;
  return unwrap(await askValidity(target, asked, hashes, WHOLE_HASH_CHARS, opts.signal));
}

type Asked =
  | { readonly ok: true; readonly held: Set<StorePath> }
  | { readonly ok: false; readonly error: HostError; readonly digestMismatch: boolean };

function unwrap(a: Asked): Set<StorePath> {
  if (!a.ok) throw a.error;
  return a.held;
}

async function askValidity(
  target: ExecTarget,
  asked: readonly StorePath[],
  hashes: readonly string[],
  digits: QuestionDigits,
  signal: AbortSignal | undefined,
): Promise<Asked> {
  const argv = ['/bin/sh', '-c', VALIDITY_SCRIPT, 'signage-valid', String(digits)];
  const result = await execOn(target, argv, {
    stdin: packHashes(hashes, digits),
    // The answer is a few bytes a path at worst; more than that is already wrong.
    keepStdoutBytes: 2 * asked.length + 4096,
    ...(signal ? { signal } : {}),
  });
  const failed = (why: string, digestMismatch = false): Asked => ({
    ok: false,
    digestMismatch,
    error: new HostError({
      kind: 'RemoteCommandFailed',
      ...about(target.host),
      command: `(which of ${asked.length} store paths are valid: their hashes on stdin, nix-store --check-validity)`,
      stdoutTail: result.stdout.slice(-2000),
      stderrTail: result.stderr.slice(-2000),
      exitCode: result.exitCode,
      message: `${target.host.name}: the store validity query ${why}`,
      hint: `run \`nix-store --check-validity\` on ${target.host.name} by hand to see why its store does not answer`,
    }),
  });
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
    return failed(
      `failed (exit ${result.exitCode ?? `on signal ${result.signal}`})${tail ? `: ${tail}` : ''}`,
    );
  }
  if (result.stdoutTruncated) return failed('printed more than an answer can be');
  const decoded = decodeAnswer(result.stdout, asked.map(baseNameOf));
  if (!decoded.ok) return failed(`answered ${decoded.error}`, decoded.digestMismatch === true);
  return { ok: true, held: new Set(asked.filter((_, i) => decoded.held[i])) };
}
