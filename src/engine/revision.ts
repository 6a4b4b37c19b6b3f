// A run's fleet revision: resolved once, fresh, before anything touches a host, then built by every host of
// the run. Deploying off the default branch is checked against the configured rules here, so a refused ref
// never starts a run.
import { refRefusal } from '../core/ref-rules.ts';
import { namesDefault, type Revision } from '../core/revision.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker } from './engine.ts';
import { NotAllowed } from './errors.ts';
import { actorName } from './run-scope.ts';

/** The default branch head, and the ref asked for placed against it: on the default line or off it. */
export async function resolveRun(deps: EngineDeps, ref: string | null): Promise<Revision> {
  if (ref === null) return deps.builder.resolveRevision(null);
  const asked = await deps.builder.resolveRevision(ref);
  // A default branch that cannot be read now (a broken local checkout) must not block a deploy of a ref;
  // the ref then counts as off the default branch unless it names it.
  const head = await deps.builder.resolveRevision(null).catch(() => null);
  const defaultBranch = head?.defaultBranch ?? asked.defaultBranch;
  let onDefault = namesDefault(ref, defaultBranch) || (asked.rev !== null && asked.rev === head?.rev);
  // A commit in the default branch's history (rolling back along the main line) is not off it.
  if (!onDefault && head !== null && asked.rev !== null && !asked.dirty) {
    onDefault = (await deps.builder.commitsBehind(asked.rev, head))?.ancestor ?? false;
  }
  return { ...asked, onDefault, defaultBranch };
}

/** Resolves, then refuses what the rules forbid for verbs that change hosts. */
export async function revisionFor(
  deps: EngineDeps,
  ref: string | null,
  targets: readonly HostSpec[],
  asker: Asker,
  changesHosts: boolean,
): Promise<Revision> {
  const revision = await resolveRun(deps, ref);
  if (changesHosts && !revision.onDefault) {
    const refusal = refRefusal(deps.refRules, revision, targets, {
      name: actorName(asker.actor),
      approver: deps.refRules.nonDefault === 'approvers' ? await deps.mayApprove(asker.actor) : false,
    });
    if (refusal !== null) {
      throw new NotAllowed(
        refusal,
        `deploy ${revision.defaultBranch ?? 'the default branch'} (leave out --ref), or ask an approver; see refs in the configuration`,
      );
    }
  }
  return revision;
}
