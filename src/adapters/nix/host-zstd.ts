// The zstd a screen rebuilds delta-coded NARs with: its own nixpkgs' zstd, `nixosConfigurations.<host>.pkgs.zstd`
// of the fleet flake (every NixOS configuration has its package set as `.pkgs`), built on the builder and
// signed like the host's system, so that it crosses the uplink as any other path and nothing is assumed of
// what the screen has installed. Built once per flake revision and host within the bot's life (a locked flake
// URL names one revision; the same nixpkgs gives the same path, and `nix build` of a built path costs an
// evaluation only).
import { z } from 'zod';
import { isStorePath } from '../../core/storepath.ts';
import type { PathInfo, StorePath } from '../../core/types.ts';
import { closureOf, type NixCallOptions, type NixVersion } from './closure.ts';
import { BUILDER_FEATURES, checkAttrName, checkFlakeRef } from './inputs.ts';
import { invalidInput, runNix } from './run.ts';
import { signClosure } from './sign.ts';

export interface HostZstd {
  /** The zstd program: `<store path>/bin/zstd`. */
  readonly program: string;
  readonly path: StorePath;
  /** Its closure as the builder's store describes it (signed with the builder's key). */
  readonly closure: readonly PathInfo[];
}

const buildJson = z
  .array(z.looseObject({ outputs: z.looseObject({ out: z.string().refine(isStorePath) }) }))
  .length(1);

/** `<flake>#nixosConfigurations."<host>".pkgs.zstd`. */
export function zstdInstallable(flakeRef: string, host: string): string {
  return `${flakeRef}#nixosConfigurations."${host}".pkgs.zstd`;
}

/** Builds the host's zstd, signs its closure with `signingKeyFile`, and describes it. */
export async function buildHostZstd(
  flakeRef: string,
  host: string,
  signingKeyFile: string,
  opts: NixCallOptions & { readonly version?: NixVersion | null } = {},
): Promise<HostZstd> {
  const { version = null, ...call } = opts;
  const base = ['nix', ...BUILDER_FEATURES, 'build', '--json', '--no-link'];
  const ref = checkFlakeRef(flakeRef);
  if (!ref.ok) throw invalidInput(base, ref.error);
  const name = checkAttrName(host);
  if (!name.ok) throw invalidInput(base, name.error);
  const argv = [...base, zstdInstallable(ref.value, name.value)];
  const out = await runNix(argv, call);
  let path: StorePath;
  try {
    path = buildJson.parse(JSON.parse(out.stdout))[0]!.outputs.out as StorePath;
  } catch {
    throw invalidInput(argv, `unexpected output of nix build --json: ${out.stdout.slice(0, 200)}`);
  }
  await signClosure(signingKeyFile, [path], call);
  const closure = await closureOf([path], { ...call, version });
  return { program: `${path}/bin/zstd`, path, closure };
}

/** One build per flake and host; a failed build is asked again next time (it may have been fixed since). */
export function hostZstdCache(
  build: (flakeRef: string, host: string) => Promise<HostZstd>,
): (flakeRef: string, host: string) => Promise<HostZstd> {
  const cache = new Map<string, Promise<HostZstd>>();
  return (flakeRef, host) => {
    const key = `${flakeRef}\0${host}`;
    let p = cache.get(key);
    if (!p) {
      p = build(flakeRef, host);
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  };
}
