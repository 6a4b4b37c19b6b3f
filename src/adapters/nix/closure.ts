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
}

/** The closures of `paths` in the builder's store; every path must be valid there. */
export async function closureOf(paths: readonly StorePath[], opts: NixCallOptions = {}): Promise<PathInfo[]> {
  const argv = ['nix', ...BUILDER_FEATURES, 'path-info', '--json', '--recursive', '--'];
  const checked = checkStorePaths(paths);
  if (!checked.ok) throw invalidInput(argv, checked.error);
  const out = await runNix([...argv, ...checked.value], opts);
  return parsePathInfo(out.stdout);
}

/** The command a host runs to describe `path`'s closure in its own store (parse with parsePathInfo). */
export function closureQueryArgv(path: StorePath): string[] {
  const checked = checkStorePaths([path]);
  if (!checked.ok) throw new TypeError(checked.error);
  return ['nix', ...HOST_FEATURES, 'path-info', '--json', '--recursive', '--', path];
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
