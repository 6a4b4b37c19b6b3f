// What the builder's store knows about a closure: narSize, references and signatures of every path, from one
// `nix path-info --json -r` (every version prints signatures in its JSON; `--sigs` only changes the text
// output). Also which Nix this is, for messages and for the few places where versions differ.
import type { PathInfo, StorePath } from '../../core/types.ts';
import { BUILDER_FEATURES, checkStorePaths, HOST_FEATURES } from './inputs.ts';
import { parsePathInfo } from './path-info.ts';
import { invalidInput, runNix } from './run.ts';

export interface NixCallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** builder.nixBinDir: where the builder's Nix is (see run.ts). */
  readonly nixBinDir?: string;
}

/**
 * `nix path-info`'s JSON flags for a Nix version. From Nix 2.33, `--json` alone is deprecated (a warning now,
 * an error later) and `--json-format` chooses the shape; earlier versions and Lix refuse that flag
 * ("unrecognised flag"). Format 1 is the 2.19 keyed shape with full store paths. An unknown version gets the
 * flags every version up to 2.32 accepts.
 */
export function pathInfoJsonFlags(version: NixVersion | null): string[] {
  return version !== null && hasJsonFormat(version) ? ['--json', '--json-format', '1'] : ['--json'];
}

function hasJsonFormat(v: NixVersion): boolean {
  // Lix forked from Nix 2.18 and numbers its releases 2.90 and up: the version says nothing about the flag.
  if (v.implementation.startsWith('Lix')) return false;
  return v.major > 2 || (v.major === 2 && v.minor >= 33);
}

/** The closures of `paths` in the builder's store; every path must be valid there. */
export async function closureOf(
  paths: readonly StorePath[],
  opts: NixCallOptions & { readonly version?: NixVersion | null } = {},
): Promise<PathInfo[]> {
  const { version = null, ...call } = opts;
  const argv = ['nix', ...BUILDER_FEATURES, 'path-info', ...pathInfoJsonFlags(version), '--recursive', '--'];
  const checked = checkStorePaths(paths);
  if (!checked.ok) throw invalidInput(argv, checked.error);
  const out = await runNix([...argv, ...checked.value], call);
  return parsePathInfo(out.stdout);
}

/**
 * What a host runs to describe a closure, with the path as $1: the host's own Nix picks the flags in the same
 * round trip, as pathInfoJsonFlags does on the builder (a fleet upgraded one release at a time runs several
 * versions at once). `nix --version` is `nix (Nix) 2.33.0`, `nix (Lix, like Nix) 2.91.1` or
 * `nix (Determinate Nix 3.6.2) 2.29.0`: the last word is the Nix version, and Lix never has the flag.
 */
export const HOST_CLOSURE_SCRIPT = [
  'v=$(nix --version 2>/dev/null) || v=',
  'f=',
  'case $v in',
  "  'nix (Nix) '*|'nix (Determinate Nix '*)",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansions, not a template
  '    n=${v##* }; major=${n%%.*}; rest=${n#*.}; minor=${rest%%[!0-9]*}',
  '    case $major:$minor in',
  '      :*|*:|*[!0-9:]*) ;;',
  '      *) if [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 33 ]; }; then f=1; fi ;;',
  '    esac ;;',
  'esac',
  `if [ -n "$f" ]; then exec nix ${HOST_FEATURES.join(' ')} path-info --json --json-format 1 --recursive -- "$1"; fi`,
  `exec nix ${HOST_FEATURES.join(' ')} path-info --json --recursive -- "$1"`,
].join('\n');

/** The command a host runs to describe `path`'s closure in its own store (parse with parsePathInfo). */
export function closureQueryArgv(path: StorePath): string[] {
  const checked = checkStorePaths([path]);
  if (!checked.ok) throw new TypeError(checked.error);
  return ['/bin/sh', '-c', HOST_CLOSURE_SCRIPT, 'sh', path];
}

export interface NixVersion {
  /** `Nix`, `Lix, like Nix`, `Determinate Nix 3.6.2`: what the version line names in parentheses. */
  readonly implementation: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As printed, e.g. `2.8.0` or `2.91.1`. */
  readonly version: string;
}

const VERSION_LINE = /^nix \(([^)]+)\) (\d+)\.(\d+)(?:\.(\d+))?\S*$/m;

export function parseNixVersion(text: string): NixVersion | null {
  const m = VERSION_LINE.exec(text.trim());
  if (!m) return null;
  const [, implementation, major, minor, patch] = m;
  return {
    implementation: implementation!,
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch ?? 0),
    version: m[0].slice(m[0].lastIndexOf(' ') + 1),
  };
}

export async function nixVersion(opts: NixCallOptions = {}): Promise<NixVersion> {
  const argv = ['nix', '--version'];
  const out = await runNix(argv, opts);
  const parsed = parseNixVersion(out.stdout);
  if (parsed === null)
    throw invalidInput(argv, `unrecognised version line ${JSON.stringify(out.stdout.trim())}`);
  return parsed;
}
