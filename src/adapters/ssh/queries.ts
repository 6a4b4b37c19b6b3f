// The two questions the engine asks of a host, each answered in one round trip: what it runs and holds
// (the probe), and which of a batch of store paths its store already has.
import { DEFAULT_HEALTH } from '../../core/health.ts';
import { healthProbeArgs } from '../../core/health-probe.ts';
import { type HostFacts, PROBE_SCRIPT, parseProbeOutput } from '../../core/host-facts.ts';
import { parseStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
import { about, HostError, invalidRequest } from './errors.ts';
import { type ExecTarget, execOn } from './exec.ts';
import { baseNameOf, decodeAnswer, hashOf, packHashes, VALIDITY_SCRIPT } from './validity-wire.ts';

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
 * The subset of `paths` valid in the host's store, in one round trip: the paths' hashes go packed on stdin to
 * a fixed script, which answers with a bitmap in the order asked (see validity-wire.ts). An answer of the
 * wrong length, garbage, or one that does not match the names asked is a HostError, never "not held".
 */
export async function validPaths(
  target: ExecTarget,
  paths: Iterable<StorePath>,
  opts: { readonly signal?: AbortSignal } = {},
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
  const argv = ['/bin/sh', '-c', VALIDITY_SCRIPT];
  const result = await execOn(target, argv, {
    stdin: packHashes(asked.map(hashOf)),
    // The answer is a few bytes a path at worst; more than that is already wrong.
    keepStdoutBytes: 2 * asked.length + 4096,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const failed = (why: string) =>
    new HostError({
      kind: 'RemoteCommandFailed',
      ...about(target.host),
      command: `(which of ${asked.length} store paths are valid: their hashes on stdin, nix-store --check-validity)`,
      stdoutTail: result.stdout.slice(-2000),
      stderrTail: result.stderr.slice(-2000),
      exitCode: result.exitCode,
      message: `${target.host.name}: the store validity query ${why}`,
      hint: `run \`nix-store --check-validity\` on ${target.host.name} by hand to see why its store does not answer`,
    });
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
    throw failed(
      `failed (exit ${result.exitCode ?? `on signal ${result.signal}`})${tail ? `: ${tail}` : ''}`,
    );
  }
  if (result.stdoutTruncated) throw failed('printed more than an answer can be');
  const decoded = decodeAnswer(result.stdout, asked.map(baseNameOf));
  if (!decoded.ok) throw failed(`answered ${decoded.error}`);
  return new Set(asked.filter((_, i) => decoded.held[i]));
}
