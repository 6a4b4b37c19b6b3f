// What `plan` says the builder's share will cost on the uplink: the paths the target lacks staged on the
// builder as the stream would send them (compressed, deltas where smaller), measured and deleted; nothing is
// sent and the target is asked nothing more. The target's zstd is not counted (whether it holds it is
// a question the copy asks); deltas that save less than it costs are counted whole, as the stream sends them.
import type { Plan } from '../core/planner.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { Built } from './build.ts';
import { DEFAULT_UPLINK, type EngineDeps } from './deps.ts';
import type { RunScope } from './run-scope.ts';
import { planDeltas } from './uplink-deltas.ts';
import { deltaSaving } from './uplink-stream.ts';

export interface UplinkMeasure {
  readonly uplinkSentBytes: number;
  readonly uplinkDeltaBytes: number;
  readonly uplinkDeltaPaths: number;
}

/** The measure of `p`'s builder step; null when the builder sends nothing or not as a stream. */
export async function measureUplink(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  p: Plan,
  systems: readonly StorePath[],
): Promise<UplinkMeasure | null> {
  const settings = deps.uplink ?? DEFAULT_UPLINK;
  const step = p.steps.find((s) => s.source.kind === 'builder');
  if (settings.transport !== 'stream' || !step || step.paths.length === 0) return null;
  const deltas = settings.deltas
    ? await planDeltas(deps, scope, target, built, step.paths, { held: p.present.paths, systems })
    : { plan: null };
  const staged = await deps.builder.stageForUplink(step.paths, built.closure, {
    compressionLevel: settings.compressionLevel,
    signal: scope.signal,
    ...(deltas.plan ? { deltaBases: deltas.plan.bases } : {}),
  });
  try {
    const sum = (ps: Iterable<StorePath>) => [...ps].reduce((n, q) => n + (staged.bytes.get(q) ?? 0), 0);
    const withDeltas = {
      uplinkSentBytes: sum(step.paths),
      uplinkDeltaBytes: sum(staged.deltas.keys()),
      uplinkDeltaPaths: staged.deltas.size,
    };
    if (staged.deltas.size === 0 || !deltas.plan) return withDeltas;
    // As the stream decides: deltas only when they save more than the target's zstd costs to send.
    const zstdPaths = deltas.plan.zstdClosure.map((i) => i.path);
    const zstd = await deps.builder.stageForUplink(zstdPaths, deltas.plan.zstdClosure, {
      compressionLevel: settings.compressionLevel,
      signal: scope.signal,
    });
    try {
      const zstdBytes = zstdPaths.reduce((n, q) => n + (zstd.bytes.get(q) ?? 0), 0);
      if (deltaSaving(staged) > zstdBytes) return withDeltas;
      return {
        uplinkSentBytes: withDeltas.uplinkSentBytes + deltaSaving(staged),
        uplinkDeltaBytes: 0,
        uplinkDeltaPaths: 0,
      };
    } finally {
      await zstd.cleanup();
    }
  } finally {
    await staged.cleanup();
  }
}
