// A closure as a host's own store describes it: one command on the host (its own Nix picks the flags), for
// systems the builder does not hold (built elsewhere, or collected since).
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import type { HostAccess } from './run-scope.ts';

/** Far above a real system's closure description (a few MB for thousands of paths), still bounded. */
export const CLOSURE_JSON_LIMIT = 256 * 1024 * 1024;

export async function hostClosure(
  deps: EngineDeps,
  access: HostAccess,
  host: HostSpec,
  path: StorePath,
): Promise<readonly PathInfo[]> {
  // A closure's JSON grows with its signatures (one per signing): keep all of it, and say so if even that was
  // not enough rather than parse half an answer.
  const out = await access.exec(host, deps.nix.closureQuery(path), { keepStdoutBytes: CLOSURE_JSON_LIMIT });
  if (out.exitCode !== 0) {
    throw new EngineError(
      `${host.name} could not describe ${path}: ${out.stderr.trim().split('\n').at(-1) ?? `exit ${out.exitCode}`}`,
    );
  }
  if (out.stdoutTruncated) {
    throw new EngineError(`the description of ${path} on ${host.name} is over ${CLOSURE_JSON_LIMIT} bytes`);
  }
  return deps.nix.parsePathInfo(out.stdout);
}
