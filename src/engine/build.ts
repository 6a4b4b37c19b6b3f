// Build stage: evaluate and build the host's system on the builder, sign its closure (so targets and peers
// accept it), and read the closure the planner works on.
import { formatBytes } from '../core/bytes.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, messageOf } from './errors.ts';
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
    await signBuild(deps, scope, toplevel);
    const closure = await deps.builder.closure([toplevel]);
    // A host importing from the builder as root does not check signatures itself; peers do. So the bot checks
    // here that every path carries the builder's signature before anything is copied anywhere.
    const key = await deps.builder.signingKeyName();
    const unsigned = closure.filter((p) => !p.signatures.some((sig) => sig.startsWith(`${key}:`)));
    if (unsigned.length > 0) {
      throw new EngineError(
        `${unsigned.length} of ${closure.length} paths lack the builder's signature (key ${key}), e.g. ${unsigned[0]!.path}`,
        `${KEY_HINT}, and that the bot may sign paths in the builder's store`,
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

const KEY_HINT =
  "check builder.signingKeyFile: it must name the builder's secret signing key (name:base64, as " +
  '`nix-store --generate-binary-cache-key` writes it, not the public half), readable by the bot';

/** Signs the build, or says that the key is what failed: nothing unsigned may go on to a host. */
async function signBuild(deps: EngineDeps, scope: RunScope, toplevel: StorePath): Promise<void> {
  try {
    await deps.builder.sign([toplevel]);
  } catch (e) {
    // A stop request is not the key's fault: it stays what it is.
    if (scope.signal.aborted) throw e;
    throw new EngineError(`could not sign the build with the builder's key: ${messageOf(e)}`, KEY_HINT);
  }
}
