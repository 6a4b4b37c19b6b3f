// The fleet flake's host names. `nix eval --json <flake>#nixosConfigurations --apply builtins.attrNames`
// forces only the names of the configurations, not any configuration. `nix flake show --json` evaluates every
// output of the flake to describe it (each package's and check's derivation, for each system), so its cost
// grows with everything else the flake holds, and it fails on outputs the builder cannot evaluate. Measured
// with Nix 2.8 on a flake with two hosts plus six derivations whose names cost ~0.3 s to evaluate: 24 ms for
// attrNames, 530 ms for flake show. On the test fleet (hosts only) both take about 20 ms.
import { z } from 'zod';
import type { NixCallOptions } from './closure.ts';
import { BUILDER_FEATURES, checkFlakeRef } from './inputs.ts';
import { invalidInput, NixError, runNix } from './run.ts';

const names = z.array(z.string());

export async function listConfigurations(flakeRef: string, opts: NixCallOptions = {}): Promise<string[]> {
  const base = ['nix', ...BUILDER_FEATURES, 'eval', '--json'];
  const ref = checkFlakeRef(flakeRef);
  if (!ref.ok) throw invalidInput(base, ref.error);
  const argv = [...base, `${ref.value}#nixosConfigurations`, '--apply', 'builtins.attrNames'];
  const out = await runNix(argv, opts);
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.stdout);
  } catch {
    parsed = undefined;
  }
  const checked = names.safeParse(parsed);
  if (!checked.success) {
    throw new NixError({
      argv,
      exitCode: 0,
      shortMessage: `expected a JSON list of names, got ${out.stdout.slice(0, 200)}`,
      stderrTail: out.stderrTail,
      timedOut: false,
      aborted: false,
    });
  }
  return checked.data;
}
