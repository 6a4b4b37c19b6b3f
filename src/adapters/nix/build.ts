// Builds a host's NixOS system on the builder with `nix build --json` (Nix 2.8 has no --print-out-paths).
// The log comes in Nix's internal-json format and is turned into readable lines for `onLog`: what is being
// built or fetched, each builder's output prefixed with its derivation's name (as Nix's own `-L` does), and
// warnings. With `outLink` the result is also a GC root on the builder, so it is not collected before use.
// A rollout builds all its targets at once (buildToplevels): one evaluation, one build, no per-host calls.
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import pLimit from 'p-limit';
import { z } from 'zod';
import { isStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
import { addGcRoot, readGcRoot } from './gcroot.ts';
import {
  BUILDER_FEATURES,
  checkAttrName,
  checkFilePath,
  checkFlakeRef,
  toplevelInstallable,
} from './inputs.ts';
import { ACTIVITY, decodeLogLine, LEVEL, RESULT } from './progress.ts';
import { invalidInput, NixError, runNix } from './run.ts';

export interface BuildOptions {
  /** A symlink to the result, registered as a GC root; without it the build leaves no link (`--no-link`). */
  readonly outLink?: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly onLog?: (line: string) => void;
  readonly nixBinDir?: string;
}

export interface BuiltToplevel {
  readonly toplevel: StorePath;
  readonly drvPath: StorePath;
}

const storePath = z.string().refine(isStorePath, { error: 'expected a store path' });
const buildJson = z
  .array(z.looseObject({ drvPath: storePath, outputs: z.looseObject({ out: storePath }) }))
  .length(1, { error: 'expected exactly one build result' });

export async function buildToplevel(
  flakeRef: string,
  host: string,
  opts: BuildOptions = {},
): Promise<BuiltToplevel> {
  const base = ['nix', ...BUILDER_FEATURES, 'build', '--json', '--log-format', 'internal-json'];
  const ref = checkFlakeRef(flakeRef);
  if (!ref.ok) throw invalidInput(base, ref.error);
  const name = checkAttrName(host);
  if (!name.ok) throw invalidInput(base, name.error);
  let link: string[] = ['--no-link'];
  if (opts.outLink !== undefined) {
    const out = checkFilePath(opts.outLink, 'the out link');
    if (!out.ok) throw invalidInput(base, out.error);
    await mkdir(dirname(out.value), { recursive: true });
    link = ['--out-link', out.value];
  }
  const argv = [...base, ...link, toplevelInstallable(ref.value, name.value)];
  const render = buildLogRenderer();
  const onLog = opts.onLog;
  const tails = buildLogTails();
  let result: Awaited<ReturnType<typeof runNix>>;
  try {
    result = await runNix(argv, {
      ...(opts.nixBinDir ? { nixBinDir: opts.nixBinDir } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onStderrLine: (line: string) => {
        tails.read(line);
        if (onLog) render(line, onLog);
      },
    });
  } catch (e) {
    throw e instanceof NixError ? withBuildLog(e, tails.of) : e;
  }
  let parsed: z.infer<typeof buildJson>;
  try {
    parsed = buildJson.parse(JSON.parse(result.stdout));
  } catch (e) {
    throw new NixError({
      argv,
      exitCode: 0,
      shortMessage: `unexpected output of nix build --json (${(e as Error).message.split('\n')[0]}): ${result.stdout.slice(0, 200)}`,
      stderrTail: result.stderrTail,
      timedOut: false,
      aborted: false,
    });
  }
  const [only] = parsed;
  return { toplevel: only!.outputs.out, drvPath: only!.drvPath };
}

const TAIL_LINES = 10;
const TAIL_LINE_CHARS = 300;

/** The last lines each derivation's builder printed, so a failed build can say why without its whole log. */
export function buildLogTails(): {
  read: (line: string) => void;
  of: (drv: string) => readonly string[];
} {
  const drvOf = new Map<number, string>();
  const tails = new Map<string, string[]>();
  return {
    read(line) {
      const d = decodeLogLine(line);
      if (d?.kind === 'start' && d.type === ACTIVITY.build && typeof d.fields[0] === 'string') {
        drvOf.set(d.id, d.fields[0]);
      } else if (
        d?.kind === 'result' &&
        (d.type === RESULT.buildLogLine || d.type === RESULT.postBuildLogLine) &&
        typeof d.fields[0] === 'string'
      ) {
        const drv = drvOf.get(d.id);
        if (drv === undefined) return;
        const tail = tails.get(drv) ?? [];
        tail.push(d.fields[0].slice(0, TAIL_LINE_CHARS));
        if (tail.length > TAIL_LINES) tail.shift();
        tails.set(drv, tail);
      }
    },
    of: (drv) => tails.get(drv) ?? [],
  };
}

/** "builder for '…drv' failed": the builder's last lines, and where the whole log is. */
export function withBuildLog(e: NixError, tailOf: (drv: string) => readonly string[]): NixError {
  const drv = /builder for '([^']+\.drv)' failed/.exec(e.shortMessage)?.[1];
  if (drv === undefined) return e;
  const tail = tailOf(drv);
  const shown =
    tail.length > 0
      ? `\n  its last ${tail.length === 1 ? 'line' : `${tail.length} lines`}:\n${tail.map((l) => `    ${l}`).join('\n')}`
      : '';
  return new NixError({
    argv: e.argv,
    exitCode: e.exitCode,
    shortMessage: `${e.shortMessage}${shown}\n  the whole log: nix log ${drv}`,
    stderrTail: e.stderrTail,
    timedOut: e.timedOut,
    aborted: e.aborted,
  });
}

