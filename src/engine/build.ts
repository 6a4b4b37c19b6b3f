// Build stage: evaluate and build the host's system on the builder, sign its closure (so targets and peers
// accept it), and read the closure the planner works on. A rollout does it for all its targets at once.
import { formatBytes } from '../core/bytes.ts';
import { closureGraph, requisites } from '../core/closure.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
import { limitConcurrency } from './limit.ts';
import type { RunScope, StageDone } from './run-scope.ts';

export interface Built {
  readonly host: string;
  readonly toplevel: StorePath;
  readonly closure: readonly PathInfo[];
}

export function closureBytes(closure: readonly PathInfo[]): number {
  return closure.reduce((sum, p) => sum + p.narSize, 0);
}

export function buildHost(deps: EngineDeps, scope: RunScope, host: HostSpec): Promise<Built> {
  return scope.stage(host.name, 'build', async () => stageOf(await buildAlone(deps, scope, host)));
}

export type BuildOutcome =
  | { readonly ok: true; readonly built: Built }
  | { readonly ok: false; readonly error: unknown };

/**
 * Builds every host of a rollout: all at once where the builder can (one evaluation, one build, one signing
 * and one reading of all closures, whatever the number of hosts), each host's build stage reported on its
 * own. A host the batch could not build is built alone, two at a time, so that its failure says why in full
 * and fails it alone; the others go on.
 */
export async function buildHosts(
  deps: EngineDeps,
  scope: RunScope,
  hosts: readonly HostSpec[],
): Promise<Map<string, BuildOutcome>> {
  const batch = hosts.length > 1 && deps.builder.buildMany ? buildBatch(deps, scope, hosts) : null;
  // Builds alone share the builder: two at a time keeps evaluation and the store busy without thrashing.
  const alone = limitConcurrency(2);
  const out = new Map<string, BuildOutcome>();
  await Promise.all(
    hosts.map(async (h) => {
      try {
        const built = await scope.stage<Built>(h.name, 'build', async () => {
          const together = batch ? (await batch)?.get(h.name) : undefined;
          if (together) {
            checkSigned(together.closure, await deps.builder.signingKeyName());
            return stageOf(together);
          }
          return stageOf(await alone(() => buildAlone(deps, scope, h)));
        });
        out.set(h.name, { ok: true, built });
      } catch (error) {
        out.set(h.name, { ok: false, error });
      }
    }),
  );
  return out;
}

/**
 * The hosts' builds in one go; null when the batch as a whole failed (each host is then built alone). A host
 * missing from the result did not evaluate or build in the batch.
 */
async function buildBatch(
  deps: EngineDeps,
  scope: RunScope,
  hosts: readonly HostSpec[],
): Promise<ReadonlyMap<string, Built> | null> {
  let toplevels: ReadonlyMap<string, StorePath>;
  try {
    toplevels = await deps.builder.buildMany!(
      hosts.map((h) => h.name),
      { signal: scope.signal, ...(scope.revision ? { flake: scope.revision.flake } : {}) },
    );
  } catch (e) {
    if (scope.signal.aborted) throw e;
    scope.log(`building the ${hosts.length} hosts at once failed, so each is built alone: ${messageOf(e)}`);
    return null;
  }
  const roots = [...new Set(toplevels.values())];
  if (roots.length === 0) return new Map();
  await signBuild(deps, scope, roots);
  const union = await deps.builder.closure(roots);
  const graph = closureGraph(union);
  const out = new Map<string, Built>();
  for (const [host, toplevel] of toplevels) {
    const mine = requisites(graph, [toplevel]);
    out.set(host, { host, toplevel, closure: union.filter((p) => mine.has(p.path)) });
  }
  return out;
}

async function buildAlone(deps: EngineDeps, scope: RunScope, host: HostSpec): Promise<Built> {
  // Every build of a run is of the revision the run resolved at its start, never of a newer push.
  const toplevel = await deps.builder.build(host.name, {
    signal: scope.signal,
    ...(scope.revision ? { flake: scope.revision.flake } : {}),
  });
  await signBuild(deps, scope, [toplevel]);
  const closure = await deps.builder.closure([toplevel]);
  checkSigned(closure, await deps.builder.signingKeyName());
  return { host: host.name, toplevel, closure };
}

/**
 * A host importing from the builder as root does not check signatures itself; peers do. So the bot checks
 * here that every path carries the builder's signature before anything is copied anywhere.
 */
function checkSigned(closure: readonly PathInfo[], key: string): void {
  const unsigned = closure.filter((p) => !p.signatures.some((sig) => sig.startsWith(`${key}:`)));
  if (unsigned.length > 0) {
    throw new EngineError(
      `${unsigned.length} of ${closure.length} paths lack the builder's signature (key ${key}), e.g. ${unsigned[0]!.path}`,
      `${KEY_HINT}, and that the bot may sign paths in the builder's store`,
    );
  }
}

function stageOf(built: Built): StageDone<Built> {
  const bytes = closureBytes(built.closure);
  return {
    outcome: 'ok',
    value: built,
    bytes,
    detail: `${built.toplevel} (${built.closure.length} paths, ${formatBytes(bytes)})`,
  };
}

const KEY_HINT =
  "check builder.signingKeyFile: it must name the builder's secret signing key (name:base64, as " +
  '`nix-store --generate-binary-cache-key` writes it, not the public half), readable by the bot';

/** Signs the build, or says that the key is what failed: nothing unsigned may go on to a host. */
async function signBuild(deps: EngineDeps, scope: RunScope, toplevels: StorePath[]): Promise<void> {
  try {
    await deps.builder.sign(toplevels);
  } catch (e) {
    // A stop request is not the key's fault: it stays what it is.
    if (scope.signal.aborted) throw e;
    throw new EngineError(`could not sign the build with the builder's key: ${messageOf(e)}`, KEY_HINT);
  }
}
