// Copy stage: carry out a plan. Each peer step is one command on the target (`nix copy --from ssh://PEER`,
// as the peer's read-only serving account with the target's own host key, no agent anywhere, signatures checked
// by the target's Nix; several commands when its roots do not fit in one), peers of a wave in parallel up to a
// limit; the builder's remainder goes last, so nothing a peer delivers also crosses the uplink. If a peer
// fails midway, the target is asked again what it holds and the builder sends the rest. The stage only ends
// ok once the target holds the whole closure.
import { formatBytes } from '../core/bytes.ts';
import { closureGraph, maximalElements } from '../core/closure.ts';
import { PEER_SERVE_USER } from '../core/endpoint.ts';
import type { Plan, PlanStep } from '../core/planner.ts';
import type { CopyProgress } from '../core/ports/builder.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { uplinkSentText } from '../core/uplink-sent-text.ts';
import type { Built } from './build.ts';
import { missingFrom } from './closure-held.ts';
import { DEFAULT_UPLINK, type EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import { limitConcurrency } from './limit.ts';
import { planFromHoldings } from './plan-host.ts';
import type { RunScope } from './run-scope.ts';
import { StreamFailed, type StreamOptions, streamFromBuilder } from './uplink-stream.ts';

export interface CopyResult {
  /** Bytes each source delivered, by `peer:<host>` or `builder`. */
  readonly bySource: Readonly<Record<string, number>>;
  readonly lanBytes: number;
  readonly uplinkBytes: number;
  /**
   * Bytes the builder's copy really sent over the uplink: the compressed stream (narinfos, archives and all),
   * or the NARs as they are with `nix copy --to ssh://`. `uplinkBytes` counts the paths' NAR bytes.
   */
  readonly uplinkSentBytes: number;
  /** Of `uplinkSentBytes`, what came as deltas against paths the target held, and how many paths did. */
  readonly uplinkDeltaBytes: number;
  readonly uplinkDeltaPaths: number;
  /** Peers that failed, and the builder sent their share instead. */
  readonly fellBack: readonly string[];
}

/** A new plan without the peers that failed (and with the target's holdings asked again). */
export type Replan = (without: ReadonlySet<string>) => Promise<Plan>;

export function copyPlan(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  p: Plan,
  replan: Replan = (without) => planFromHoldings(deps, scope, host, built, without),
  /** The systems the rollout saw the host run or have as profile: what deltas may be made against. */
  systems: readonly StorePath[] = [],
): Promise<CopyResult> {
  return scope.stage(host.name, 'copy', async () => {
    if (p.steps.length === 0) {
      return {
        outcome: 'noop',
        value: {
          bySource: {},
          lanBytes: 0,
          uplinkBytes: 0,
          uplinkSentBytes: 0,
          uplinkDeltaBytes: 0,
          uplinkDeltaPaths: 0,
          fellBack: [],
        },
        detail: 'the target already holds the whole closure',
      };
    }
    const { note, ...result } = await executePlan(deps, scope, host, built, p, replan, systems);
    return {
      outcome: 'ok',
      value: result,
      bytes: result.lanBytes + result.uplinkBytes,
      detail:
        `${formatBytes(result.lanBytes)} from peers, ${formatBytes(result.uplinkBytes)} over the uplink` +
        uplinkSentText(result) +
        (result.fellBack.length > 0 ? `; the builder stood in for ${result.fellBack.join(', ')}` : '') +
        (note ? `; ${note}` : ''),
    };
  });
}

/** How many times a failed peer leads to a new plan with the peers left, before the builder sends the rest. */
const REPLANS = 3;

async function executePlan(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  first: Plan,
  replan: Replan,
  systems: readonly StorePath[],
): Promise<CopyResult & { readonly note?: string }> {
  const sizes = new Map(built.closure.map((i) => [i.path, i.narSize]));
  const bySource: Record<string, number> = {};
  const add = (source: string, bytes: number) => {
    bySource[source] = (bySource[source] ?? 0) + bytes;
  };
  const failed = new Set<string>();
  let p = first;
  let peersDone = false;
  for (let round = 0; round <= REPLANS && !peersDone; round++) {
    const failedNow = await runPeerWaves(deps, scope, target, p, sizes, add);
    // A copy cut short by a stop request is no peer's failure: nothing is planned again.
    scope.checkpoint(`the next copy step to ${target.name}`);
    if (failedNow.length === 0) {
      peersDone = true;
      break;
    }
    for (const peer of failedNow) failed.add(peer);
    // Ask again and plan again without the peers that failed: what other peers hold still comes over the LAN.
    p = await replan(failed);
  }

  let builderStep = p.steps.find((s) => s.source.kind === 'builder');
  let uplinkSent = 0;
  let deltaBytes = 0;
  let deltaPaths = 0;
  let note: string | undefined;
  if (!peersDone) {
    // Peers kept failing: the builder sends whatever the target still lacks.
    const held = await scope.validPaths(target, [...sizes.keys()]);
    const paths = built.closure.filter((i) => !held.has(i.path)).map((i) => i.path);
    const roots = maximalElements(closureGraph(built.closure), paths);
    builderStep =
      paths.length > 0 ? { wave: 0, source: { kind: 'builder' }, roots, paths, bytes: 0 } : undefined;
  }
  if (builderStep && builderStep.roots.length > 0) {
    scope.checkpoint(`the builder's copy to ${target.name}`);
    if ((deps.uplink ?? DEFAULT_UPLINK).transport === 'stream') {
      const streamed = await streamRemainder(deps, scope, target, built, builderStep.paths, {
        held: first.present.paths,
        systems,
      });
      add('builder', streamed.narBytes);
      uplinkSent = streamed.sent;
      deltaBytes = streamed.deltaBytes;
      deltaPaths = streamed.deltaPaths;
      note = streamed.note;
    } else {
      const bytes = await copyFromBuilder(deps, scope, target, builderStep.roots, builderStep.paths, sizes);
      add('builder', bytes);
      uplinkSent = bytes;
    }
  }

  const stillMissing = await missingFrom(scope, target, built.closure);
  if (stillMissing.length > 0) {
    throw new EngineError(
      `${target.name} still lacks ${stillMissing.length} of ${built.closure.length} paths after copying ` +
        `(e.g. ${stillMissing[0]?.path})`,
      'run the deploy again; if it repeats, check free space on the host with `status`',
    );
  }
  const lanBytes = Object.entries(bySource)
    .filter(([k]) => k.startsWith('peer:'))
    .reduce((s, [, v]) => s + v, 0);
  return {
    bySource,
    lanBytes,
    uplinkBytes: bySource.builder ?? 0,
    uplinkSentBytes: uplinkSent,
    uplinkDeltaBytes: deltaBytes,
    uplinkDeltaPaths: deltaPaths,
    fellBack: [...failed],
    ...(note ? { note } : {}),
  };
}

/**
 * Runs a plan's peer steps, wave by wave, peers of a wave in parallel up to the limit. Stops after a wave in
 * which a peer failed (later waves assume earlier ones delivered) and returns the peers that failed.
 */
async function runPeerWaves(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  p: Plan,
  sizes: Map<StorePath, number>,
  add: (source: string, bytes: number) => void,
): Promise<string[]> {
  const peerSteps = p.steps.filter((s) => s.source.kind === 'peer');
  const waves = [...new Set(peerSteps.map((s) => s.wave))].sort((a, b) => a - b);
  const limit = limitConcurrency(deps.limits.parallelPeerCopies);
  for (const wave of waves) {
    const failedNow: string[] = [];
    await Promise.all(
      peerSteps
        .filter((s) => s.wave === wave)
        .map((step) =>
          limit(async () => {
            const peerName = step.source.kind === 'peer' ? step.source.host : '';
            const { bytes, error } = await copyFromPeer(deps, scope, target, step, sizes);
            // What a failed copy delivered before it failed still crossed the LAN.
            add(`peer:${peerName}`, bytes);
            if (error) {
              failedNow.push(peerName);
              scope.log(
                `copy from ${peerName} failed (${error.message}); planning again without it` +
                  (error instanceof EngineError && error.hint ? `. To fix: ${error.hint}` : ''),
                target.name,
              );
            }
          }),
        ),
    );
    if (failedNow.length > 0) return failedNow;
    scope.checkpoint(`the next copy step to ${target.name}`);
  }
  return [];
}

/** Turns one copy's progress into bytes done against the step's planned bytes, as events. */
function tracker(
  scope: RunScope,
  target: HostSpec,
  source: string,
  planned: readonly StorePath[],
  sizes: Map<StorePath, number>,
) {
  const total = planned.reduce((s, path) => s + (sizes.get(path) ?? 0), 0);
  const done = new Set<StorePath>();
  let namedBytes = 0;
  let counted = 0;
  let doneBytes = 0;
  const errors: string[] = [];
  const emit = () =>
    scope.emit({
      type: 'stage.progress',
      runId: scope.runId,
      host: target.name,
      stage: 'copy',
      source,
      doneBytes,
      totalBytes: total,
    });
  emit();
  return {
    errors,
    onProgress(p: CopyProgress) {
      if (p.error) errors.push(p.error);
      if (p.done && !done.has(p.done)) {
        done.add(p.done);
        // Counted for every path this source really moved, planned or not: the figure is what crossed.
        namedBytes += sizes.get(p.done) ?? 0;
      }
      // A log that only counts its paths (a peer copy's): each at the step's mean planned size.
      if (p.copied) counted += p.copied;
      const byCount =
        planned.length === 0 ? 0 : Math.min(total, Math.round((total * counted) / planned.length));
      const now = Math.max(namedBytes, byCount);
      if (now !== doneBytes) {
        doneBytes = now;
        emit();
      }
    },
    bytes: () => doneBytes,
  };
}

async function copyFromPeer(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  step: PlanStep,
  sizes: Map<StorePath, number>,
): Promise<{ bytes: number; error?: Error }> {
  const peer = deps.hosts.find((h) => step.source.kind === 'peer' && h.name === step.source.host);
  if (!peer)
    return { bytes: 0, error: new EngineError(`plan names an unknown peer ${JSON.stringify(step.source)}`) };
  const track = tracker(scope, target, `peer:${peer.name}`, step.paths, sizes);
  const stderr: string[] = [];
  try {
    // Built inside the try: a step the adapter refuses (a bad root, a peer it cannot vouch for) is a failed
    // peer like any other, and the builder stands in.
    const invocations = deps.nix.peerCopy(peer, step.roots, deps.peerKnownHosts(peer));
    for (const inv of invocations) {
      // One reader per command: Nix's activity ids are per process.
      const read = deps.nix.copyLogReader();
      const result = await scope.exec(target, inv.argv, {
        stdin: inv.stdin,
        allowFailure: true,
        // Copies may take long; a dead peer or target is found by SSH keepalives, not by a time limit.
        timeoutMs: 0,
        onStderrLine: (line) => {
          if (stderr.length < 2000) stderr.push(line);
          const parsed = read(line);
          if (parsed) track.onProgress(parsed);
        },
      });
      if (result.exitCode === 0) continue;
      // Nix reports any SSH trouble as "cannot connect"; ssh's own lines in the same stderr say why.
      const why = deps.nix.diagnoseCopyFailure(stderr, `${PEER_SERVE_USER}@${peer.lanAddress}`);
      const error = why
        ? new EngineError(why.message, why.kind === 'auth-failed' ? peerAuthHint(peer, target) : why.hint)
        : new EngineError(`exit ${result.exitCode}: ${track.errors.at(-1) ?? lastLine(result.stderr)}`);
      return { bytes: await deliveredBeforeFailure(scope, target, step, sizes, track.bytes()), error };
    }
    return { bytes: track.bytes() };
  } catch (e) {
    // The target itself failed (connection lost, timed out), or the step could not be put into commands: the
    // bytes already delivered still count.
    const bytes = await deliveredBeforeFailure(scope, target, step, sizes, track.bytes());
    return { bytes, error: e instanceof Error ? e : new Error(String(e)) };
  }
}

/**
 * What a failed peer step delivered: the peer's log only counts paths now and then, so the last ones before the
 * failure may not be counted. The step's paths were missing when it started and no other step of its wave
 * brings them, so those the target holds now came from this peer; asking costs one question, and only after a
 * failure. A target that cannot be asked keeps the log's count.
 */
async function deliveredBeforeFailure(
  scope: RunScope,
  target: HostSpec,
  step: PlanStep,
  sizes: Map<StorePath, number>,
  counted: number,
): Promise<number> {
  try {
    const held = await scope.validPaths(target, step.paths);
    const bytes = step.paths.filter((p) => held.has(p)).reduce((s, p) => s + (sizes.get(p) ?? 0), 0);
    return Math.max(bytes, counted);
  } catch {
    return counted;
  }
}

function peerAuthHint(peer: HostSpec, target: HostSpec): string {
  return (
    `${peer.name} must serve its store to ${target.name}: enable nix.sshServe on ${peer.name} (the ` +
    `signage-host module does) with ${target.name}'s SSH host public key in nix.sshServe.keys`
  );
}

async function copyFromBuilder(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  roots: readonly StorePath[],
  paths: readonly StorePath[],
  sizes: Map<StorePath, number>,
): Promise<number> {
  const track = tracker(scope, target, 'builder', paths, sizes);
  // The builder's `nix copy --to` runs `nix-store --serve --write` on the target: it goes in the audit log too.
  await scope.record(
    target,
    ['nix-store', '--serve', '--write', `(nix copy --to from the builder: ${roots.length} roots)`],
    () => deps.builder.copyTo(target, roots, { signal: scope.signal, onProgress: track.onProgress }),
  );
  return track.bytes();
}

/**
 * The builder's share as one stream (uplink-stream.ts): the step's paths, which the plan (or the question asked
 * after failed peers) found missing. A stream that fails once it started (a damaged archive, a NAR Nix
 * refused, a delta that did not rebuild) is followed by a second one, without deltas, for what the target,
 * asked again, still lacks; a second failure, or a host without the space, ends the copy with its message.
 */
async function streamRemainder(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  paths: readonly StorePath[],
  known: StreamOptions,
): Promise<{ narBytes: number; sent: number; deltaBytes: number; deltaPaths: number; note?: string }> {
  let sent = 0;
  let narBytes = 0;
  let missing = paths;
  for (let attempt = 1; ; attempt++) {
    try {
      const opts = attempt === 1 ? known : { deltas: false };
      const r = await streamFromBuilder(deps, scope, target, built, missing, opts);
      // After a failed first stream, only the second's deltas (none) are counted as deltas; what the first sent
      // is in `sent`.
      return {
        narBytes: narBytes + r.narBytes,
        sent: sent + r.bytes,
        deltaBytes: r.deltaBytes,
        deltaPaths: r.deltaPaths,
        ...(r.note ? { note: r.note } : {}),
      };
    } catch (e) {
      if (!(e instanceof StreamFailed) || attempt >= 2) throw e;
      // What crossed before the failure crossed the uplink all the same.
      sent += e.sent;
      narBytes += e.importedNarBytes;
      scope.log(
        `${e.message}; sending what ${target.name} still lacks in a second stream` +
          (attempt === 1 && known.deltas !== false && (deps.uplink ?? DEFAULT_UPLINK).deltas
            ? ', whole (no deltas)'
            : ''),
        target.name,
      );
      scope.checkpoint(`the second stream to ${target.name}`);
      const held = await scope.validPaths(
        target,
        built.closure.map((i) => i.path),
      );
      missing = built.closure.filter((i) => !held.has(i.path)).map((i) => i.path);
      if (missing.length === 0) return { narBytes, sent, deltaBytes: 0, deltaPaths: 0 };
    }
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