/** Turns internal-json lines into the lines a person reads; one renderer per build (it tracks activities). */
export function buildLogRenderer(): (line: string, emit: (text: string) => void) => void {
  const names = new Map<number, string>();
  return (line, emit) => {
    const d = decodeLogLine(line);
    if (d === null) return;
    switch (d.kind) {
      case 'start':
        if (d.type === ACTIVITY.build) {
          const drv = typeof d.fields[0] === 'string' ? d.fields[0] : '';
          names.set(d.id, drvName(drv));
        }
        if (
          (d.type === ACTIVITY.build || d.type === ACTIVITY.substitute || d.type === ACTIVITY.copyPath) &&
          d.text
        ) {
          emit(d.text);
        }
        return;
      case 'stop':
        names.delete(d.id);
        return;
      case 'result': {
        if (d.type !== RESULT.buildLogLine && d.type !== RESULT.postBuildLogLine) return;
        const text = d.fields[0];
        if (typeof text === 'string') emit(`${names.get(d.id) ?? 'build'}> ${text}`);
        return;
      }
      case 'msg':
        if (d.level <= LEVEL.info && d.text.trim() !== '') for (const l of d.text.split('\n')) emit(l);
        return;
      case 'text':
        emit(d.text);
    }
  };
}

/** `/nix/store/<hash>-etc.drv` -> `etc`. */
function drvName(drv: string): string {
  const base = drv.slice(drv.lastIndexOf('/') + 1).replace(/\.drv$/, '');
  return base.length > 33 && base[32] === '-' ? base.slice(33) : base || 'build';
}

// ---- many hosts in one evaluation and one build ----------------------------------------------------------

export interface BuildManyOptions {
  /** Where the batch keeps its GC roots while it builds (a fresh folder, removed afterwards). */
  readonly batchRootsDir: string;
  /** Each built host's own root: `<hostRootsDir>/<host>`, as a single build leaves it. */
  readonly hostRootsDir: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly nixBinDir?: string;
}

const evaluated = z.record(
  z.string(),
  z.union([z.null(), z.looseObject({ drv: storePath, out: storePath })]),
);

/**
 * The fixed function `nix eval --apply` runs on the flake's `nixosConfigurations`: for each host named, its
 * toplevel's derivation and output, or null where its evaluation throws (a NixOS assertion, a `throw`), so
 * that one broken host does not hide the others. The names are checked attribute names, written as a JSON
 * list (which Nix reads as a list of strings: the names hold no `"`, `\` or `$`).
 */
export function toplevelsExpression(hosts: readonly string[]): string {
  return (
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Nix attribute selection, not a template
    'cs: builtins.listToAttrs (map (n: { name = n; value = let t = cs.${n}.config.system.build.toplevel; ' +
    'r = builtins.tryEval (builtins.seq t.drvPath { drv = t.drvPath; out = t.outPath; }); ' +
    `in if r.success then r.value else null; }) ${JSON.stringify(hosts).replaceAll(',', ' ')})`
  );
}

