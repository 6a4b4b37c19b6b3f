// Copy stage: carry out a plan. Each peer step is one command on the target (`nix copy --from ssh://PEER`,
// the bot's agent forwarded, signatures checked by the target's Nix), peers of a wave in parallel up to a
// limit; the builder's remainder goes last, so nothing a peer delivers also crosses the uplink. If a peer
// fails midway, the target is asked again what it holds and the builder sends the rest. The stage only ends
// ok once the target holds the whole closure.
import { formatBytes } from '../core/bytes.ts';
import { closureGraph, maximalElements } from '../core/closure.ts';
import type { Plan, PlanStep } from '../core/planner.ts';
import type { CopyProgress } from '../core/ports/builder.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import { limitConcurrency } from './limit.ts';
import type { RunScope } from './run-scope.ts';

export interface CopyResult {
  /** Bytes each source delivered, by `peer:<host>` or `builder`. */
  readonly bySource: Readonly<Record<string, number>>;
  readonly lanBytes: number;
  readonly uplinkBytes: number;
  /** Peers that failed, and the builder sent their share instead. */
  readonly fellBack: readonly string[];
}

export function copyPlan(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  p: Plan,
): Promise<CopyResult> {
  return scope.stage(host.name, 'copy', async () => {
    if (p.steps.length === 0) {
      return {
        outcome: 'noop',
        value: { bySource: {}, lanBytes: 0, uplinkBytes: 0, fellBack: [] },
        detail: 'the target already holds the whole closure',
      };
    }
    const result = await executePlan(deps, scope, host, built, p);
    return {
      outcome: 'ok',
      value: result,
      bytes: result.lanBytes + result.uplinkBytes,
      detail:
        `${formatBytes(result.lanBytes)} from peers, ${formatBytes(result.uplinkBytes)} over the uplink` +
        (result.fellBack.length > 0 ? `; the builder stood in for ${result.fellBack.join(', ')}` : ''),
    };
  });
}

async function executePlan(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  p: Plan,
): Promise<CopyResult> {
  const sizes = new Map(built.closure.map((i) => [i.path, i.narSize]));
  const bySource: Record<string, number> = {};
  const fellBack: string[] = [];
  const peerSteps = p.steps.filter((s) => s.source.kind === 'peer');
  const waves = [...new Set(peerSteps.map((s) => s.wave))].sort((a, b) => a - b);
  const limit = limitConcurrency(deps.limits.parallelPeerCopies);

  for (const wave of waves) {
    // Later waves assume earlier ones delivered: after a failure the builder takes over instead.
    if (fellBack.length > 0) break;
    const steps = peerSteps.filter((s) => s.wave === wave);
    await Promise.all(
      steps.map((step) =>
        limit(async () => {
          const peerName = step.source.kind === 'peer' ? step.source.host : '';
          try {
            bySource[`peer:${peerName}`] = await copyFromPeer(deps, scope, target, step, sizes);
          } catch (e) {
            fellBack.push(peerName);
            scope.log(
              `copy from ${peerName} failed (${messageOf(e)}); the builder sends the rest`,
              target.name,
            );
          }
        }),
      ),
    );
  }

  const builderStep = p.steps.find((s) => s.source.kind === 'builder');
  let builderRoots: readonly StorePath[] = builderStep?.roots ?? [];
  let builderPaths: readonly StorePath[] = builderStep?.paths ?? [];
  if (fellBack.length > 0) {
    // Ask again: a failed copy may have delivered part of its share, and later waves did not run.
    const held = await scope.validPaths(target, [...sizes.keys()]);
    builderPaths = built.closure.filter((i) => !held.has(i.path)).map((i) => i.path);
    builderRoots = maximalElements(closureGraph(built.closure), builderPaths);
  }
  if (builderRoots.length > 0) {
    bySource.builder = await copyFromBuilder(deps, scope, target, builderRoots, builderPaths, sizes);
  }

  const held = await scope.validPaths(target, [...sizes.keys()]);
  const stillMissing = built.closure.filter((i) => !held.has(i.path));
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
  return { bySource, lanBytes, uplinkBytes: bySource.builder ?? 0, fellBack };
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
        doneBytes += sizes.get(p.done) ?? 0;
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
): Promise<number> {
  const peer = deps.hosts.find((h) => step.source.kind === 'peer' && h.name === step.source.host);
  if (!peer) throw new EngineError(`plan names an unknown peer ${JSON.stringify(step.source)}`);
  const track = tracker(scope, target, `peer:${peer.name}`, step.paths, sizes);
  const read = deps.nix.copyLogReader();
  const inv = deps.nix.peerCopy(peer, step.roots, deps.peerKnownHosts(peer));
  const stderr: string[] = [];
  const result = await scope.exec(target, inv.argv, {
    forward: true,
    stdin: inv.stdin,
    allowFailure: true,
    onStderrLine: (line) => {
      if (stderr.length < 2000) stderr.push(line);
      const parsed = read(line);
      if (parsed) track.onProgress(parsed);
    },
  });
  if (result.exitCode !== 0) {
    // Nix reports any SSH trouble as "cannot connect"; ssh's own lines in the same stderr say why.
    const why = deps.nix.diagnoseCopyFailure(stderr, `${peer.user}@${peer.lanAddress}`);
    if (why) throw new EngineError(why.message, why.hint);
    throw new EngineError(`exit ${result.exitCode}: ${track.errors.at(-1) ?? lastLine(result.stderr)}`);
  }
  return track.bytes();
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
  await deps.builder.copyTo(target, roots, { signal: scope.signal, onProgress: track.onProgress });
  return track.bytes();
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
