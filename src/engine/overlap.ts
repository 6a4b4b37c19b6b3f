// Overlap between hosts' closures: of their new builds, of what they run now, or both. What
// `nix-store -q --references ./result* | sort | uniq -c` hints at, in paths and bytes per group of hosts; for
// a single host, also where its missing paths would come from.
import type { PlanSummary } from '../core/events.ts';
import { type NamedClosure, type OverlapReport, overlap } from '../core/overlap.ts';
import { summary } from '../core/planner.ts';
import type { Revision } from '../core/revision.ts';
import type { HostSpec } from '../core/types.ts';
import { buildHost } from './build.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker } from './engine.ts';
import { EngineError, messageOf } from './errors.ts';
import { planFromHoldings } from './plan-host.ts';
import { openRun } from './run-scope.ts';

/** Far above a real system's closure description (a few MB for thousands of paths), still bounded. */
const CLOSURE_JSON_LIMIT = 256 * 1024 * 1024;

export type OverlapSource = 'built' | 'running' | 'both';

export interface OverlapResult {
  readonly runId: string;
  readonly of: OverlapSource;
  /** The fleet revision the new builds are of. */
  readonly revision?: Revision;
  readonly report: OverlapReport;
  /** Hosts left out, with why (unreachable, or running no system). */
  readonly missing: readonly { readonly label: string; readonly reason: string }[];
  /** For one host's new build: what it holds and where the rest would come from. */
  readonly plan?: { readonly host: string; readonly summary: PlanSummary };
}

export async function overlapOf(
  deps: EngineDeps,
  targets: readonly HostSpec[],
  of: OverlapSource,
  asker: Asker,
  revision?: Revision,
): Promise<OverlapResult> {
  const scope = openRun(deps, {
    ...(revision ? { revision } : {}),
    verb: 'overlap',
    hosts: targets.map((t) => t.name),
    actor: asker.actor,
    onEvent: asker.onEvent,
    lock: false,
    ...(asker.signal ? { signal: asker.signal } : {}),
  });
  const closures: NamedClosure[] = [];
  const missing: { label: string; reason: string }[] = [];
  let planned: OverlapResult['plan'];
  try {
    if (of !== 'running') {
      for (const t of targets) {
        const built = await buildHost(deps, scope, t);
        closures.push({ label: `${t.name} (new)`, closure: built.closure });
        if (targets.length === 1) {
          const p = await planFromHoldings(deps, scope, t, built);
          planned = { host: t.name, summary: summary(p) };
        }
      }
    }
    if (of !== 'built') {
      await Promise.all(
        targets.map(async (t) => {
          const label = `${t.name} (running)`;
          try {
            const facts = await scope.probe(t);
            if (!facts.currentSystem) {
              missing.push({ label, reason: 'runs no NixOS system yet' });
              return;
            }
            // A closure's JSON grows with its signatures (one per signing): keep all of it, and say so if even
            // that was not enough rather than parse half an answer.
            const out = await scope.exec(t, deps.nix.closureQuery(facts.currentSystem), {
              keepStdoutBytes: CLOSURE_JSON_LIMIT,
            });
            if (out.stdoutTruncated) {
              throw new EngineError(
                `the description of its running closure is over ${CLOSURE_JSON_LIMIT} bytes`,
              );
            }
            closures.push({ label, closure: deps.nix.parsePathInfo(out.stdout) });
          } catch (e) {
            missing.push({ label, reason: messageOf(e) });
          }
        }),
      );
    }
    if (closures.length === 0)
      throw new EngineError('no closure to compare', 'check the hosts with `status`');
    closures.sort((a, b) => a.label.localeCompare(b.label));
    const report = overlap(closures);
    scope.finish('ok');
    return {
      runId: scope.runId,
      of,
      report,
      missing,
      ...(planned ? { plan: planned } : {}),
      ...(revision ? { revision } : {}),
    };
  } catch (e) {
    scope.finish('failed');
    throw e;
  }
}
