// Builds a host's NixOS system on the builder with `nix build --json` (Nix 2.8 has no --print-out-paths).
// The log comes in Nix's internal-json format and is turned into readable lines for `onLog`: what is being
// built or fetched, each builder's output prefixed with its derivation's name (as Nix's own `-L` does), and
// warnings. With `outLink` the result is also a GC root on the builder, so it is not collected before use.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { isStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
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
