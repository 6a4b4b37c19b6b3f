// Build stage: evaluate and build the host's system on the builder, sign its closure (so targets and peers
// accept it), and read the closure the planner works on.
import { formatBytes } from '../core/bytes.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import type { RunScope } from './run-scope.ts';

export interface Built {
  readonly host: string;
  readonly toplevel: StorePath;
  readonly closure: readonly PathInfo[];
}

export function closureBytes(closure: readonly PathInfo[]): number {
  return closure.reduce((sum, p) => sum + p.narSize, 0);
}

export function buildHost(deps: EngineDeps, scope: RunScope, host: HostSpec): Promise<Built> {
  return scope.stage(host.name, 'build', async () => {
    // Every build of a run is of the revision the run resolved at its start, never of a newer push.
    const toplevel = await deps.builder.build(host.name, {
      signal: scope.signal,
      ...(scope.revision ? { flake: scope.revision.flake } : {}),
    });
    await deps.builder.sign([toplevel]);
    const closure = await deps.builder.closure([toplevel]);
    // A host importing from the builder as root does not check signatures itself; peers do. So the bot checks
    // here that every path carries the builder's signature before anything is copied anywhere.
    const key = await deps.builder.signingKeyName();
    const unsigned = closure.filter((p) => !p.signatures.some((sig) => sig.startsWith(`${key}:`)));
    if (unsigned.length > 0) {
      throw new EngineError(
        `${unsigned.length} of ${closure.length} paths lack the builder's signature (key ${key}), e.g. ${unsigned[0]!.path}`,
        "check builder.signingKeyFile, and that the bot may sign paths in the builder's store",
      );
    }
    const bytes = closureBytes(closure);
    return {
      outcome: 'ok',
      value: { host: host.name, toplevel, closure },
      bytes,
      detail: `${toplevel} (${closure.length} paths, ${formatBytes(bytes)})`,
    };
  });
}