/**
 * Builds the toplevels of `hosts` with one evaluation (`nix eval --apply`, which evaluates what the hosts
 * share once) and one build (`nix-store --realise --keep-going` of their derivations), each host mapped to its
 * output by name (the output of a multi-installable `nix build --json` is in no dependable order: Nix 2.8
 * sorts it, 2.24 repeats entries). Returns the hosts that built, each with a GC root of its own; a host that
 * did not evaluate or build is left out, for the caller to build alone (which says why in full). Throws when
 * the evaluation as a whole fails.
 */
export async function buildToplevels(
  flakeRef: string,
  hosts: readonly string[],
  opts: BuildManyOptions,
): Promise<Map<string, StorePath>> {
  const base = ['nix', ...BUILDER_FEATURES, 'eval', '--json'];
  const ref = checkFlakeRef(flakeRef);
  if (!ref.ok) throw invalidInput(base, ref.error);
  for (const h of hosts) {
    const name = checkAttrName(h);
    if (!name.ok) throw invalidInput(base, name.error);
  }
  const batchDir = checkFilePath(opts.batchRootsDir, 'the batch GC roots directory');
  if (!batchDir.ok) throw invalidInput(base, batchDir.error);
  const call = {
    ...(opts.nixBinDir ? { nixBinDir: opts.nixBinDir } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  };
  const evalArgv = [...base, `${ref.value}#nixosConfigurations`, '--apply', toplevelsExpression(hosts)];
  const out = await runNix(evalArgv, call);
  let toplevels: z.infer<typeof evaluated>;
  try {
    toplevels = evaluated.parse(JSON.parse(out.stdout));
  } catch (e) {
    throw new NixError({
      argv: evalArgv,
      exitCode: 0,
      shortMessage: `unexpected output of nix eval (${(e as Error).message.split('\n')[0]}): ${out.stdout.slice(0, 200)}`,
      stderrTail: out.stderrTail,
      timedOut: false,
      aborted: false,
    });
  }
  const wanted = new Map<string, { drv: StorePath; out: StorePath }>();
  for (const h of hosts) {
    const t = toplevels[h];
    if (t) wanted.set(h, { drv: t.drv as StorePath, out: t.out as StorePath });
  }
  if (wanted.size === 0) return new Map();
  await mkdir(batchDir.value, { recursive: true });
  try {
    const drvs = [...new Set([...wanted.values()].map((t) => t.drv))];
    // --keep-going: one host's failed build leaves the others built; the roots hold them until each host has
    // its own.
    const realise = ['nix-store', '--realise', '--keep-going', '--add-root', `${batchDir.value}/r`, '--'];
    let failed = false;
    await runNix([...realise, ...drvs], call).catch((e: unknown) => {
      if (opts.signal?.aborted) throw e;
      failed = true;
    });
    let valid = new Set([...wanted.values()].map((t) => t.out));
    if (failed) valid = await validOf([...valid], call);
    const built = new Map<string, StorePath>();
    for (const [h, t] of wanted) if (valid.has(t.out)) built.set(h, t.out);
    await keepHostRoots(opts.hostRootsDir, built, call);
    return built;
  } finally {
    await rm(batchDir.value, { recursive: true, force: true });
  }
}

/** The paths of `paths` valid in the builder's store. */
async function validOf(
  paths: readonly StorePath[],
  call: { nixBinDir?: string; signal?: AbortSignal },
): Promise<Set<StorePath>> {
  const out = await runNix(['nix-store', '--check-validity', '--print-invalid', '--', ...paths], call);
  const invalid = new Set(out.stdout.split('\n').filter((l) => l !== ''));
  return new Set(paths.filter((p) => !invalid.has(p)));
}

/**
 * Points each host's root at what it built, as a single build's out link does; a root that points there
 * already (a rebuild with nothing new) is left as it is, with no Nix call.
 */
async function keepHostRoots(
  dir: string,
  built: ReadonlyMap<string, StorePath>,
  call: { nixBinDir?: string; signal?: AbortSignal },
): Promise<void> {
  const stale: [string, StorePath][] = [];
  for (const [h, p] of built) if ((await readGcRoot(dir, h)) !== p) stale.push([h, p]);
  const limit = pLimit(4);
  await Promise.all(stale.map(([h, p]) => limit(() => addGcRoot(dir, h, p, call))));
}
